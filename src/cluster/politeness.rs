//! Host turns shared by every worker: a request waits for a slot from the `HostGate` (in-flight
//! cap and gap between starts, over all processes), sleeping exactly as long as the gate says,
//! and gives the slot back when the request ends.

use std::sync::Arc;
use std::time::Duration;

use tracing::warn;

use crate::crawl::hosts::HostTurns;
use crate::ports::{Admission, HostGate, HostPolicy, HostSlot};

/// How long to wait before asking a failing gate again.
const GATE_DOWN_WAIT: Duration = Duration::from_secs(1);

#[derive(Debug)]
pub(super) struct GateTurns {
    pub(super) gate: Arc<dyn HostGate>,
    pub(super) max_in_flight: usize,
    /// A slot's life if its holder dies mid-request.
    pub(super) hold: Duration,
}

/// A granted slot; dropping it gives it back (in the background: drop cannot wait).
struct Held {
    gate: Arc<dyn HostGate>,
    slot: Option<HostSlot>,
}

impl Drop for Held {
    fn drop(&mut self) {
        let (Some(slot), Ok(runtime)) = (self.slot.take(), tokio::runtime::Handle::try_current()) else { return };
        let gate = Arc::clone(&self.gate);
        runtime.spawn(async move {
            if let Err(e) = gate.release(&slot).await {
                warn!(host = %slot.host, error = %e, "could not release a host slot; it expires by itself");
            }
        });
    }
}

#[async_trait::async_trait]
impl HostTurns for GateTurns {
    async fn turn(&self, host: &str, delay: Duration) -> Box<dyn Send + Sync> {
        let policy = HostPolicy { max_in_flight: self.max_in_flight.max(1), gap: delay, hold: self.hold };
        let asked = std::time::Instant::now();
        loop {
            match self.gate.try_acquire(host, policy).await {
                Ok(Admission::Granted(slot)) => {
                    let waited = asked.elapsed();
                    if !waited.is_zero() {
                        metrics::histogram!("crawlrag_host_wait_seconds").record(waited.as_secs_f64());
                    }
                    return Box::new(Held { gate: Arc::clone(&self.gate), slot: Some(slot) });
                }
                Ok(Admission::Wait(wait)) => {
                    metrics::counter!("crawlrag_host_waits_total").increment(1);
                    tokio::time::sleep(wait).await;
                }
                Err(e) => {
                    warn!(host, error = %e, "host gate unavailable; waiting");
                    tokio::time::sleep(GATE_DOWN_WAIT).await;
                }
            }
        }
    }
}
