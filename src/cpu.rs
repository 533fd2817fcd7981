//! CPU-bound work (HTML parsing, chunking) off the async runtime, at most one task per core at a
//! time: a crawl with 16 fetches in flight then holds a couple of parsed pages in memory, not 16,
//! and the blocking pool does not grow a thread per fetch.

use std::sync::OnceLock;

use tokio::sync::Semaphore;

use crate::error::{Error, Result};

fn slots() -> &'static Semaphore {
    static SLOTS: OnceLock<Semaphore> = OnceLock::new();
    SLOTS.get_or_init(|| Semaphore::new(std::thread::available_parallelism().map_or(2, std::num::NonZero::get)))
}

/// Run `work` on the blocking pool once a core is free.
///
/// Only for the fetch side of a crawl (extraction, dry-run chunking): a future parked in the
/// crawl's in-flight set can hold a slot while the fetch loop waits on the ingest loop, so the
/// ingest side must never wait for a slot.
///
/// # Errors
/// `Internal` when the task panicked.
pub async fn run<T: Send + 'static>(what: &'static str, work: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    let _slot = slots().acquire().await.map_err(|e| Error::Internal(format!("{what}: {e}")))?;
    tokio::task::spawn_blocking(work).await.map_err(|e| Error::Internal(format!("{what} task failed: {e}")))
}

/// How many CPU tasks run at once (the machine's cores).
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(2, std::num::NonZero::get)
}
