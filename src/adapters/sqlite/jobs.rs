//! `JobStore` on SQLite: one row per crawl job in `crawl_jobs`.

use std::time::Duration;

use async_trait::async_trait;
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use super::{SqliteStore, classify};
use crate::domain::{JobProgress, JobRecord, JobState};
use crate::ports::{JobEnd, JobStore, StoreError};

const COLUMNS: &str = "job_id, tool, target, state, pages_done, pages_queued, pages_failed, chunks_stored, error, \
                       result, cancel_requested, created_at, updated_at";

fn counts(progress: &JobProgress) -> [i64; 4] {
    [progress.pages_done, progress.pages_queued, progress.pages_failed, progress.chunks_stored]
        .map(|n| i64::try_from(n).unwrap_or(i64::MAX))
}

fn to_record(row: &SqliteRow) -> Result<JobRecord, sqlx::Error> {
    let count = |name: &str| row.try_get::<i64, _>(name).map(|n| u64::try_from(n).unwrap_or_default());
    Ok(JobRecord {
        job_id: row.try_get("job_id")?,
        tool: row.try_get("tool")?,
        target: row.try_get("target")?,
        state: JobState::parse(row.try_get("state")?),
        progress: JobProgress {
            pages_done: count("pages_done")?,
            pages_queued: count("pages_queued")?,
            pages_failed: count("pages_failed")?,
            chunks_stored: count("chunks_stored")?,
        },
        error: row.try_get("error")?,
        result: row.try_get("result")?,
        cancel_requested: row.try_get("cancel_requested")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

#[async_trait]
impl JobStore for SqliteStore {
    async fn insert_job(&self, job_id: &str, tool: &str, target: &str) -> Result<(), StoreError> {
        sqlx::query("insert into crawl_jobs (job_id, tool, target, state) values (?1, ?2, ?3, 'running')")
            .bind(job_id)
            .bind(tool)
            .bind(target)
            .execute(&self.pool)
            .await
            .map_err(classify)
            .map(|_| ())
    }

    async fn heartbeat_job(&self, job_id: &str, progress: &JobProgress) -> Result<bool, StoreError> {
        let [done, queued, failed, chunks] = counts(progress);
        let cancel: Option<bool> = sqlx::query_scalar(
            "update crawl_jobs set pages_done = ?2, pages_queued = ?3, pages_failed = ?4, chunks_stored = ?5,
                 updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
             where job_id = ?1 returning cancel_requested",
        )
        .bind(job_id)
        .bind(done)
        .bind(queued)
        .bind(failed)
        .bind(chunks)
        .fetch_optional(&self.pool)
        .await
        .map_err(classify)?;
        Ok(cancel.unwrap_or(false))
    }

    async fn finish_job(&self, job_id: &str, end: JobEnd<'_>) -> Result<(), StoreError> {
        let [done, queued, failed, chunks] = counts(end.progress);
        sqlx::query(
            "update crawl_jobs set state = ?2, pages_done = ?3, pages_queued = ?4, pages_failed = ?5,
                 chunks_stored = ?6, error = ?7, result = ?8, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
             where job_id = ?1",
        )
        .bind(job_id)
        .bind(end.state.as_str())
        .bind(done)
        .bind(queued)
        .bind(failed)
        .bind(chunks)
        .bind(end.error)
        .bind(end.result)
        .execute(&self.pool)
        .await
        .map_err(classify)
        .map(|_| ())
    }

    async fn get_job(&self, job_id: &str) -> Result<Option<JobRecord>, StoreError> {
        let sql = format!("select {COLUMNS} from crawl_jobs where job_id = ?1");
        let row =
            sqlx::query(sqlx::AssertSqlSafe(sql)).bind(job_id).fetch_optional(&self.pool).await.map_err(classify)?;
        row.as_ref().map(to_record).transpose().map_err(classify)
    }

    async fn list_jobs(&self, limit: usize) -> Result<Vec<JobRecord>, StoreError> {
        let sql = format!("select {COLUMNS} from crawl_jobs order by created_at desc limit ?1");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(i64::try_from(limit).unwrap_or(i64::MAX))
            .fetch_all(&self.pool)
            .await
            .map_err(classify)?;
        rows.iter().map(to_record).collect::<Result<_, _>>().map_err(classify)
    }

    async fn request_job_cancel(&self, job_id: &str) -> Result<bool, StoreError> {
        let updated =
            sqlx::query("update crawl_jobs set cancel_requested = true where job_id = ?1 and state = 'running'")
                .bind(job_id)
                .execute(&self.pool)
                .await
                .map_err(classify)?;
        Ok(updated.rows_affected() > 0)
    }

    async fn interrupt_stale_jobs(&self, stale_after: Duration) -> Result<u64, StoreError> {
        let updated = sqlx::query(
            "update crawl_jobs set state = 'interrupted',
                 error = 'the process running this job stopped (restart or crash) before it finished'
             where state = 'running' and updated_at < strftime('%Y-%m-%dT%H:%M:%fZ', 'now', ?1)",
        )
        .bind(format!("-{:.3} seconds", stale_after.as_secs_f64()))
        .execute(&self.pool)
        .await
        .map_err(classify)?;
        Ok(updated.rows_affected())
    }
}
