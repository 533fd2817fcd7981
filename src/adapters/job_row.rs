//! A `crawl_jobs` row as both stores read and write it, so their `JobStore` adapters share one
//! mapping (the SQL differs only in placeholders and clock functions).

use chrono::{DateTime, Utc};
use sqlx::types::Json;

use crate::domain::{JobProgress, JobRecord, JobState};

pub(crate) const COLUMNS: &str = "job_id, tool, target, state, pages_done, pages_queued, pages_failed, \
                                  chunks_stored, error, result, cancel_requested, created_at, updated_at";

#[derive(sqlx::FromRow)]
pub(crate) struct JobRow {
    job_id: String,
    tool: String,
    target: String,
    state: String,
    pages_done: i64,
    pages_queued: i64,
    pages_failed: i64,
    chunks_stored: i64,
    error: Option<String>,
    result: Option<Json<serde_json::Value>>,
    cancel_requested: bool,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<JobRow> for JobRecord {
    fn from(row: JobRow) -> Self {
        let count = |n: i64| u64::try_from(n).unwrap_or_default();
        Self {
            job_id: row.job_id,
            tool: row.tool,
            target: row.target,
            state: JobState::parse(&row.state),
            progress: JobProgress {
                pages_done: count(row.pages_done),
                pages_queued: count(row.pages_queued),
                pages_failed: count(row.pages_failed),
                chunks_stored: count(row.chunks_stored),
            },
            error: row.error,
            result: row.result.map(|Json(value)| value),
            cancel_requested: row.cancel_requested,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

/// The counters as SQL integers: pages done, queued, failed; chunks stored.
pub(crate) fn counts(progress: &JobProgress) -> [i64; 4] {
    [progress.pages_done, progress.pages_queued, progress.pages_failed, progress.chunks_stored]
        .map(|n| i64::try_from(n).unwrap_or(i64::MAX))
}
