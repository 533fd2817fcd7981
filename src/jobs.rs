//! Background jobs: a long crawl runs as a task whose state lives in the store, so it outlives the
//! MCP request that started it (clients give up after about 60 s) and any replica can report or
//! cancel it.
//!
//! # Architecture
//! [`Jobs::start`] records the job, then spawns the work next to a heartbeat loop that writes the
//! live counters every `heartbeat` and reads back `cancel_requested` (a cancel sent to another
//! replica). A running job whose heartbeat is older than three intervals belongs to a process that
//! died; [`Jobs::interrupt_stale`] marks it `interrupted`. A graceful shutdown marks this process's
//! jobs `interrupted` itself, so no job is left "running".

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use serde::Serialize;
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{Instrument, info, info_span, warn};

use crate::domain::{JobProgress, JobRecord, JobState};
use crate::error::{Error, Result};
use crate::ports::{JobEnd, JobStore};
use crate::progress::ProgressSink;

/// How often a running job writes its progress and checks for a cancel.
pub const DEFAULT_HEARTBEAT: Duration = Duration::from_secs(5);
/// How long a crawl tool waits for its job before answering with the job id instead.
pub const DEFAULT_FOREGROUND_WAIT: Duration = Duration::from_secs(45);
/// Most jobs `list_crawl_jobs` returns.
pub const LIST_LIMIT: usize = 50;

#[derive(Debug, Clone, Copy)]
pub struct JobConfig {
    pub heartbeat: Duration,
    pub foreground_wait: Duration,
}

impl Default for JobConfig {
    fn default() -> Self {
        Self { heartbeat: DEFAULT_HEARTBEAT, foreground_wait: DEFAULT_FOREGROUND_WAIT }
    }
}

impl JobConfig {
    /// A running job silent for this long is considered dead.
    pub fn stale_after(&self) -> Duration {
        self.heartbeat * 3
    }
}

/// The job service.
#[derive(Debug)]
pub struct Jobs {
    store: Arc<dyn JobStore>,
    config: JobConfig,
    /// Jobs this process runs, by id.
    local: Mutex<HashMap<String, CancellationToken>>,
    tasks: TaskTracker,
    shutting_down: AtomicBool,
}

/// Progress of a running job: counters the heartbeat writes, optionally forwarded to the client
/// that is still waiting in the foreground.
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

/// A started job: its id, live progress, and its outcome once done.
#[derive(Debug)]
pub struct JobHandle<T> {
    pub job_id: String,
    pub sink: Arc<JobSink>,
    token: CancellationToken,
    outcome: oneshot::Receiver<Result<T, Error>>,
}

/// What waiting in the foreground gave.
#[derive(Debug)]
pub enum Waited<T> {
    Finished(Result<T>),
    /// Still running after the wait; it goes on as a background job.
    StillRunning(JobProgress),
}

impl<T> JobHandle<T> {
    /// Wait up to `limit` for the outcome. If the caller's future is dropped meanwhile (client
    /// cancelled the request), the job is cancelled too.
    pub async fn wait(mut self, limit: Duration, progress: Arc<dyn ProgressSink>) -> Waited<T> {
        self.sink.forward_to(Some(progress));
        let guard = self.token.clone().drop_guard();
        let waited = match tokio::time::timeout(limit, &mut self.outcome).await {
            Ok(Ok(outcome)) => Waited::Finished(outcome),
            Ok(Err(_)) => Waited::Finished(Err(Error::Internal("the job task ended without an outcome".into()))),
            Err(_) => Waited::StillRunning(self.sink.snapshot()),
        };
        guard.disarm();
        self.sink.forward_to(None);
        waited
    }
}

impl Jobs {
    pub fn new(store: Arc<dyn JobStore>, config: JobConfig) -> Self {
        Self {
            store,
            config,
            local: Mutex::new(HashMap::new()),
            tasks: TaskTracker::new(),
            shutting_down: AtomicBool::new(false),
        }
    }

    pub fn config(&self) -> JobConfig {
        self.config
    }

    /// Record a job and run `work` in the background.
    ///
    /// # Errors
    /// `Unavailable` when the job cannot be recorded (database down); nothing runs then.
    pub async fn start<T, F, Fut>(self: &Arc<Self>, tool: &str, target: &str, work: F) -> Result<JobHandle<T>>
    where
        T: Serialize + Send + 'static,
        F: FnOnce(Arc<JobSink>) -> Fut,
        Fut: Future<Output = Result<T>> + Send + 'static,
    {
        if self.shutting_down.load(Ordering::SeqCst) {
            return Err(Error::unavailable("the server is shutting down; start the crawl on another replica"));
        }
        let job_id = uuid::Uuid::new_v4().to_string();
        self.store.insert_job(&job_id, tool, target).await?;
        let sink = Arc::new(JobSink::default());
        let token = CancellationToken::new();
        self.local.lock().unwrap_or_else(PoisonError::into_inner).insert(job_id.clone(), token.clone());
        let (tx, outcome) = oneshot::channel();
        let work = work(Arc::clone(&sink));
        let span = info_span!("job", job_id = %job_id, tool);
        let this = Arc::clone(self);
        let (id, job_sink, job_token) = (job_id.clone(), Arc::clone(&sink), token.clone());
        self.tasks.spawn(
            async move {
                info!("job started");
                metrics::gauge!("crawlrag_jobs_running").increment(1.0);
                let ran = tokio::select! {
                    result = work => Some(result),
                    () = job_token.cancelled() => None,
                    () = this.heartbeat(&id, &job_sink, &job_token) => None,
                };
                let outcome = this.finish(&id, &job_sink, ran).await;
                metrics::gauge!("crawlrag_jobs_running").decrement(1.0);
                this.local.lock().unwrap_or_else(PoisonError::into_inner).remove(&id);
                let _ = tx.send(outcome);
            }
            .instrument(span),
        );
        Ok(JobHandle { job_id, sink, token, outcome })
    }

    /// Write progress every interval; cancel the job when the store says a cancel was requested.
    /// Never returns on its own.
    async fn heartbeat(&self, job_id: &str, sink: &JobSink, token: &CancellationToken) {
        loop {
            tokio::time::sleep(self.config.heartbeat).await;
            match self.store.heartbeat_job(job_id, &sink.snapshot()).await {
                Ok(true) => token.cancel(),
                Ok(false) => {}
                // The job goes on; a missed heartbeat only risks a stale reading.
                Err(e) => warn!(error = %e, "job heartbeat failed"),
            }
        }
    }

    async fn finish<T: Serialize>(&self, job_id: &str, sink: &JobSink, ran: Option<Result<T>>) -> Result<T> {
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
        if let Err(e) = self.store.finish_job(job_id, end).await {
            warn!(error = %e, "could not record the job's end; it will read as interrupted");
        }
        info!(state = state.as_str(), pages = progress.pages_done, "job ended");
        metrics::counter!("crawlrag_jobs_total", "state" => state.as_str()).increment(1);
        outcome
    }

    /// Mark jobs whose process stopped heartbeating as interrupted.
    ///
    /// # Errors
    /// `Unavailable` when the database fails.
    pub async fn interrupt_stale(&self) -> Result<u64> {
        Ok(self.store.interrupt_stale_jobs(self.config.stale_after()).await?)
    }

    /// One job by id.
    ///
    /// # Errors
    /// `NotFound` for an unknown id; `Unavailable` when the database fails.
    pub async fn get(&self, job_id: &str) -> Result<JobRecord> {
        self.interrupt_stale().await?;
        self.store.get_job(job_id.trim()).await?.ok_or_else(|| unknown(job_id))
    }

    /// The newest jobs first.
    ///
    /// # Errors
    /// `Unavailable` when the database fails.
    pub async fn list(&self, limit: usize) -> Result<Vec<JobRecord>> {
        self.interrupt_stale().await?;
        Ok(self.store.list_jobs(limit.clamp(1, LIST_LIMIT)).await?)
    }

    /// Cancel a running job, here or (through the store) on whichever replica runs it.
    ///
    /// # Errors
    /// `NotFound` for an unknown id, `BadInput` for a job that already ended.
    pub async fn cancel(&self, job_id: &str) -> Result<JobRecord> {
        let job_id = job_id.trim();
        let local = self.local.lock().unwrap_or_else(PoisonError::into_inner).get(job_id).cloned();
        let requested = self.store.request_job_cancel(job_id).await?;
        if let Some(token) = local {
            token.cancel();
        }
        let job = self.get(job_id).await?;
        if !requested && job.state.is_finished() {
            return Err(Error::bad_input(format!("job {job_id} already ended: {}", job.state.as_str())));
        }
        Ok(job)
    }

    /// Stop this process's jobs, recording them as interrupted, and wait for their tasks.
    pub async fn shutdown(&self) {
        self.shutting_down.store(true, Ordering::SeqCst);
        for token in self.local.lock().unwrap_or_else(PoisonError::into_inner).values() {
            token.cancel();
        }
        self.tasks.close();
        self.tasks.wait().await;
    }
}

fn unknown(job_id: &str) -> Error {
    Error::NotFound(format!("no crawl job '{job_id}' exists; list_crawl_jobs lists the job ids"))
}
