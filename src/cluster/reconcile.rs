//! The reconciler, run by every worker: it heartbeats every open crawl (so a crawl waiting on a
//! slow host keeps its job alive and still sees a cancel), completes a crawl whose last page was
//! settled by a process that died (or failed) before completing it, republishes ledger work the
//! broker lost, forgets crawls closed longer ago than the ledger keeps them, and exports the
//! lanes' backlog as metrics. Several reconcilers at once are harmless: the ledger hands each
//! stale URL and each expired crawl to one of them, and a crawl's job ends once.

use std::sync::{Arc, PoisonError};
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::Cluster;
use crate::error::Result;
use crate::ports::{Lane, LaneStats, QueuedUrl};

/// Most stale URLs republished per round.
const REPUBLISH_BATCH: usize = 1_000;
/// Least time between two ledger prunes by one process.
const PRUNE_EVERY: Duration = Duration::from_secs(600);
/// Most closed crawls forgotten per prune (each takes its URL rows with it).
const PRUNE_BATCH: usize = 20;
/// A consumer that holds nothing and was handed nothing this long is gone or idle: dropped (an
/// idle worker's is re-created with its next unit).
const CONSUMER_GONE_AFTER: Duration = Duration::from_secs(3600);

impl Cluster {
    /// Reconcile every `reconcile_every` until `stop` fires.
    pub async fn reconcile_loop(self: &Arc<Self>, stop: CancellationToken) {
        loop {
            tokio::select! {
                () = tokio::time::sleep(self.config.reconcile_every) => {}
                () = stop.cancelled() => return,
            }
            if let Err(e) = self.reconcile().await {
                warn!(error = %e, "reconcile round failed; trying again next round");
            }
        }
    }

    /// One round; see the module documentation.
    ///
    /// # Errors
    /// `Unavailable` when the database fails (broker failures are logged: the database is the
    /// truth, and the next round tries again).
    pub async fn reconcile(&self) -> Result<()> {
        let pages = self.export_stats().await;
        for job_id in self.ledger.open_runs().await? {
            // One crawl's failure (a timed-out query) must not starve the others' heartbeats.
            if let Err(e) = self.reconcile_run(&job_id).await {
                warn!(%job_id, error = %e, "could not reconcile a crawl; trying again next round");
            }
        }
        // A lane with nothing waiting or in flight holds none of the ledger's queued URLs: those
        // were lost (Redis restarted without its data). Otherwise only very old ones are resent.
        let idle = pages.is_some_and(|s| s.lag == 0 && s.pending == 0);
        let older_than = if idle { self.config.lost_after } else { self.config.republish_after };
        let stale = self.ledger.stale_urls(older_than, REPUBLISH_BATCH).await?;
        if !stale.is_empty() {
            info!(count = stale.len(), idle, "republishing ledger pages the queue engine does not hold");
            metrics::counter!("crawlrag_queue_republished_total").increment(stale.len() as u64);
            let mut by_job: std::collections::BTreeMap<String, Vec<QueuedUrl>> = std::collections::BTreeMap::new();
            for (job_id, url) in stale {
                by_job.entry(job_id).or_default().push(url);
            }
            for (job_id, urls) in by_job {
                self.publish(&job_id, &urls).await;
            }
        }
        self.prune().await?;
        Ok(())
    }

    /// At most every [`PRUNE_EVERY`] per process: forget the consumers of workers that are gone
    /// (scaled away: the group would list every worker that ever ran), and crawls closed longer
    /// ago than the ledger keeps them (so it does not grow with every crawl ever run).
    async fn prune(&self) -> Result<()> {
        {
            let mut at = self.pruned_at.lock().unwrap_or_else(PoisonError::into_inner);
            if at.is_some_and(|at| at.elapsed() < PRUNE_EVERY) {
                return Ok(());
            }
            *at = Some(Instant::now());
        }
        for lane in Lane::ALL {
            match self.broker.forget_idle_consumers(lane, CONSUMER_GONE_AFTER).await {
                Ok(0) => {}
                Ok(forgotten) => {
                    info!(lane = lane.as_str(), forgotten, "forgot the consumers of workers that are gone")
                }
                Err(e) => warn!(lane = lane.as_str(), error = %e, "could not list the queue's consumers"),
            }
        }
        let Some(keep) = self.config.keep_closed else { return Ok(()) };
        let pruned = self.ledger.prune_closed(keep, PRUNE_BATCH).await?;
        if pruned > 0 {
            info!(pruned, "forgot finished crawls past the ledger's retention");
            metrics::counter!("crawlrag_ledger_pruned_total").increment(pruned);
        }
        Ok(())
    }

    /// Complete a crawl with nothing open left, or heartbeat it.
    async fn reconcile_run(&self, job_id: &str) -> Result<()> {
        let Some(context) = self.context(job_id).await? else { return Ok(()) };
        let tally = self.ledger.tally(job_id, 0).await?;
        if tally.queued + tally.claimed == 0 { self.complete(&context).await } else { self.beat(&context, true).await }
    }

    /// Export each lane's backlog as gauges; answers the pages lane's (None if unreadable).
    async fn export_stats(&self) -> Option<LaneStats> {
        let mut pages = None;
        for lane in Lane::ALL {
            match self.broker.stats(lane).await {
                Ok(stats) => {
                    let name = lane.as_str();
                    metrics::gauge!("crawlrag_queue_length", "lane" => name).set(stats.length as f64);
                    metrics::gauge!("crawlrag_queue_pending", "lane" => name).set(stats.pending as f64);
                    metrics::gauge!("crawlrag_queue_lag", "lane" => name).set(stats.lag as f64);
                    metrics::gauge!("crawlrag_queue_dead_letters", "lane" => name).set(stats.dead as f64);
                    metrics::gauge!("crawlrag_queue_consumers", "lane" => name).set(stats.consumers as f64);
                    if lane == Lane::Pages {
                        pages = Some(stats);
                    }
                }
                Err(e) => warn!(lane = lane.as_str(), error = %e, "could not read the queue's backlog"),
            }
        }
        pages
    }
}
