//! Pure domain types and algorithms: pages, chunks, sources, search hits, chunking.
//! No I/O and no driver crates here; everything in this module is unit-testable as is.

pub mod chunk;
pub mod code;
pub mod fusion;
pub mod hit;
pub mod job;
pub mod page;
pub mod source;
pub mod summary;
pub mod target;
pub mod vector;

pub use chunk::{Chunk, split_markdown};
pub use code::CodeExample;
pub use hit::{CodeHit, Hit, SourceInfo};
pub use job::{JobProgress, JobRecord, JobState};
pub use page::{Links, Page, Validators};
pub use source::SourceId;
