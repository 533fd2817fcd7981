//! Progress reporting from long operations to whoever started them: MCP progress notifications
//! (`mcp/`), a progress bar (CLI), or nothing. Services take `&dyn ProgressSink`.

use async_trait::async_trait;

use crate::domain::JobProgress;

/// Receives `done` out of `total` steps with a short message.
#[async_trait]
pub trait ProgressSink: Send + Sync {
    async fn report(&self, done: u64, total: Option<u64>, message: &str);

    /// A crawl's running totals (pages done, queued, failed; chunks stored). Default: ignored.
    async fn tally(&self, _progress: &JobProgress) {}
}

/// Discards progress.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

#[async_trait]
impl ProgressSink for NoProgress {
    async fn report(&self, _done: u64, _total: Option<u64>, _message: &str) {}
}
