//! `JobStore` on SQLite: one row per crawl job in `crawl_jobs`.

use std::time::Duration;

use async_trait::async_trait;

use super::{SqliteStore, classify};
use crate::adapters::job_row::{COLUMNS, JobRow, counts};
use crate::domain::{JobProgress, JobRecord};
use crate::ports::{JobEnd, JobStore, StoreError};

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
        .bind(end.result.map(sqlx::types::Json))
        .execute(&self.pool)
        .await
        .map_err(classify)
        .map(|_| ())
    }

    async fn get_job(&self, job_id: &str) -> Result<Option<JobRecord>, StoreError> {
        let sql = format!("select {COLUMNS} from crawl_jobs where job_id = ?1");
        let row: Option<JobRow> =
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(job_id).fetch_optional(&self.pool).await.map_err(classify)?;
        Ok(row.map(Into::into))
    }

    async fn list_jobs(&self, limit: usize) -> Result<Vec<JobRecord>, StoreError> {
        let sql = format!("select {COLUMNS} from crawl_jobs order by created_at desc limit ?1");
        let rows: Vec<JobRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(i64::try_from(limit).unwrap_or(i64::MAX))
            .fetch_all(&self.pool)
            .await
            .map_err(classify)?;
        Ok(rows.into_iter().map(Into::into).collect())
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
