//! The traits at the boundary (ports) and the errors they speak, one file per kind of external
//! system. Services hold `Arc<dyn Port>` of the narrow traits they call; only `adapters/`
//! implement them with driver crates.

mod api_keys;
mod broker;
mod code;
mod fetch;
mod graph;
mod host_gate;
mod jobs;
mod ledger;
mod model;
mod rate_limit;
mod repo;
mod store;
mod token_keys;
mod webhooks;

pub use api_keys::{ApiKeyRecord, ApiKeys};
pub use broker::{BrokerError, Delivery, Lane, LaneStats, WorkBroker};
pub use code::{CodeGraphStore, CodeParser, ParseError, RepositorySummary};
pub use fetch::{Accept, FetchError, Fetched, FetchedBody, Fetcher, RenderOptions, Renderer};
pub use graph::{
    ChunkMentions, DocumentRef, EntityFacts, EntityRecord, GraphDeleted, GraphError, GraphRow, GraphStore, PageGraph,
    RelationRecord, SourceGraphCounts,
};
pub use host_gate::{Admission, HostGate, HostPolicy, HostSlot};
pub use jobs::{Beat, CancelRequest, ClaimedJob, EndedJob, JobEnd, JobQueue, Lease, NewJob};
pub use ledger::{
    Admitted, CrawlLedger, LedgerTally, NewRun, OfferedUrl, PageCounts, QueuedUrl, RunEnd, Settled, UrlClaim,
    UrlOutcome,
};
pub use model::{ChatModel, EmbedError, Embedder, ModelError, Reranker};
pub use rate_limit::{RateLimitError, RateLimiter};
pub use repo::{Checkout, RepoError, RepoSource};
pub use store::{
    DeletedCounts, EmbeddingCache, KeywordQuery, PageStore, PageWrite, SearchIndex, SourceCatalog, Store, StoreAdmin,
    StoreError, TextCache, VectorQuery,
};
pub use token_keys::{TokenKeys, TokenKeysError};
pub use webhooks::{WebhookAttempt, WebhookError, WebhookLog, WebhookReply, WebhookRequest, WebhookSender};
