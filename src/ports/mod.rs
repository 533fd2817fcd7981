//! The traits at the boundary (ports) and the errors they speak, one file per kind of external
//! system. Services hold `Arc<dyn Port>` of the narrow traits they call; only `adapters/`
//! implement them with driver crates.

mod api_keys;
mod code;
mod fetch;
mod graph;
mod jobs;
mod model;
mod repo;
mod store;
mod webhooks;

pub use api_keys::{ApiKeyRecord, ApiKeys};
pub use code::{CodeGraphStore, CodeParser, ParseError, RepositorySummary};
pub use fetch::{Accept, FetchError, Fetched, FetchedBody, Fetcher, RenderOptions, Renderer};
pub use graph::{
    ChunkMentions, DocumentRef, EntityFacts, EntityRecord, GraphDeleted, GraphError, GraphRow, GraphStore, PageGraph,
    RelationRecord, SourceGraphCounts,
};
pub use jobs::{Beat, CancelRequest, ClaimedJob, EndedJob, JobEnd, JobQueue, Lease, NewJob};
pub use model::{ChatModel, EmbedError, Embedder, ModelError, Reranker};
pub use repo::{Checkout, RepoError, RepoSource};
pub use store::{
    DeletedCounts, EmbeddingCache, KeywordQuery, PageStore, PageWrite, SearchIndex, SourceCatalog, Store, StoreAdmin,
    StoreError, TextCache, VectorQuery,
};
pub use webhooks::{WebhookAttempt, WebhookError, WebhookLog, WebhookReply, WebhookRequest, WebhookSender};
