//! The job queue: long operations are rows of data (a serialized spec), so the process that
//! accepts a job need not be the one that runs it. A worker claims a job with a lease and keeps
//! it alive with heartbeats; a job whose lease ran out belongs to a process that died.
//!
//! The first implementation is the store's own `crawl_jobs` table (every store implements this
//! port), so every replica sees the same jobs with no extra service.

use std::time::Duration;

use async_trait::async_trait;

use super::StoreError;
use crate::domain::{JobProgress, JobRecord, JobState};

/// Who holds a claim, and for how long it lasts without a heartbeat.
#[derive(Debug, Clone, Copy)]
pub struct Lease<'a> {
    /// The claiming process (unique per process).
    pub worker: &'a str,
    pub duration: Duration,
}

/// A job as submitted.
#[derive(Debug, Clone, Copy)]
pub struct NewJob<'a> {
    pub job_id: &'a str,
    /// The tool that asked for it (`smart_crawl_url`, ...).
    pub tool: &'a str,
    /// What it works on (a URL, or a summary of several).
    pub target: &'a str,
    /// The serialized job spec a worker runs.
    pub spec: &'a serde_json::Value,
    /// Claim the job for this worker in the same write (the submitting process runs it);
    /// `None` queues it for any worker.
    pub claim: Option<Lease<'a>>,
    /// Who submitted it (an authenticated caller's id); `None` for stdio, the CLI and open HTTP.
    pub owner: Option<&'a str>,
}

/// A job a worker claimed.
#[derive(Debug, Clone)]
pub struct ClaimedJob {
    pub job_id: String,
    pub tool: String,
    pub spec: serde_json::Value,
}

/// What a heartbeat learned.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Beat {
    /// Someone asked the job to stop.
    pub cancel_requested: bool,
    /// The job is no longer this worker's (its lease expired and it was reclaimed): stop.
    pub lease_lost: bool,
}

/// A job the queue ended itself, with no process running it (a queued job cancelled, a running
/// one whose lease ran out): whoever asked learns what it was, to send its webhook.
#[derive(Debug, Clone)]
pub struct EndedJob {
    pub job_id: String,
    pub tool: String,
    pub target: String,
    /// Its stored spec (with its webhook URL, if any).
    pub spec: serde_json::Value,
}

/// What [`JobQueue::request_cancel`] did.
#[derive(Debug, Clone)]
pub enum CancelRequest {
    /// No queued or running job has this id.
    NotFound,
    /// A running job was flagged; its worker stops it.
    Flagged,
    /// A queued job was cancelled at once.
    Cancelled(EndedJob),
}

/// How a job ended, for [`JobQueue::finish`].
#[derive(Debug, Clone, Copy)]
pub struct JobEnd<'a> {
    pub state: JobState,
    pub progress: &'a JobProgress,
    pub error: Option<&'a str>,
    pub result: Option<&'a serde_json::Value>,
}

#[async_trait]
pub trait JobQueue: Send + Sync + std::fmt::Debug {
    /// Record a new job, queued or (with `job.claim`) already running for its submitter.
    ///
    /// # Errors
    /// [`StoreError`] on database failure; nothing is recorded then.
    async fn enqueue(&self, job: NewJob<'_>) -> Result<(), StoreError>;
    /// Claim the oldest queued job for `lease.worker`, if any.
    ///
    /// # Errors
    /// [`StoreError`] on database failure.
    async fn claim(&self, lease: Lease<'_>) -> Result<Option<ClaimedJob>, StoreError>;
    /// Write a running job's progress and extend its lease.
    ///
    /// # Errors
    /// [`StoreError`] on database failure.
    async fn heartbeat(&self, job_id: &str, lease: Lease<'_>, progress: &JobProgress) -> Result<Beat, StoreError>;
    /// Record how a job ended; answers whether this call ended it (it was still queued or
    /// running, not already ended, e.g. reclaimed as interrupted after its lease ran out).
    ///
    /// # Errors
    /// [`StoreError`] on database failure.
    async fn finish(&self, job_id: &str, end: JobEnd<'_>) -> Result<bool, StoreError>;
    /// Ask a job to stop: a queued job is cancelled at once, a running one is flagged for its
    /// worker.
    ///
    /// # Errors
    /// [`StoreError`] on database failure.
    async fn request_cancel(&self, job_id: &str) -> Result<CancelRequest, StoreError>;
    /// Move a running job's claim from one worker to another — a crawl that goes on across the
    /// cluster is heartbeated by whichever worker works on it under a shared worker name.
    /// Answers whether the job was `from_worker`'s running job (and so was handed over).
    ///
    /// # Errors
    /// [`StoreError`] on database failure.
    async fn hand_over(&self, job_id: &str, from_worker: &str, to: Lease<'_>) -> Result<bool, StoreError>;
    /// Mark running jobs whose lease expired as interrupted; answers them (each to exactly one
    /// caller). (A crawl is not re-run behind its client's back: its client was told it runs,
    /// and may start it again.)
    ///
    /// # Errors
    /// [`StoreError`] on database failure.
    async fn reclaim_expired(&self) -> Result<Vec<EndedJob>, StoreError>;
    /// # Errors
    /// [`StoreError`] on database failure.
    async fn get(&self, job_id: &str) -> Result<Option<JobRecord>, StoreError>;
    /// A job's stored spec (what any worker needs to take part in it).
    ///
    /// # Errors
    /// [`StoreError`] on database failure.
    async fn spec(&self, job_id: &str) -> Result<Option<serde_json::Value>, StoreError>;
    /// The newest jobs first.
    ///
    /// # Errors
    /// [`StoreError`] on database failure.
    async fn list(&self, limit: usize) -> Result<Vec<JobRecord>, StoreError>;
    /// How many of `owner`'s jobs are queued or running (the per-caller crawl cap).
    ///
    /// # Errors
    /// [`StoreError`] on database failure.
    async fn active_jobs_of(&self, owner: &str) -> Result<u64, StoreError>;
}
