//! Pure domain types and algorithms: pages, chunks, sources, search hits, chunking, GraphRAG
//! entities and their extraction from Markdown.
//! No I/O and no driver crates here; everything in this module is unit-testable as is.

pub mod api_key;
pub mod backoff;
pub mod chunk;
pub mod code;
pub mod code_check;
pub mod code_example;
pub mod code_graph;
pub mod code_index;
pub mod cypher_guard;
pub mod defaults;
pub mod entity;
pub mod entity_extract;
pub mod entity_llm;
pub mod fusion;
pub mod gcra;
pub mod hit;
pub mod job;
pub mod oauth;
pub mod page;
pub mod script;
pub mod secret;
pub mod source;
pub mod summary;
pub mod target;
pub mod vector;
pub mod webhook;

pub use chunk::{Chunk, split_markdown};
pub use code_example::CodeExample;
pub use hit::{CodeHit, Hit, SourceInfo};
pub use job::{JobProgress, JobRecord, JobState};
pub use page::{GraphExtraction, IngestOptions, IngestReport, Links, Page, Validators};
pub use secret::Secret;
pub use source::SourceId;
