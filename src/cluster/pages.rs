//! A worker's page loop: take page units from the broker (never more than there are free
//! slots), and for each one claim its URL in the ledger, fetch, store, settle, publish the new
//! links, and only then acknowledge. See the module documentation of `cluster` for why each step
//! is where it is.

use std::sync::{Arc, PoisonError};
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{Instrument, debug, info, info_span, warn};
use url::Url;

use super::politeness::GateTurns;
use super::{Cluster, CrawlContext, PageUnit};
use crate::crawl::site::{PageError, PageFetch, Screened};
use crate::crawl::url::Scope;
use crate::domain::{IngestOptions, Validators};
use crate::error::{Error, Result};
use crate::ports::{Delivery, Lane, OfferedUrl, PageCounts, UrlClaim, UrlOutcome};
use crate::progress::NoProgress;

/// How long one receive waits for units before looking at the stop signal again.
const RECEIVE_WAIT: Duration = Duration::from_secs(1);
/// How long to wait after the broker failed before asking again.
const BROKER_DOWN_WAIT: Duration = Duration::from_secs(1);
/// How often a page being worked on renews its claim (and learns that its crawl was cancelled).
const CLAIM_CHECK: Duration = Duration::from_secs(2);
/// How long a host slot lives if its worker dies mid-request.
const SLOT_HOLD: Duration = Duration::from_secs(120);

/// Why a unit is left unacknowledged (delivered again later).
#[derive(Debug)]
enum Unfinished {
    /// A dependency failed (database, embedder): the page is retried by whoever gets it next.
    Dependency(Error),
}

impl Cluster {
    /// Work on page units until `stop` fires, then let the pages in flight finish (up to the
    /// drain limit); units not finished by then are delivered again to another worker.
    pub async fn work_pages(self: &Arc<Self>, stop: CancellationToken) {
        let slots = Arc::new(Semaphore::new(self.config.page_slots.max(1)));
        let in_flight = TaskTracker::new();
        info!(worker = %self.worker_id, slots = self.config.page_slots, "page loop started");
        while !stop.is_cancelled() {
            let first = tokio::select! {
                permit = Arc::clone(&slots).acquire_owned() => match permit { Ok(p) => p, Err(_) => break },
                () = stop.cancelled() => break,
            };
            let free = slots.available_permits() + 1;
            let received = tokio::select! {
                received = self.broker.receive(Lane::Pages, &self.worker_id, free, RECEIVE_WAIT) => received,
                () = stop.cancelled() => break,
            };
            let deliveries = match received {
                Ok(deliveries) => deliveries,
                Err(e) => {
                    warn!(error = %e, "could not receive pages; trying again");
                    drop(first);
                    tokio::time::sleep(BROKER_DOWN_WAIT).await;
                    continue;
                }
            };
            let mut first = Some(first);
            for delivery in deliveries {
                let permit = match first.take() {
                    Some(permit) => permit,
                    // `free` slots were counted before receiving, so one is there.
                    None => match Arc::clone(&slots).acquire_owned().await {
                        Ok(permit) => permit,
                        Err(_) => break,
                    },
                };
                let this = Arc::clone(self);
                let span = info_span!("page", id = %delivery.id, deliveries = delivery.deliveries);
                in_flight.spawn(
                    async move {
                        this.process(delivery).await;
                        drop(permit);
                    }
                    .instrument(span),
                );
            }
        }
        in_flight.close();
        info!(in_flight = in_flight.len(), "page loop stopping; finishing pages in flight");
        if tokio::time::timeout(self.config.drain, in_flight.wait()).await.is_err() {
            warn!("pages still in flight after the drain limit; they will be delivered again");
        }
        info!("page loop stopped");
    }

    /// One delivery, from receipt to acknowledgement.
    async fn process(&self, delivery: Delivery) {
        let unit = match serde_json::from_value::<PageUnit>(delivery.payload.clone()) {
            Ok(unit) => unit,
            Err(e) => {
                let reason = format!("not a page unit: {e}");
                if let Err(e) = self.broker.dead_letter(Lane::Pages, &delivery, &reason).await {
                    warn!(error = %e, "could not dead-letter an unreadable unit");
                }
                return;
            }
        };
        if delivery.deliveries > 1 {
            debug!(job_id = %unit.job, url = %unit.url, deliveries = delivery.deliveries, "unit delivered again");
        }
        let key = (unit.job.clone(), unit.url.clone());
        if !self.working.lock().unwrap_or_else(PoisonError::into_inner).insert(key.clone()) {
            // This process already works on the page; its settle counts.
            if let Err(e) = self.broker.ack(Lane::Pages, &delivery.id).await {
                warn!(error = %e, "could not acknowledge a duplicate page unit");
            }
            return;
        }
        // While the page is worked on: extend the unit on the broker, and renew the URL's claim
        // every few seconds, so a slow page is not taken over; a renewal refused means the crawl
        // was closed (a cancel) or another worker took the page, and the work stops.
        let keep_alive = async {
            let mut extended = tokio::time::Instant::now();
            loop {
                tokio::time::sleep(self.config.extend_every.min(CLAIM_CHECK)).await;
                if extended.elapsed() >= self.config.extend_every {
                    extended = tokio::time::Instant::now();
                    let ids = std::slice::from_ref(&delivery.id);
                    if let Err(e) = self.broker.extend(Lane::Pages, &self.worker_id, ids).await {
                        warn!(error = %e, "could not extend a page unit");
                    }
                }
                let lease = self.config.claim_lease;
                match self.ledger.claim_url(&unit.job, &unit.url, &self.worker_id, lease).await {
                    Ok(UrlClaim::NotClaimable) => return,
                    Ok(UrlClaim::Claimed { .. }) => {}
                    Err(e) => warn!(error = %e, "could not renew a page's claim"),
                }
            }
        };
        let worked = tokio::select! {
            worked = self.work_unit(&unit) => worked,
            () = keep_alive => {
                debug!(job_id = %unit.job, url = %unit.url, "page abandoned: its crawl was closed or another worker took it");
                Ok(())
            }
        };
        self.working.lock().unwrap_or_else(PoisonError::into_inner).remove(&key);
        match worked {
            Ok(()) => {
                if let Err(e) = self.broker.ack(Lane::Pages, &delivery.id).await {
                    // Delivered again later; the ledger claim makes that delivery a no-op.
                    warn!(error = %e, "could not acknowledge a page unit");
                }
            }
            Err(Unfinished::Dependency(e)) => {
                metrics::counter!("crawlrag_pages_total", "outcome" => "retried").increment(1);
                warn!(job_id = %unit.job, url = %unit.url, error = %e, "page left for another try");
            }
        }
    }

    async fn work_unit(&self, unit: &PageUnit) -> Result<(), Unfinished> {
        let context = match self.context(&unit.job).await {
            Ok(Some(context)) => context,
            // Not a distributed crawl of this database: nothing will ever take it.
            Ok(None) => return Ok(()),
            Err(e) => return Err(Unfinished::Dependency(e)),
        };
        let claim = self
            .ledger
            .claim_url(&unit.job, &unit.url, &self.worker_id, self.config.claim_lease)
            .await
            .map_err(|e| Unfinished::Dependency(e.into()))?;
        let UrlClaim::Claimed { depth } = claim else { return Ok(()) };
        let url = match Url::parse(&unit.url) {
            Ok(url) => url,
            Err(e) => {
                let outcome = UrlOutcome::Failed(format!("invalid URL: {e}"));
                return self.settle_page(&context, unit, &outcome, &[]).await;
            }
        };
        let (outcome, links) = self.fetch_and_store(&context, &url, depth).await.map_err(Unfinished::Dependency)?;
        self.settle_page(&context, unit, &outcome, &links).await
    }

    async fn settle_page(
        &self,
        context: &CrawlContext,
        unit: &PageUnit,
        outcome: &UrlOutcome,
        links: &[OfferedUrl],
    ) -> Result<(), Unfinished> {
        let settled = self
            .ledger
            .settle_url(&unit.job, &unit.url, &self.worker_id, outcome, links)
            .await
            .map_err(|e| Unfinished::Dependency(e.into()))?;
        if !settled.applied {
            // Our claim expired and another worker took the page: its settle counts.
            return Ok(());
        }
        count_outcome(outcome);
        self.publish(&unit.job, &settled.admitted.queued).await;
        let next = if settled.open == 0 { self.complete(context).await } else { self.beat(context, false).await };
        if let Err(e) = next {
            // The reconciler completes or heartbeats the crawl on its next round.
            warn!(job_id = %unit.job, error = %e, "could not update the crawl's job");
        }
        Ok(())
    }

    /// Fetch one claimed page under the shared politeness, store it, and offer its links.
    ///
    /// # Errors
    /// Only for failing dependencies (database, embedder): page-level failures are outcomes.
    async fn fetch_and_store(
        &self,
        context: &CrawlContext,
        url: &Url,
        depth: u32,
    ) -> Result<(UrlOutcome, Vec<OfferedUrl>)> {
        let request = &context.request;
        let depth = usize::try_from(depth).unwrap_or(usize::MAX);
        let follows = context.follow_links && depth + 1 < request.max_depth;
        // As in a one-process crawl: only pages whose links are not followed are fetched
        // conditionally (a 304 has no links).
        let conditional = request.chunk_size.is_none() && request.graph.is_none() && !follows;
        let known = if conditional { self.crawler.known_validators(url).await? } else { Validators::default() };
        let turns = GateTurns {
            gate: Arc::clone(&self.gate),
            max_in_flight: request.max_concurrent.min(self.crawler.config().per_host_concurrency),
            hold: SLOT_HOLD,
        };
        let sink = self.crawler.sink();
        Ok(match self.crawler.fetch_polite(url, &context.plan, &known, &turns, &context.robots).await {
            Ok(PageFetch::NotModified) => {
                (UrlOutcome::Stored(PageCounts { unchanged: true, ..PageCounts::default() }), Vec::new())
            }
            Ok(PageFetch::Fetched(page)) => {
                let links = if follows { self.offer_links(context, &page.links, depth + 1) } else { Vec::new() };
                let stored = if request.index {
                    let options = IngestOptions { chunk_size: request.chunk_size, graph: request.graph };
                    sink.store_page(&page, &options, &NoProgress).await
                } else {
                    sink.chunk_page(&page, request.chunk_size).await
                };
                match stored {
                    Ok(stored) => {
                        let as_u64 = |n: usize| u64::try_from(n).unwrap_or(u64::MAX);
                        let counts = PageCounts {
                            unchanged: stored.unchanged,
                            chunks: as_u64(stored.chunks_stored),
                            code_examples: as_u64(stored.code_examples_stored),
                            entities: as_u64(stored.entities_stored),
                            relations: as_u64(stored.relations_stored),
                            words: if stored.unchanged { 0 } else { as_u64(stored.word_count) },
                            graph_millis: stored.graph_millis,
                        };
                        metrics::counter!("crawlrag_chunks_stored_total").increment(counts.chunks);
                        (UrlOutcome::Stored(counts), links)
                    }
                    Err(e @ (Error::Unavailable { .. } | Error::Internal(_))) => return Err(e),
                    Err(e) => (UrlOutcome::Failed(e.to_string()), links),
                }
            }
            Err(PageError::Skipped(reason)) => (UrlOutcome::Skipped(reason), Vec::new()),
            Err(PageError::Gone(error)) => {
                let pruned = sink.page_gone(url.as_str()).await?;
                (UrlOutcome::Gone { error, pruned }, Vec::new())
            }
            Err(PageError::Failed(error)) => (UrlOutcome::Failed(error), Vec::new()),
        })
    }

    /// A page's links as offers to the ledger: out-of-scope links are dropped, skipped ones
    /// recorded with their reason. (Query-variant traps are counted by the ledger, per crawl.)
    fn offer_links(&self, context: &CrawlContext, links: &crate::domain::Links, depth: usize) -> Vec<OfferedUrl> {
        let depth = u32::try_from(depth).unwrap_or(u32::MAX);
        let external = links.external.iter().filter(|_| context.request.scope == Scope::Domain);
        let mut offers = Vec::new();
        for link in links.internal.iter().chain(external).filter_map(|l| Url::parse(l).ok()) {
            match context.rules.screen(&link) {
                Screened::Follow(key) => offers.push(OfferedUrl { url: key.to_string(), depth, skip: None }),
                Screened::OutOfScope => {}
                Screened::Skipped(reason) => {
                    let key = crate::crawl::url::normalize(&link);
                    offers.push(OfferedUrl { url: key.to_string(), depth, skip: Some(reason) });
                }
            }
        }
        offers
    }
}

fn count_outcome(outcome: &UrlOutcome) {
    let label = match outcome {
        UrlOutcome::Stored(counts) if counts.unchanged => "unchanged",
        UrlOutcome::Stored(_) => "stored",
        UrlOutcome::Skipped(_) => "skipped",
        UrlOutcome::Failed(_) | UrlOutcome::Gone { .. } => "failed",
    };
    metrics::counter!("crawlrag_pages_total", "outcome" => label).increment(1);
}
