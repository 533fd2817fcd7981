//! The `JobQueue` port on the `crawl_jobs` table, once for both SQL stores (see `sql_body`).

use chrono::{DateTime, Utc};
use sqlx::types::Json;

use crate::domain::{JobProgress, JobRecord, JobState};

/// The columns every job read selects, in [`JobRow`]'s order (a macro, for `concat!`).
macro_rules! job_columns {
    () => {
        "job_id, tool, target, state, pages_done, pages_queued, pages_failed, chunks_stored, error, result, \
         cancel_requested, created_at, updated_at"
    };
}
pub(crate) use job_columns;

/// The error recorded on a job whose worker stopped heartbeating.
pub(crate) const EXPIRED_ERROR: &str = "the process running this job stopped (restart or crash) before it finished";

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

/// A job the queue ended itself (`returning job_id, tool, target, state, spec`; `state` after
/// the update).
#[derive(sqlx::FromRow)]
pub(crate) struct EndedRow {
    job_id: String,
    tool: String,
    target: String,
    pub(crate) state: String,
    spec: Option<Json<serde_json::Value>>,
}

impl From<EndedRow> for crate::ports::EndedJob {
    fn from(row: EndedRow) -> Self {
        Self {
            job_id: row.job_id,
            tool: row.tool,
            target: row.target,
            spec: row.spec.map_or(serde_json::Value::Null, |Json(value)| value),
        }
    }
}

/// The counters as SQL integers: pages done, queued, failed; chunks stored.
pub(crate) fn counts(progress: &JobProgress) -> [i64; 4] {
    [progress.pages_done, progress.pages_queued, progress.pages_failed, progress.chunks_stored]
        .map(|n| i64::try_from(n).unwrap_or(i64::MAX))
}

/// `impl JobQueue for $store` over its `pool` field, with `$sql` naming the module of SQL
/// constants (`ENQUEUE`, `CLAIM`, `HEARTBEAT`, `FINISH`, `REQUEST_CANCEL`, `HAND_OVER`, `RECLAIM_EXPIRED`,
/// `GET`, `SPEC`, `LIST`, `ACTIVE_OF`; the cancel and the reclaim return [`EndedRow`]s) and `$classify` the store's `sqlx::Error -> StoreError` mapping. Every
/// statement binds the same Rust types in the same order on both dialects.
macro_rules! impl_job_queue {
    ($store:ty, $sql:path, $classify:path) => {
        #[async_trait::async_trait]
        impl $crate::ports::JobQueue for $store {
            async fn enqueue(&self, job: $crate::ports::NewJob<'_>) -> Result<(), $crate::ports::StoreError> {
                use $sql as sql;
                let state = if job.claim.is_some() { "running" } else { "queued" };
                sqlx::query(sql::ENQUEUE)
                    .bind(job.job_id)
                    .bind(job.tool)
                    .bind(job.target)
                    .bind(state)
                    .bind(sqlx::types::Json(job.spec))
                    .bind(job.claim.map(|lease| lease.worker))
                    .bind(job.claim.map(|lease| lease.duration.as_secs_f64()))
                    .bind(job.owner)
                    .execute(&self.pool)
                    .await
                    .map_err($classify)
                    .map(|_| ())
            }

            async fn claim(
                &self,
                lease: $crate::ports::Lease<'_>,
            ) -> Result<Option<$crate::ports::ClaimedJob>, $crate::ports::StoreError> {
                use $sql as sql;
                let row: Option<(String, String, Option<sqlx::types::Json<serde_json::Value>>)> =
                    sqlx::query_as(sql::CLAIM)
                        .bind(lease.worker)
                        .bind(lease.duration.as_secs_f64())
                        .fetch_optional(&self.pool)
                        .await
                        .map_err($classify)?;
                Ok(row.map(|(job_id, tool, spec)| $crate::ports::ClaimedJob {
                    job_id,
                    tool,
                    spec: spec.map_or(serde_json::Value::Null, |sqlx::types::Json(value)| value),
                }))
            }

            async fn heartbeat(
                &self,
                job_id: &str,
                lease: $crate::ports::Lease<'_>,
                progress: &$crate::domain::JobProgress,
            ) -> Result<$crate::ports::Beat, $crate::ports::StoreError> {
                use $sql as sql;
                let [done, queued, failed, chunks] = $crate::adapters::sql_body::job_queue::counts(progress);
                let cancel: Option<bool> = sqlx::query_scalar(sql::HEARTBEAT)
                    .bind(job_id)
                    .bind(lease.worker)
                    .bind(done)
                    .bind(queued)
                    .bind(failed)
                    .bind(chunks)
                    .bind(lease.duration.as_secs_f64())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err($classify)?;
                Ok(match cancel {
                    Some(cancel_requested) => $crate::ports::Beat { cancel_requested, lease_lost: false },
                    None => $crate::ports::Beat { cancel_requested: false, lease_lost: true },
                })
            }

            async fn finish(
                &self,
                job_id: &str,
                end: $crate::ports::JobEnd<'_>,
            ) -> Result<bool, $crate::ports::StoreError> {
                use $sql as sql;
                let [done, queued, failed, chunks] = $crate::adapters::sql_body::job_queue::counts(end.progress);
                sqlx::query(sql::FINISH)
                    .bind(job_id)
                    .bind(end.state.as_str())
                    .bind(done)
                    .bind(queued)
                    .bind(failed)
                    .bind(chunks)
                    .bind(end.error)
                    .bind(end.result.map(sqlx::types::Json))
                    .execute(&self.pool)
                    .await
                    .map_err($classify)
                    .map(|done| done.rows_affected() > 0)
            }

            async fn request_cancel(
                &self,
                job_id: &str,
            ) -> Result<$crate::ports::CancelRequest, $crate::ports::StoreError> {
                use $sql as sql;
                let row: Option<$crate::adapters::sql_body::job_queue::EndedRow> = sqlx::query_as(sql::REQUEST_CANCEL)
                    .bind(job_id)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err($classify)?;
                Ok(match row {
                    None => $crate::ports::CancelRequest::NotFound,
                    Some(row) if row.state == "cancelled" => $crate::ports::CancelRequest::Cancelled(row.into()),
                    Some(_) => $crate::ports::CancelRequest::Flagged,
                })
            }

            async fn hand_over(
                &self,
                job_id: &str,
                from_worker: &str,
                to: $crate::ports::Lease<'_>,
            ) -> Result<bool, $crate::ports::StoreError> {
                use $sql as sql;
                sqlx::query(sql::HAND_OVER)
                    .bind(job_id)
                    .bind(from_worker)
                    .bind(to.worker)
                    .bind(to.duration.as_secs_f64())
                    .execute(&self.pool)
                    .await
                    .map_err($classify)
                    .map(|done| done.rows_affected() > 0)
            }

            async fn reclaim_expired(&self) -> Result<Vec<$crate::ports::EndedJob>, $crate::ports::StoreError> {
                use $sql as sql;
                let rows: Vec<$crate::adapters::sql_body::job_queue::EndedRow> = sqlx::query_as(sql::RECLAIM_EXPIRED)
                    .bind($crate::adapters::sql_body::job_queue::EXPIRED_ERROR)
                    .fetch_all(&self.pool)
                    .await
                    .map_err($classify)?;
                Ok(rows.into_iter().map(Into::into).collect())
            }

            async fn get(&self, job_id: &str) -> Result<Option<$crate::domain::JobRecord>, $crate::ports::StoreError> {
                use $sql as sql;
                let row: Option<$crate::adapters::sql_body::job_queue::JobRow> =
                    sqlx::query_as(sql::GET).bind(job_id).fetch_optional(&self.pool).await.map_err($classify)?;
                Ok(row.map(Into::into))
            }

            async fn spec(&self, job_id: &str) -> Result<Option<serde_json::Value>, $crate::ports::StoreError> {
                use $sql as sql;
                let spec: Option<Option<sqlx::types::Json<serde_json::Value>>> =
                    sqlx::query_scalar(sql::SPEC).bind(job_id).fetch_optional(&self.pool).await.map_err($classify)?;
                Ok(spec.flatten().map(|sqlx::types::Json(value)| value))
            }

            async fn list(&self, limit: usize) -> Result<Vec<$crate::domain::JobRecord>, $crate::ports::StoreError> {
                use $sql as sql;
                let rows: Vec<$crate::adapters::sql_body::job_queue::JobRow> = sqlx::query_as(sql::LIST)
                    .bind(i64::try_from(limit).unwrap_or(i64::MAX))
                    .fetch_all(&self.pool)
                    .await
                    .map_err($classify)?;
                Ok(rows.into_iter().map(Into::into).collect())
            }

            async fn active_jobs_of(&self, owner: &str) -> Result<u64, $crate::ports::StoreError> {
                use $sql as sql;
                let count: i64 =
                    sqlx::query_scalar(sql::ACTIVE_OF).bind(owner).fetch_one(&self.pool).await.map_err($classify)?;
                Ok(u64::try_from(count).unwrap_or_default())
            }
        }
    };
}

pub(crate) use impl_job_queue;
