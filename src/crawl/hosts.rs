//! Per-host politeness: at most `per_host` requests in flight to one host, and request starts
//! spaced by the larger of the configured minimum delay and the host's robots.txt Crawl-delay.
//! One `HostPool` belongs to one crawl and is dropped with it (no process-wide state: crawls do
//! not share slots, and nothing outlives the crawl).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

#[derive(Debug)]
struct Host {
    permits: Arc<Semaphore>,
    /// When the next request to this host may start. A std Mutex: never held across an await.
    next_start: Mutex<Instant>,
}

/// Waits for a host's turn (a request slot, spaced by the delay) and holds it for one request:
/// the turn ends when the returned value is dropped. [`HostPool`] keeps turns in this process; a
/// distributed crawl keeps them where every worker sees them.
#[async_trait::async_trait]
pub trait HostTurns: Send + Sync {
    async fn turn(&self, host: &str, delay: Duration) -> Box<dyn Send + Sync>;
}

#[async_trait::async_trait]
impl HostTurns for HostPool {
    async fn turn(&self, host: &str, delay: Duration) -> Box<dyn Send + Sync> {
        Box::new(self.acquire(host, delay).await)
    }
}

#[derive(Debug)]
pub struct HostPool {
    per_host: usize,
    hosts: Mutex<HashMap<String, Arc<Host>>>,
}

impl HostPool {
    pub fn new(per_host: usize) -> Self {
        Self { per_host: per_host.max(1), hosts: Mutex::new(HashMap::new()) }
    }

    /// Wait for a slot on `host`, spaced `delay` after the previous start; hold the permit for
    /// the duration of the request.
    pub async fn acquire(&self, host: &str, delay: Duration) -> Option<OwnedSemaphorePermit> {
        let entry = {
            let mut hosts = self.hosts.lock().unwrap_or_else(PoisonError::into_inner);
            Arc::clone(hosts.entry(host.to_owned()).or_insert_with(|| {
                Arc::new(Host {
                    permits: Arc::new(Semaphore::new(self.per_host)),
                    next_start: Mutex::new(Instant::now()),
                })
            }))
        };
        let permit = Arc::clone(&entry.permits).acquire_owned().await.ok()?;
        let start = {
            let mut next = entry.next_start.lock().unwrap_or_else(PoisonError::into_inner);
            let start = (*next).max(Instant::now());
            *next = start + delay;
            start
        };
        tokio::time::sleep_until(start).await;
        Some(permit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn requests_to_one_host_are_spaced_by_the_delay() {
        let pool = HostPool::new(4);
        let begin = Instant::now();
        for _ in 0..3 {
            let _permit = pool.acquire("a.example", Duration::from_secs(2)).await;
        }
        assert_eq!(begin.elapsed(), Duration::from_secs(4), "starts at 0, 2 and 4 s");
        let other = Instant::now();
        let _permit = pool.acquire("b.example", Duration::from_secs(2)).await;
        assert_eq!(other.elapsed(), Duration::ZERO, "other hosts are not delayed");
    }
}
