//! The job tools (`get_crawl_job`, `list_crawl_jobs`, `cancel_crawl_job`) and the one envelope
//! every job-running tool answers in: completed with its result, or running with its progress.

use rmcp::schemars::{self, JsonSchema};
use serde::{Deserialize, Serialize};

use crate::domain::{JobProgress, JobRecord, JobState};
use crate::error::{Error, Result};
use crate::jobs::{JobAnswer, JobOutput};
use crate::ports::WebhookAttempt;

/// A job counter as a result field.
pub(crate) fn count(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

/// Whether a job tool's work is done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum JobStatus {
    /// The work finished; the result fields are final.
    Completed,
    /// The work goes on as a background job; the counts are its progress so far.
    Running,
}

/// The answer of a tool that runs a job: the envelope, with the tool's own result fields beside it.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct JobAnswerOutput<T> {
    pub success: bool,
    /// The job (get_crawl_job reports on it; cancel_crawl_job stops it).
    pub job_id: String,
    /// `completed`, or `running` when the work goes on in the background.
    pub status: JobStatus,
    /// What to do next while the job runs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(flatten)]
    pub result: T,
}

/// A tool's result fields, from its job's output or, while the job runs, from its progress.
pub(crate) trait JobResult: Sized {
    fn from_output(output: JobOutput) -> Option<Self>;
    fn running(target: &str, progress: &JobProgress) -> Self;
}

impl<T: JobResult> JobAnswerOutput<T> {
    /// # Errors
    /// `Internal` when the job produced another tool's output (a bug).
    pub(crate) fn from_answer(answer: JobAnswer, target: &str) -> Result<Self> {
        Ok(match answer {
            JobAnswer::Done { job_id, output } => Self {
                success: true,
                job_id,
                status: JobStatus::Completed,
                message: None,
                result: T::from_output(output)
                    .ok_or_else(|| Error::Internal("a job answered with another tool's result".into()))?,
            },
            JobAnswer::Running { job_id, progress, message } => Self {
                success: true,
                job_id,
                status: JobStatus::Running,
                message: Some(message),
                result: T::running(target, &progress),
            },
        })
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
pub(crate) struct JobIdParams {
    /// A job id returned by a crawl tool or list_crawl_jobs.
    pub job_id: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub(crate) struct ListCrawlJobsParams {
    /// Most jobs to list, newest first, 1-50. Default 20.
    #[serde(default)]
    pub limit: Option<usize>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct JobView {
    pub job_id: String,
    pub tool: String,
    pub target: String,
    /// `queued`, `running`, `succeeded`, `failed`, `cancelled`, or `interrupted` (the server
    /// running it stopped before it finished).
    pub state: JobState,
    pub pages_done: u64,
    pub pages_queued: u64,
    pub pages_failed: u64,
    pub chunks_stored: u64,
    pub error: Option<String>,
    /// The crawl tool's full result once the job succeeded.
    pub result: Option<serde_json::Value>,
    pub cancel_requested: bool,
    /// RFC 3339 timestamps.
    pub created_at: String,
    pub updated_at: String,
}

impl From<JobRecord> for JobView {
    fn from(j: JobRecord) -> Self {
        Self {
            job_id: j.job_id,
            tool: j.tool,
            target: j.target,
            state: j.state,
            pages_done: j.progress.pages_done,
            pages_queued: j.progress.pages_queued,
            pages_failed: j.progress.pages_failed,
            chunks_stored: j.progress.chunks_stored,
            error: j.error,
            result: j.result,
            cancel_requested: j.cancel_requested,
            created_at: j.created_at.to_rfc3339(),
            updated_at: j.updated_at.to_rfc3339(),
        }
    }
}

#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct CrawlJobOutput {
    pub success: bool,
    pub job: JobView,
    /// The job's webhook deliveries (none without a webhook_url).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub webhooks: Vec<WebhookView>,
}

/// One webhook delivery: its attempts share the delivery id.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct WebhookView {
    pub delivery_id: String,
    pub url: String,
    /// `job.completed`, `job.failed`, `job.cancelled` or `job.interrupted`.
    pub event: String,
    pub attempts: u32,
    /// The last attempt's outcome: `delivered`, `retrying`, `failed` or `refused`.
    pub outcome: String,
    /// The last attempt's HTTP status, when the receiver answered.
    pub status_code: Option<u16>,
    /// The last attempt's error, if any.
    pub error: Option<String>,
}

/// Attempts (oldest first) grouped into deliveries, each showing its last attempt.
fn deliveries(attempts: &[WebhookAttempt]) -> Vec<WebhookView> {
    let mut views: Vec<WebhookView> = Vec::new();
    for a in attempts {
        let view = WebhookView {
            delivery_id: a.delivery_id.clone(),
            url: a.url.clone(),
            event: a.event.clone(),
            attempts: a.attempt,
            outcome: a.outcome.clone(),
            status_code: a.status_code,
            error: a.error.clone(),
        };
        match views.iter_mut().find(|v| v.delivery_id == a.delivery_id) {
            Some(known) => *known = WebhookView { attempts: known.attempts.max(a.attempt), ..view },
            None => views.push(view),
        }
    }
    views
}

#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct ListCrawlJobsOutput {
    pub success: bool,
    pub count: usize,
    pub jobs: Vec<JobView>,
}

impl CrawlJobOutput {
    pub(crate) fn with_webhooks(self, attempts: &[WebhookAttempt]) -> Self {
        Self { webhooks: deliveries(attempts), ..self }
    }

    pub(crate) fn new(job: JobRecord) -> Self {
        Self { success: true, job: job.into(), webhooks: Vec::new() }
    }
}

impl ListCrawlJobsOutput {
    pub(crate) fn new(jobs: Vec<JobRecord>) -> Self {
        Self { success: true, count: jobs.len(), jobs: jobs.into_iter().map(Into::into).collect() }
    }
}
