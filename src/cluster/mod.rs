//! Distributed crawling: one site crawl spread over every worker process, one page at a time.
//!
//! # Architecture
//! A worker that claims a site-crawl job *starts* it ([`Cluster::start`], `start.rs`): it opens
//! the crawl's run in the URL ledger (`CrawlLedger`), admits the seed URLs (the start page, or
//! the pages a sitemap lists) and publishes one page unit per admitted URL on the broker's pages
//! lane, then hands the job's claim to the shared worker name [`CLUSTER_WORKER`]. From then on
//! every worker's page loop (`pages.rs`) takes units: it claims the URL in the ledger (so two
//! deliveries of one URL never both work), fetches it behind robots.txt shared through the ledger
//! (`robots.rs`) and per-host turns shared through the `HostGate` (`politeness.rs`), stores it
//! (idempotent: a page's chunks are replaced by URL), then settles it in the ledger together with
//! its newly admitted links in one transaction, publishes those links, and only then
//! acknowledges the unit. A worker killed anywhere in between leaves the unit pending (delivered
//! again after the visibility timeout) and the URL claimed (claimable again when the claim
//! expires), never a duplicate. The settle that leaves no open URL completes the job
//! ([`Cluster::complete`]); the report comes from the ledger (`report.rs`). Every worker's
//! reconciler (`reconcile.rs`) heartbeats open crawls (progress, cancels), completes a crawl whose
//! last settle's process died, and republishes ledger work the broker lost (Redis restarted
//! without its data).

mod pages;
mod politeness;
mod reconcile;
mod report;
mod robots;
mod start;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio_util::task::TaskTracker;
use tracing::{Instrument, info, info_span, warn};

use crate::crawl::Crawler;
use crate::crawl::site::{CrawlRequest, LinkRules, classify_target};
use crate::crawl::{PagePlan, site::CrawlType};
use crate::domain::webhook::event_for;
use crate::domain::{JobProgress, JobState, target};
use crate::error::{Error, Result};
use crate::jobs::spec::WEBHOOK_FIELD;
use crate::jobs::{JobEvent, JobSpec, Spreader, Webhooks};
use crate::ports::{CrawlLedger, HostGate, JobEnd, JobQueue, Lane, LedgerTally, QueuedUrl, RunEnd, WorkBroker};

/// The worker name a distributed crawl's job is claimed under: whichever worker works on one of
/// its pages heartbeats it.
pub const CLUSTER_WORKER: &str = "cluster";

/// Settings of distributed crawling.
#[derive(Debug, Clone, Copy)]
pub struct ClusterConfig {
    /// Pages this process works on at once.
    pub page_slots: usize,
    /// How long a URL claim lasts without being settled (a worker that died frees it after this).
    pub claim_lease: Duration,
    /// The job's lease under [`CLUSTER_WORKER`] (the jobs service's lease).
    pub job_lease: Duration,
    /// Least time between two progress heartbeats of one job from this process.
    pub beat_every: Duration,
    /// How often the reconciler runs.
    pub reconcile_every: Duration,
    /// A queued URL not taken for this long while the pages lane is idle was lost by the broker.
    pub lost_after: Duration,
    /// A queued URL older than this is republished whatever the lane holds (duplicates are
    /// harmless: the ledger claim drops them).
    pub republish_after: Duration,
    /// How long the ledger keeps a closed crawl (`None`: forever).
    pub keep_closed: Option<Duration>,
    /// How long in-flight pages may take to finish on shutdown.
    pub drain: Duration,
    /// How often a unit being worked on is extended on the broker.
    pub extend_every: Duration,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        Self {
            page_slots: 8,
            claim_lease: Duration::from_secs(300),
            job_lease: Duration::from_secs(60),
            beat_every: Duration::from_secs(2),
            reconcile_every: Duration::from_secs(5),
            lost_after: Duration::from_secs(30),
            republish_after: Duration::from_secs(600),
            keep_closed: Some(Duration::from_secs(7 * 24 * 3600)),
            drain: Duration::from_secs(30),
            extend_every: Duration::from_secs(15),
        }
    }
}

/// The parts distributed crawling is built from.
#[derive(Debug, Clone)]
pub struct ClusterParts {
    pub broker: Arc<dyn WorkBroker>,
    pub gate: Arc<dyn HostGate>,
    pub ledger: Arc<dyn CrawlLedger>,
    pub queue: Arc<dyn JobQueue>,
    pub crawler: Arc<Crawler>,
    pub webhooks: Option<Arc<Webhooks>>,
}

/// One page of a distributed crawl, as carried on the pages lane.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageUnit {
    pub job: String,
    pub url: String,
    pub depth: u32,
}

impl PageUnit {
    fn payloads(job: &str, urls: &[QueuedUrl]) -> Vec<serde_json::Value> {
        urls.iter().map(|u| serde_json::json!({ "job": job, "url": u.url, "depth": u.depth })).collect()
    }
}

/// What every page of one crawl shares in this process.
#[derive(Debug)]
struct CrawlContext {
    job_id: String,
    tool: &'static str,
    request: CrawlRequest,
    webhook: Option<String>,
    plan: PagePlan,
    rules: LinkRules,
    follow_links: bool,
    robots: robots::LedgerRobots,
    last_beat: Mutex<Option<Instant>>,
}

/// Most crawl contexts kept in memory (emptied past this).
const CONTEXTS_CAP: usize = 256;

/// The distributed crawl service.
#[derive(Debug)]
pub struct Cluster {
    broker: Arc<dyn WorkBroker>,
    gate: Arc<dyn HostGate>,
    ledger: Arc<dyn CrawlLedger>,
    queue: Arc<dyn JobQueue>,
    crawler: Arc<Crawler>,
    webhooks: Option<Arc<Webhooks>>,
    config: ClusterConfig,
    /// This process's consumer name on the broker and its name on URL claims.
    worker_id: String,
    contexts: Mutex<HashMap<String, Arc<CrawlContext>>>,
    /// (job, URL) pages this process works on now: a second delivery of one is dropped here (a
    /// claim by the same worker would only extend it).
    working: Mutex<std::collections::HashSet<(String, String)>>,
    /// Webhook deliveries of jobs this process ended.
    tasks: TaskTracker,
    /// When this process's reconciler last pruned the ledger.
    pruned_at: Mutex<Option<Instant>>,
}

/// The site crawl a job spec asks for, when it is one that spreads over workers.
pub fn distributable(spec: &JobSpec) -> Option<&CrawlRequest> {
    match spec {
        JobSpec::SmartCrawl { request } | JobSpec::StealthCrawl { request } | JobSpec::GraphCrawl { request } => {
            Some(request)
        }
        // A memory-monitored crawl watches one process's memory; the rest are not site crawls.
        JobSpec::MemoryCrawl { .. }
        | JobSpec::SinglePage { .. }
        | JobSpec::MultiUrl { .. }
        | JobSpec::ParseRepository { .. }
        | JobSpec::ParseRepositories { .. } => None,
    }
}

#[async_trait::async_trait]
impl Spreader for Cluster {
    fn spreads(&self, spec: &JobSpec) -> bool {
        distributable(spec).is_some()
    }

    async fn start(&self, job_id: &str, claimed_by: &str, spec: &JobSpec) -> Result<()> {
        let request = distributable(spec).ok_or_else(|| Error::Internal("not a site crawl".into()))?;
        self.start_crawl(job_id, claimed_by, request).await
    }
}

impl Cluster {
    pub fn new(parts: ClusterParts, config: ClusterConfig, worker_id: String) -> Self {
        let ClusterParts { broker, gate, ledger, queue, crawler, webhooks } = parts;
        Self {
            broker,
            gate,
            ledger,
            queue,
            crawler,
            webhooks,
            config,
            worker_id,
            contexts: Mutex::new(HashMap::new()),
            working: Mutex::default(),
            tasks: TaskTracker::new(),
            pruned_at: Mutex::new(None),
        }
    }

    pub fn broker(&self) -> &Arc<dyn WorkBroker> {
        &self.broker
    }

    /// What a job's pages share, read from its stored spec once per process. `None`: the job
    /// does not exist or is not a distributed crawl (its units are dropped).
    async fn context(&self, job_id: &str) -> Result<Option<Arc<CrawlContext>>> {
        if let Some(found) = self.contexts.lock().unwrap_or_else(PoisonError::into_inner).get(job_id) {
            return Ok(Some(Arc::clone(found)));
        }
        let Some(stored) = self.queue.spec(job_id).await? else { return Ok(None) };
        let webhook = stored.get(WEBHOOK_FIELD).and_then(|v| v.as_str()).map(str::to_owned);
        let Ok(spec) = serde_json::from_value::<JobSpec>(stored) else { return Ok(None) };
        let Some(request) = distributable(&spec) else { return Ok(None) };
        let start = target::parse_target(&request.url).map_err(Error::BadInput)?;
        let crawl_type = classify_target(&start);
        let rules = match crawl_type {
            CrawlType::Sitemap => LinkRules::new(&start, request).for_sitemap(&start),
            CrawlType::TxtFile | CrawlType::Webpage => LinkRules::new(&start, request),
        };
        let context = Arc::new(CrawlContext {
            job_id: job_id.to_owned(),
            tool: spec.tool(),
            request: request.clone(),
            webhook,
            plan: PagePlan { render: request.render, browser: request.browser.clone(), ..PagePlan::default() },
            rules,
            follow_links: crawl_type == CrawlType::Webpage,
            robots: robots::LedgerRobots::new(job_id, Arc::clone(&self.ledger)),
            last_beat: Mutex::new(None),
        });
        let mut contexts = self.contexts.lock().unwrap_or_else(PoisonError::into_inner);
        if contexts.len() >= CONTEXTS_CAP {
            contexts.clear();
        }
        contexts.insert(job_id.to_owned(), Arc::clone(&context));
        Ok(Some(context))
    }

    fn forget(&self, job_id: &str) {
        self.contexts.lock().unwrap_or_else(PoisonError::into_inner).remove(job_id);
    }

    /// Publish page units; a failure is logged (the ledger still has the rows, and the
    /// reconciler republishes them once they are found lost).
    async fn publish(&self, job_id: &str, urls: &[QueuedUrl]) {
        if urls.is_empty() {
            return;
        }
        if let Err(e) = self.broker.publish(Lane::Pages, &PageUnit::payloads(job_id, urls)).await {
            warn!(job_id, error = %e, count = urls.len(), "could not publish pages; the reconciler will");
        }
    }

    /// Write the job's progress (from the ledger) and extend its lease; stop the crawl when its
    /// client asked to cancel or the job ended elsewhere. `force`: ignore the per-process throttle.
    async fn beat(&self, context: &CrawlContext, force: bool) -> Result<()> {
        {
            let mut last = context.last_beat.lock().unwrap_or_else(PoisonError::into_inner);
            if !force && last.is_some_and(|at| at.elapsed() < self.config.beat_every) {
                return Ok(());
            }
            *last = Some(Instant::now());
        }
        let tally = self.ledger.tally(&context.job_id, 0).await?;
        let lease = crate::ports::Lease { worker: CLUSTER_WORKER, duration: self.config.job_lease };
        let beat = self.queue.heartbeat(&context.job_id, lease, &progress_of(&tally)).await?;
        if beat.cancel_requested {
            self.end_early(context, RunEnd::Cancelled, JobState::Cancelled, "cancelled").await?;
        } else if beat.lease_lost {
            self.job_not_ours(context).await?;
        }
        Ok(())
    }

    /// The job is not running under the cluster's name. Either its starter has not handed it
    /// over yet (pages of a just-seeded crawl can settle first: nothing to do), or it ended
    /// (finished by a completer that did not get to close the run, or marked interrupted while no
    /// worker heartbeat it): close the run as the job ended, so its remaining pages are dropped.
    async fn job_not_ours(&self, context: &CrawlContext) -> Result<()> {
        let state = self.queue.get(&context.job_id).await?.map(|job| job.state);
        let end = match state {
            Some(JobState::Queued | JobState::Running) => return Ok(()),
            Some(JobState::Succeeded) => RunEnd::Completed,
            Some(JobState::Cancelled) => RunEnd::Cancelled,
            Some(JobState::Failed | JobState::Interrupted) | None => RunEnd::Failed,
        };
        if self.ledger.close_run(&context.job_id, end).await? && end == RunEnd::Failed {
            warn!(job_id = %context.job_id, "the job ended while its crawl was open; its remaining pages are dropped");
        }
        self.forget(&context.job_id);
        Ok(())
    }

    /// Stop a crawl before its pages are done (a cancel), ending its job once.
    ///
    /// The job is ended before the run is closed, so a failure in between leaves the run open
    /// for the next heartbeat to close (it finds the job ended), never a closed run whose job
    /// nobody ends.
    async fn end_early(&self, context: &CrawlContext, end: RunEnd, state: JobState, error: &str) -> Result<()> {
        let tally = self.ledger.tally(&context.job_id, 0).await?;
        let progress = progress_of(&tally);
        let ended = self
            .queue
            .finish(&context.job_id, JobEnd { state, progress: &progress, error: Some(error), result: None })
            .await?;
        if ended {
            info!(job_id = %context.job_id, state = state.as_str(), "distributed crawl stopped");
            metrics::counter!("crawlrag_jobs_total", "state" => state.as_str()).increment(1);
            self.send_webhook(context, state, serde_json::json!({ "error": error }));
        }
        self.ledger.close_run(&context.job_id, end).await?;
        self.forget(&context.job_id);
        Ok(())
    }

    /// The crawl has no open URL left: record its report as the job's result, then close the
    /// run. Several callers may get here (the last settle, reconcilers); the job's end is
    /// recorded once (`finish` answers whether this call ended it) and only that caller sends
    /// the webhook. Ending the job first makes a failure anywhere retryable: the run stays open
    /// and the next reconcile round completes it again.
    async fn complete(&self, context: &CrawlContext) -> Result<()> {
        let tally = self.ledger.tally(&context.job_id, crate::crawl::site::LISTED_URLS).await?;
        if tally.queued + tally.claimed > 0 {
            return Ok(());
        }
        let report = report::crawl_report(&context.request, &tally)?;
        let progress = report.tally();
        let (state, error, result) = match report::nothing_crawled(&report) {
            Some(message) => (JobState::Failed, Some(message), None),
            None => (JobState::Succeeded, None, serde_json::to_value(&report).ok()),
        };
        let end = JobEnd { state, progress: &progress, error: error.as_deref(), result: result.as_ref() };
        let ended = self.queue.finish(&context.job_id, end).await?;
        if ended {
            info!(job_id = %context.job_id, pages = report.pages_crawled, chunks = report.chunks_stored, "distributed crawl done");
            metrics::counter!("crawlrag_jobs_total", "state" => state.as_str()).increment(1);
            let data = result.unwrap_or_else(|| serde_json::json!({ "error": error }));
            self.send_webhook(context, state, data);
        }
        self.ledger.close_run(&context.job_id, RunEnd::Completed).await?;
        self.forget(&context.job_id);
        Ok(())
    }

    fn send_webhook(&self, context: &CrawlContext, state: JobState, data: serde_json::Value) {
        let (Some(webhooks), Some(url), Some(event)) =
            (self.webhooks.clone(), context.webhook.clone(), event_for(state))
        else {
            return;
        };
        let event = JobEvent {
            job_id: context.job_id.clone(),
            tool: context.tool.to_owned(),
            target: context.request.url.clone(),
            event,
            data,
        };
        let span = info_span!("webhook", job_id = %event.job_id, event = event.event);
        self.tasks.spawn(async move { webhooks.deliver(&url, &event).await }.instrument(span));
    }

    /// Wait for this process's webhook deliveries (shutdown).
    pub async fn settle(&self) {
        self.tasks.close();
        self.tasks.wait().await;
    }
}

/// A job's counters from its ledger tally.
fn progress_of(tally: &LedgerTally) -> JobProgress {
    JobProgress {
        pages_done: tally.stored + tally.unchanged,
        pages_queued: tally.queued + tally.claimed,
        pages_failed: tally.failed + tally.gone,
        chunks_stored: tally.chunks,
    }
}
