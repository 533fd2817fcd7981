//! The jobs service: long operations run as jobs whose spec and state live in a [`JobQueue`], so
//! they outlive the MCP request that started them (clients give up after about 60 s) and any
//! replica can report on or cancel any job.
//!
//! # Architecture
//! A job is data ([`JobSpec`]). [`Jobs::submit`] records it already claimed by this process and
//! runs it here; [`Jobs::enqueue`] records it queued, for whichever worker loop ([`Jobs::work`])
//! claims it first. Either way one function runs a claimed job: the [`JobRunner`] does the work
//! while a heartbeat writes the live counters every `heartbeat`, extends the claim's lease, and
//! reads back `cancel_requested` (a cancel sent to another replica). A running job whose lease
//! ran out belongs to a process that died; [`Jobs::reclaim_expired`] marks it `interrupted`. A
//! graceful shutdown marks this process's jobs `interrupted` itself, so no job is left "running".
//! [`Jobs::answer`] is the rule every front end (MCP tools, the CLI) shares: submit, wait up to
//! the foreground limit while forwarding progress, then answer with the result or the job id.
//! A job with a webhook URL gets exactly one delivery of its end ([`Webhooks`]), sent by whichever
//! call recorded that end.

pub mod runner;
pub mod sink;
pub mod spec;
pub mod webhook;
mod worker;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::{Notify, OwnedSemaphorePermit, oneshot};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{Instrument, info, info_span, warn};

pub use self::runner::{JobRunner, ServiceRunner};
pub use self::sink::JobSink;
pub use self::spec::{JobOutput, JobOwner, JobRequest, JobSpec};
pub use self::webhook::{JobEvent, WebhookConfig, Webhooks};
use crate::domain::webhook::event_for;
use crate::domain::{JobProgress, JobRecord, JobState};
use crate::error::{Error, Result};
use crate::ports::{CancelRequest, EndedJob, JobEnd, JobQueue, Lane, Lease, NewJob, WorkBroker};
use crate::progress::ProgressSink;

/// How often a running job writes its progress and checks for a cancel.
pub const DEFAULT_HEARTBEAT: Duration = Duration::from_secs(5);
/// How long a tool waits for its job before answering with the job id instead.
pub const DEFAULT_FOREGROUND_WAIT: Duration = Duration::from_secs(45);
/// How often an idle worker loop looks for queued jobs (it is also woken at once by this
/// process's own enqueues).
pub const DEFAULT_POLL: Duration = Duration::from_secs(1);
/// The error a webhook reports for a job whose process stopped before it finished.
const INTERRUPTED_ERROR: &str = "the process running this job stopped (restart or crash) before it finished";
/// Most jobs `list_crawl_jobs` returns.
pub const LIST_LIMIT: usize = 50;

#[derive(Debug, Clone, Copy)]
pub struct JobConfig {
    pub heartbeat: Duration,
    pub foreground_wait: Duration,
    pub poll: Duration,
}

impl Default for JobConfig {
    fn default() -> Self {
        Self { heartbeat: DEFAULT_HEARTBEAT, foreground_wait: DEFAULT_FOREGROUND_WAIT, poll: DEFAULT_POLL }
    }
}

impl JobConfig {
    /// A claim lasts three heartbeats: a running job silent for this long is considered dead.
    pub fn lease(&self) -> Duration {
        self.heartbeat * 3
    }
}

/// How long a front end waits for its job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wait {
    /// Answer with the job id at once.
    Background,
    /// Wait up to the configured foreground limit, then answer with the job id.
    Foreground,
    /// Wait until the job ends (the CLI, which holds the process anyway).
    UntilDone,
}

/// How a job answered its front end.
#[derive(Debug)]
#[expect(clippy::large_enum_variant, reason = "one per request, moved once")]
pub enum JobAnswer {
    /// It finished in time.
    Done { job_id: String, output: JobOutput },
    /// It goes on in the background: its progress so far, and what to tell the client.
    Running { job_id: String, progress: JobProgress, message: String },
}

/// A job this process runs: its id, live progress, and its outcome once done.
#[derive(Debug)]
pub struct JobHandle {
    pub job_id: String,
    pub sink: Arc<JobSink>,
    token: CancellationToken,
    outcome: oneshot::Receiver<Result<JobOutput>>,
}

/// What waiting in the foreground gave.
#[derive(Debug)]
#[expect(clippy::large_enum_variant, reason = "one per request, moved once")]
pub enum Waited {
    Finished(Result<JobOutput>),
    /// Still running after the wait; it goes on as a background job.
    StillRunning(JobProgress),
}

impl JobHandle {
    /// Wait up to `limit` for the outcome, forwarding progress. If the caller's future is
    /// dropped meanwhile (the client cancelled the request), the job is cancelled too.
    pub async fn wait(self, limit: Duration, progress: Arc<dyn ProgressSink>) -> Waited {
        self.wait_for(Some(limit), progress).await
    }

    async fn wait_for(mut self, limit: Option<Duration>, progress: Arc<dyn ProgressSink>) -> Waited {
        self.sink.forward_to(Some(progress));
        let guard = self.token.clone().drop_guard();
        let outcome = match limit {
            Some(limit) => tokio::time::timeout(limit, &mut self.outcome).await.ok(),
            None => Some((&mut self.outcome).await),
        };
        let waited = match outcome {
            Some(Ok(outcome)) => Waited::Finished(outcome),
            Some(Err(_)) => Waited::Finished(Err(Error::Internal("the job task ended without an outcome".into()))),
            None => Waited::StillRunning(self.sink.snapshot()),
        };
        guard.disarm();
        self.sink.forward_to(None);
        waited
    }
}

/// The job service.
#[derive(Debug)]
pub struct Jobs {
    queue: Arc<dyn JobQueue>,
    runner: Arc<dyn JobRunner>,
    config: JobConfig,
    /// This process's name on the claims it holds.
    worker_id: String,
    /// Jobs this process runs, by id.
    local: Mutex<HashMap<String, CancellationToken>>,
    tasks: TaskTracker,
    shutting_down: AtomicBool,
    /// Wakes this process's worker loop when it queued a job itself.
    queued: Notify,
    /// Sends webhooks when jobs with a `webhook_url` end.
    webhooks: Option<Arc<Webhooks>>,
    /// Where this process's submitted jobs run.
    placement: Placement,
    /// The queue engine: wakes workers of other processes when a job is queued.
    broker: Option<Arc<dyn WorkBroker>>,
    /// Spreads site crawls this process claims over every worker.
    spreader: Option<Arc<dyn Spreader>>,
}

/// Starts a job across every worker instead of running it in this process (the `cluster`
/// service implements it; the job then ends wherever its last piece of work is done).
#[async_trait::async_trait]
pub trait Spreader: Send + Sync + std::fmt::Debug {
    /// Whether this kind of job is spread.
    fn spreads(&self, spec: &JobSpec) -> bool;

    /// Start job `job_id` (claimed by `claimed_by`) across the workers and hand its claim over.
    ///
    /// # Errors
    /// `BadInput` for a request that cannot start; `Unavailable` when a dependency fails.
    async fn start(&self, job_id: &str, claimed_by: &str, spec: &JobSpec) -> Result<()>;
}

/// Where the jobs a process accepts run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Placement {
    /// In this process (the single-process default, and the CLI).
    #[default]
    Here,
    /// On worker processes (`crawlrag serve --role api`): jobs are queued, and a front end waits
    /// by reading the job's record.
    Workers,
}

/// How often a front end waiting for a job another process runs reads its record.
const REMOTE_POLL: Duration = Duration::from_millis(250);

impl Jobs {
    pub fn new(queue: Arc<dyn JobQueue>, runner: Arc<dyn JobRunner>, config: JobConfig) -> Self {
        Self {
            queue,
            runner,
            config,
            worker_id: format!("{}-{}", std::process::id(), uuid::Uuid::new_v4()),
            local: Mutex::new(HashMap::new()),
            tasks: TaskTracker::new(),
            shutting_down: AtomicBool::new(false),
            queued: Notify::new(),
            webhooks: None,
            placement: Placement::Here,
            broker: None,
            spreader: None,
        }
    }

    /// Queue submitted jobs for workers instead of running them here.
    #[must_use]
    pub fn with_placement(mut self, placement: Placement) -> Self {
        self.placement = placement;
        self
    }

    /// Announce queued jobs on the queue engine (and wait on it for work).
    #[must_use]
    pub fn with_broker(mut self, broker: Arc<dyn WorkBroker>) -> Self {
        self.broker = Some(broker);
        self
    }

    /// Spread the jobs this process claims over every worker, where `spreader` says so.
    #[must_use]
    pub fn with_spreader(mut self, spreader: Arc<dyn Spreader>) -> Self {
        self.spreader = Some(spreader);
        self
    }

    /// This process's name on the claims it holds.
    pub fn worker_id(&self) -> &str {
        &self.worker_id
    }

    /// Send webhooks for jobs submitted with a `webhook_url`.
    #[must_use]
    pub fn with_webhooks(mut self, webhooks: Arc<Webhooks>) -> Self {
        self.webhooks = Some(webhooks);
        self
    }

    /// Check a request's webhook URL; answers it cleaned.
    fn check_webhook(&self, request: &JobRequest) -> Result<Option<String>> {
        let Some(raw) = request.webhook_url.as_deref() else { return Ok(None) };
        let Some(webhooks) = &self.webhooks else {
            return Err(Error::bad_input("webhook_url: this server does not send webhooks"));
        };
        webhooks.check_url(raw).map(Some)
    }

    pub fn config(&self) -> JobConfig {
        self.config
    }

    /// Refuse a job whose owner already has their cap of jobs queued or running. (Counted before
    /// the insert, not in it: two submits racing may both pass, overshooting by one; the cap
    /// guards resources, it is not a billing counter.)
    async fn check_owner_cap(&self, request: &JobRequest) -> Result<()> {
        let Some(JobOwner { id, max_active: Some(cap) }) = &request.owner else { return Ok(()) };
        let active = self.queue.active_jobs_of(id).await?;
        if active < u64::from(*cap) {
            return Ok(());
        }
        metrics::counter!("crawlrag_rate_limited_total", "limit" => "crawls").increment(1);
        Err(Error::unavailable(format!(
            "too many jobs: this caller already has {active} job(s) queued or running and may run at most {cap} at \
             once (CRAWLRAG_MAX_CRAWLS_PER_CALLER); wait for one to end (get_crawl_job, list_crawl_jobs) or stop \
             one (cancel_crawl_job)"
        )))
    }

    fn lease(&self) -> Lease<'_> {
        Lease { worker: &self.worker_id, duration: self.config.lease() }
    }

    fn refuse_when_stopping(&self) -> Result<()> {
        if self.shutting_down.load(Ordering::SeqCst) {
            return Err(Error::unavailable("the server is shutting down; start the job on another replica"));
        }
        Ok(())
    }

    /// Record `spec` as a job claimed by this process and run it here.
    ///
    /// # Errors
    /// `BadInput` for a spec that could never run or a refused `webhook_url`; `Unavailable` when
    /// the job cannot be recorded (database down). Nothing runs then.
    pub async fn submit(self: &Arc<Self>, request: impl Into<JobRequest>) -> Result<JobHandle> {
        let request = request.into();
        self.refuse_when_stopping()?;
        let webhook = self.check_webhook(&request)?;
        self.runner.check(&request.spec)?;
        self.check_owner_cap(&request).await?;
        let JobRequest { spec, owner, .. } = request;
        let job_id = uuid::Uuid::new_v4().to_string();
        let encoded = encode(&spec, webhook.as_deref())?;
        let target = spec.target();
        let job = NewJob {
            job_id: &job_id,
            tool: spec.tool(),
            target: &target,
            spec: &encoded,
            claim: Some(self.lease()),
            owner: owner.as_ref().map(|o| o.id.as_str()),
        };
        self.queue.enqueue(job).await?;
        let sink = Arc::new(JobSink::default());
        let token = CancellationToken::new();
        let outcome = self.spawn_run(job_id.clone(), spec, webhook, Arc::clone(&sink), token.clone(), None);
        Ok(JobHandle { job_id, sink, token, outcome })
    }

    /// Record `spec` as a queued job for whichever worker claims it first; answers its id.
    ///
    /// # Errors
    /// `Unavailable` when the job cannot be recorded.
    pub async fn enqueue(&self, request: impl Into<JobRequest>) -> Result<String> {
        let request = request.into();
        self.refuse_when_stopping()?;
        let webhook = self.check_webhook(&request)?;
        self.check_owner_cap(&request).await?;
        let spec = &request.spec;
        let job_id = uuid::Uuid::new_v4().to_string();
        let encoded = encode(spec, webhook.as_deref())?;
        let target = spec.target();
        let owner = request.owner.as_ref().map(|o| o.id.as_str());
        let job = NewJob { job_id: &job_id, tool: spec.tool(), target: &target, spec: &encoded, claim: None, owner };
        self.queue.enqueue(job).await?;
        self.queued.notify_one();
        if let Some(broker) = &self.broker
            && let Err(e) = broker.publish(Lane::Jobs, &[serde_json::json!({ "job": job_id })]).await
        {
            // Workers also look in the table every poll: the job is only picked up later.
            warn!(%job_id, error = %e, "could not announce the job on the queue engine");
        }
        Ok(job_id)
    }

    /// Submit `spec` and answer as `wait` says: at once with the job id, after the job (when it
    /// ends within the foreground limit), or with the job id and its progress so far.
    ///
    /// # Errors
    /// `Unavailable` when the job cannot be recorded; the job's own error when it failed while
    /// the caller waited.
    pub async fn answer(
        self: &Arc<Self>,
        request: impl Into<JobRequest>,
        wait: Wait,
        progress: Arc<dyn ProgressSink>,
    ) -> Result<JobAnswer> {
        if self.placement == Placement::Workers {
            return self.answer_from_workers(request.into(), wait, progress).await;
        }
        let handle = self.submit(request).await?;
        let job_id = handle.job_id.clone();
        let limit = match wait {
            Wait::Background => {
                let message = "running in the background; poll get_crawl_job with this job_id".to_owned();
                return Ok(JobAnswer::Running { job_id, progress: JobProgress::default(), message });
            }
            Wait::Foreground => Some(self.config.foreground_wait),
            Wait::UntilDone => None,
        };
        Ok(match handle.wait_for(limit, progress).await {
            Waited::Finished(outcome) => JobAnswer::Done { job_id, output: outcome? },
            Waited::StillRunning(progress) => JobAnswer::Running {
                job_id,
                progress,
                message: format!(
                    "still running after {}s; the job goes on in the background: poll get_crawl_job with this \
                     job_id (cancel_crawl_job stops it)",
                    self.config.foreground_wait.as_secs()
                ),
            },
        })
    }

    /// Run a job this process holds the claim of, on the task tracker; `slot` (a worker's
    /// concurrency permit) is held until the job ends.
    fn spawn_run(
        self: &Arc<Self>,
        job_id: String,
        spec: JobSpec,
        webhook: Option<String>,
        sink: Arc<JobSink>,
        token: CancellationToken,
        slot: Option<OwnedSemaphorePermit>,
    ) -> oneshot::Receiver<Result<JobOutput>> {
        self.local.lock().unwrap_or_else(PoisonError::into_inner).insert(job_id.clone(), token.clone());
        let (tx, outcome) = oneshot::channel();
        let span = info_span!("job", job_id = %job_id, tool = spec.tool());
        let this = Arc::clone(self);
        self.tasks.spawn(
            async move {
                info!("job started");
                metrics::gauge!("crawlrag_jobs_running").increment(1.0);
                let ran = tokio::select! {
                    // A spec that finished wins over a lease found lost at the same moment (a
                    // spread crawl hands its job over as its last step).
                    biased;
                    result = this.run_spec(&job_id, &spec, sink.as_ref()) => Some(result),
                    () = token.cancelled() => None,
                    () = this.heartbeat(&job_id, &sink, &token) => {
                        // Reclaimed as interrupted, or handed over to the cluster: whoever holds
                        // the job now records its end.
                        warn!("the job is no longer this process's; stopping it here without recording an end");
                        Some(Ok(Ran::NotOurs))
                    }
                };
                let outcome = match ran {
                    Some(Ok(Ran::NotOurs)) => Err(Error::Cancelled),
                    Some(Ok(Ran::Spread)) => {
                        info!("the crawl goes on across the workers");
                        Err(Error::Internal("a distributed crawl has no local outcome".into()))
                    }
                    Some(Ok(Ran::Output(output))) => {
                        this.finish(&job_id, &spec, webhook, &sink, Some(Ok(output))).await
                    }
                    Some(Err(e)) => this.finish(&job_id, &spec, webhook, &sink, Some(Err(e))).await,
                    None => this.finish(&job_id, &spec, webhook, &sink, None).await,
                };
                metrics::gauge!("crawlrag_jobs_running").decrement(1.0);
                this.local.lock().unwrap_or_else(PoisonError::into_inner).remove(&job_id);
                drop(slot);
                let _ = tx.send(outcome);
            }
            .instrument(span),
        );
        outcome
    }

    /// Run a spec here, or (a site crawl, with a cluster) start it across the workers.
    async fn run_spec(&self, job_id: &str, spec: &JobSpec, progress: &dyn ProgressSink) -> Result<Ran> {
        if let Some(spreader) = self.spreader.as_ref().filter(|s| s.spreads(spec)) {
            spreader.start(job_id, &self.worker_id, spec).await?;
            return Ok(Ran::Spread);
        }
        Ok(Ran::Output(self.runner.run(spec, progress).await?))
    }

    /// Queue a job for the workers and answer as `wait` says, reading the job's record for its
    /// progress and end. If the caller's future is dropped while waiting (the client cancelled),
    /// the job is cancelled too.
    async fn answer_from_workers(
        self: &Arc<Self>,
        request: JobRequest,
        wait: Wait,
        progress: Arc<dyn ProgressSink>,
    ) -> Result<JobAnswer> {
        let spec = request.spec.clone();
        self.runner.check(&spec)?;
        let job_id = self.enqueue(request).await?;
        let limit = match wait {
            Wait::Background => {
                let message = "queued for the workers; poll get_crawl_job with this job_id".to_owned();
                return Ok(JobAnswer::Running { job_id, progress: JobProgress::default(), message });
            }
            Wait::Foreground => Some(self.config.foreground_wait),
            Wait::UntilDone => None,
        };
        let guard = CancelOnDrop { jobs: Arc::clone(self), job_id: Some(job_id.clone()) };
        let started = tokio::time::Instant::now();
        let mut last = JobProgress::default();
        loop {
            let record = self.queue.get(&job_id).await?.ok_or_else(|| unknown(&job_id))?;
            if record.progress != last {
                last = record.progress;
                let total = last.pages_done + last.pages_queued;
                progress.report(last.pages_done, (total > 0).then_some(total), "crawling on the workers").await;
                progress.tally(&last).await;
            }
            if record.state.is_finished() {
                guard.disarm();
                return remote_outcome(&spec, record).map(|output| JobAnswer::Done { job_id, output });
            }
            if limit.is_some_and(|limit| started.elapsed() >= limit) {
                guard.disarm();
                return Ok(JobAnswer::Running {
                    job_id,
                    progress: last,
                    message: format!(
                        "still running after {}s; the job goes on in the background: poll get_crawl_job with this \
                         job_id (cancel_crawl_job stops it)",
                        self.config.foreground_wait.as_secs()
                    ),
                });
            }
            tokio::time::sleep(REMOTE_POLL).await;
        }
    }

    /// Write progress and extend the lease every interval; cancel the job when the queue says a
    /// cancel was requested. Returns only when the claim was lost.
    async fn heartbeat(&self, job_id: &str, sink: &JobSink, token: &CancellationToken) {
        loop {
            tokio::time::sleep(self.config.heartbeat).await;
            match self.queue.heartbeat(job_id, self.lease(), &sink.snapshot()).await {
                Ok(beat) if beat.lease_lost => return,
                Ok(beat) if beat.cancel_requested => token.cancel(),
                Ok(_) => {}
                // The job goes on; a missed heartbeat only risks a stale reading.
                Err(e) => warn!(error = %e, "job heartbeat failed"),
            }
        }
    }

    async fn finish(
        &self,
        job_id: &str,
        spec: &JobSpec,
        webhook: Option<String>,
        sink: &JobSink,
        ran: Option<Result<JobOutput>>,
    ) -> Result<JobOutput> {
        let progress = sink.snapshot();
        let interrupted = self.shutting_down.load(Ordering::SeqCst);
        let (state, error, result, outcome) = match ran {
            Some(Ok(value)) => (JobState::Succeeded, None, serde_json::to_value(&value).ok(), Ok(value)),
            Some(Err(Error::Cancelled)) | None if interrupted => (
                JobState::Interrupted,
                Some("the server shut down before the job finished".to_owned()),
                None,
                Err(Error::Cancelled),
            ),
            Some(Err(Error::Cancelled)) | None => {
                (JobState::Cancelled, Some("cancelled".to_owned()), None, Err(Error::Cancelled))
            }
            Some(Err(e)) => (JobState::Failed, Some(e.to_string()), None, Err(e)),
        };
        let end = JobEnd { state, progress: &progress, error: error.as_deref(), result: result.as_ref() };
        // Only the call that ended the job sends its webhook: a job already reclaimed as
        // interrupted (its lease ran out) had its webhook sent by the reclaimer, and a job whose end
        // could not be recorded will be reclaimed (and its webhook sent) later.
        let ended_here = match self.queue.finish(job_id, end).await {
            Ok(ended) => ended,
            Err(e) => {
                warn!(error = %e, "could not record the job's end; it will read as interrupted");
                false
            }
        };
        info!(state = state.as_str(), pages = progress.pages_done, "job ended");
        metrics::counter!("crawlrag_jobs_total", "state" => state.as_str()).increment(1);
        if let (true, Some(url), Some(event)) = (ended_here, webhook, event_for(state)) {
            let data = result.unwrap_or_else(|| serde_json::json!({ "error": error }));
            let event = JobEvent {
                job_id: job_id.to_owned(),
                tool: spec.tool().to_owned(),
                target: spec.target(),
                event,
                data,
            };
            self.send_webhook(url, event);
        }
        outcome
    }

    /// Send the webhook of a job the queue ended itself (no process ran it to its end), if it
    /// has one.
    fn send_ended_webhook(&self, job: EndedJob, state: JobState, error: &str) {
        let url = job.spec.get(spec::WEBHOOK_FIELD).and_then(|url| url.as_str()).map(str::to_owned);
        let (Some(url), Some(event)) = (url, event_for(state)) else { return };
        let data = serde_json::json!({ "error": error });
        self.send_webhook(url, JobEvent { job_id: job.job_id, tool: job.tool, target: job.target, event, data });
    }

    /// Deliver a job's end to its webhook on the task tracker (never delaying the job's answer).
    fn send_webhook(&self, url: String, event: JobEvent) {
        let Some(webhooks) = self.webhooks.clone() else { return };
        let span = info_span!("webhook", job_id = %event.job_id, event = event.event);
        self.tasks.spawn(
            async move {
                webhooks.deliver(&url, &event).await;
            }
            .instrument(span),
        );
    }

    /// Mark running jobs whose claim expired (their process died) as interrupted.
    ///
    /// # Errors
    /// `Unavailable` when the database fails.
    pub async fn reclaim_expired(&self) -> Result<u64> {
        let ended = self.queue.reclaim_expired().await?;
        let count = u64::try_from(ended.len()).unwrap_or(u64::MAX);
        for job in ended {
            self.send_ended_webhook(job, JobState::Interrupted, INTERRUPTED_ERROR);
        }
        Ok(count)
    }

    /// One job by id.
    ///
    /// # Errors
    /// `NotFound` for an unknown id; `Unavailable` when the database fails.
    pub async fn get(&self, job_id: &str) -> Result<JobRecord> {
        self.reclaim_expired().await?;
        self.queue.get(job_id.trim()).await?.ok_or_else(|| unknown(job_id))
    }

    /// Every webhook attempt made for a job, oldest first (none without webhooks).
    ///
    /// # Errors
    /// `Unavailable` when the database fails.
    pub async fn webhook_attempts(&self, job_id: &str) -> Result<Vec<crate::ports::WebhookAttempt>> {
        match &self.webhooks {
            Some(webhooks) => webhooks.attempts(job_id.trim()).await,
            None => Ok(Vec::new()),
        }
    }

    /// The newest jobs first.
    ///
    /// # Errors
    /// `Unavailable` when the database fails.
    pub async fn list(&self, limit: usize) -> Result<Vec<JobRecord>> {
        self.reclaim_expired().await?;
        Ok(self.queue.list(limit.clamp(1, LIST_LIMIT)).await?)
    }

    /// Cancel a job: a queued one at once, a running one here or (through the queue) on
    /// whichever process runs it.
    ///
    /// # Errors
    /// `NotFound` for an unknown id, `BadInput` for a job that already ended.
    pub async fn cancel(&self, job_id: &str) -> Result<JobRecord> {
        let job_id = job_id.trim();
        let local = self.local.lock().unwrap_or_else(PoisonError::into_inner).get(job_id).cloned();
        let requested = match self.queue.request_cancel(job_id).await? {
            CancelRequest::NotFound => false,
            CancelRequest::Flagged => true,
            CancelRequest::Cancelled(job) => {
                self.send_ended_webhook(job, JobState::Cancelled, "cancelled before it started");
                true
            }
        };
        if let Some(token) = local {
            token.cancel();
        }
        let job = self.get(job_id).await?;
        if !requested && job.state.is_finished() {
            return Err(Error::bad_input(format!("job {job_id} already ended: {}", job.state.as_str())));
        }
        Ok(job)
    }

    /// Wait until this process's jobs and webhook deliveries (retries included) have ended; the
    /// CLI calls it before it exits, so a webhook is not cut short.
    pub async fn settle(&self) {
        self.tasks.close();
        self.tasks.wait().await;
        self.tasks.reopen();
    }

    /// Stop this process's jobs, recording them as interrupted, and wait for their tasks.
    pub async fn shutdown(&self) {
        self.shutting_down.store(true, Ordering::SeqCst);
        if let Some(webhooks) = &self.webhooks {
            webhooks.stop();
        }
        self.queued.notify_waiters();
        for token in self.local.lock().unwrap_or_else(PoisonError::into_inner).values() {
            token.cancel();
        }
        self.tasks.close();
        self.tasks.wait().await;
    }
}

/// What running a spec in this process gave.
#[expect(clippy::large_enum_variant, reason = "one per job, moved once")]
enum Ran {
    Output(JobOutput),
    /// A site crawl now spread over the workers; it ends wherever its last page is settled.
    Spread,
    /// The job's claim was lost (reclaimed as interrupted, or handed over): stopped here, its
    /// end is not this process's to record.
    NotOurs,
}

/// Cancels a job its front end stopped waiting for (the client cancelled the request).
struct CancelOnDrop {
    jobs: Arc<Jobs>,
    job_id: Option<String>,
}

impl CancelOnDrop {
    fn disarm(mut self) {
        self.job_id = None;
    }
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        let (Some(job_id), Ok(runtime)) = (self.job_id.take(), tokio::runtime::Handle::try_current()) else {
            return;
        };
        let jobs = Arc::clone(&self.jobs);
        runtime.spawn(async move {
            if let Err(e) = jobs.cancel(&job_id).await {
                warn!(%job_id, error = %e, "could not cancel the job its client gave up on");
            }
        });
    }
}

/// A finished job's record as its front end's answer.
fn remote_outcome(spec: &JobSpec, record: JobRecord) -> Result<JobOutput> {
    let error = || record.error.clone().unwrap_or_else(|| record.state.as_str().to_owned());
    match record.state {
        JobState::Succeeded => {
            let value = record.result.clone().ok_or_else(|| Error::Internal("a succeeded job has no result".into()))?;
            spec.decode_output(value).map_err(|e| Error::Internal(format!("the job's result cannot be read: {e}")))
        }
        JobState::Cancelled => Err(Error::Cancelled),
        JobState::Interrupted => Err(Error::unavailable(error())),
        JobState::Failed | JobState::Queued | JobState::Running => Err(Error::bad_input(error())),
    }
}

/// The stored spec: the [`JobSpec`] with the job's webhook URL beside its fields (specs stored
/// before webhooks existed simply have none).
fn encode(spec: &JobSpec, webhook: Option<&str>) -> Result<serde_json::Value> {
    let mut value =
        serde_json::to_value(spec).map_err(|e| Error::Internal(format!("a job spec could not be serialized: {e}")))?;
    if let (Some(url), Some(object)) = (webhook, value.as_object_mut()) {
        object.insert(spec::WEBHOOK_FIELD.to_owned(), url.into());
    }
    Ok(value)
}

fn unknown(job_id: &str) -> Error {
    Error::NotFound(format!("no crawl job '{job_id}' exists; list_crawl_jobs lists the job ids"))
}

#[cfg(test)]
mod tests;
