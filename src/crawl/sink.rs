//! Where the crawler hands each page: the ingest pipeline implements [`PageSink`], so the crawler
//! never knows how pages are chunked, embedded or stored or graphed.

use async_trait::async_trait;

use crate::domain::{IngestOptions, IngestReport, Page};
use crate::error::Result;
use crate::progress::ProgressSink;

#[async_trait]
pub trait PageSink: Send + Sync + std::fmt::Debug {
    /// Chunk, embed and store `page` (and its graph, as `options` or the configuration say),
    /// replacing what was stored for its URL.
    ///
    /// # Errors
    /// `BadInput` for an empty page or a bad chunk size; `Unavailable` when a dependency fails.
    async fn store_page(
        &self,
        page: &Page,
        options: &IngestOptions,
        progress: &dyn ProgressSink,
    ) -> Result<IngestReport>;

    /// Count what storing `page` would store, storing nothing (dry runs).
    ///
    /// # Errors
    /// `BadInput` for a bad chunk size.
    async fn chunk_page(&self, page: &Page, chunk_size: Option<usize>) -> Result<IngestReport>;

    /// The site no longer has `url` (404/410): forget what was stored for it. Answers how many
    /// pages were removed.
    ///
    /// # Errors
    /// `Unavailable` when the database fails.
    async fn page_gone(&self, url: &str) -> Result<u64>;
}
