//! A running job's progress: the counters its heartbeat writes, optionally forwarded to the
//! client still waiting in the foreground (MCP progress notifications, a CLI progress bar).

use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;

use crate::domain::JobProgress;
use crate::progress::ProgressSink;

#[derive(Default)]
pub struct JobSink {
    progress: Mutex<JobProgress>,
    forward: Mutex<Option<Arc<dyn ProgressSink>>>,
}

impl std::fmt::Debug for JobSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobSink").field("progress", &self.snapshot()).finish_non_exhaustive()
    }
}

impl JobSink {
    pub fn snapshot(&self) -> JobProgress {
        *self.progress.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Send progress to `sink` too (the foreground request), or stop doing so (`None`).
    pub fn forward_to(&self, sink: Option<Arc<dyn ProgressSink>>) {
        *self.forward.lock().unwrap_or_else(PoisonError::into_inner) = sink;
    }

    fn forwarded(&self) -> Option<Arc<dyn ProgressSink>> {
        self.forward.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

#[async_trait]
impl ProgressSink for JobSink {
    async fn report(&self, done: u64, total: Option<u64>, message: &str) {
        if let Some(sink) = self.forwarded() {
            sink.report(done, total, message).await;
        }
    }

    async fn tally(&self, progress: &JobProgress) {
        *self.progress.lock().unwrap_or_else(PoisonError::into_inner) = *progress;
        if let Some(sink) = self.forwarded() {
            sink.tally(progress).await;
        }
    }
}
