//! The `WebhookLog` port on the `webhook_deliveries` table, once for both SQL stores (see
//! `sql_body`): every attempt is one row, read back per job in the order it was made.

use chrono::{DateTime, Utc};

use crate::ports::WebhookAttempt;

#[derive(sqlx::FromRow)]
pub(crate) struct AttemptRow {
    delivery_id: String,
    job_id: String,
    url: String,
    event: String,
    attempt: i64,
    status_code: Option<i64>,
    error: Option<String>,
    outcome: String,
    duration_ms: i64,
    attempted_at: DateTime<Utc>,
}

impl From<AttemptRow> for WebhookAttempt {
    fn from(row: AttemptRow) -> Self {
        Self {
            delivery_id: row.delivery_id,
            job_id: row.job_id,
            url: row.url,
            event: row.event,
            attempt: u32::try_from(row.attempt).unwrap_or_default(),
            status_code: row.status_code.and_then(|code| u16::try_from(code).ok()),
            error: row.error,
            outcome: row.outcome,
            duration_ms: u64::try_from(row.duration_ms).unwrap_or_default(),
            attempted_at: row.attempted_at,
        }
    }
}

/// `impl WebhookLog for $store` over its `pool` field, with `$sql` naming the module of SQL
/// constants (`RECORD_ATTEMPT`, `ATTEMPTS`) and `$classify` the store's error mapping.
macro_rules! impl_webhook_log {
    ($store:ty, $sql:path, $classify:path) => {
        #[async_trait::async_trait]
        impl $crate::ports::WebhookLog for $store {
            async fn record_attempt(
                &self,
                attempt: &$crate::ports::WebhookAttempt,
            ) -> Result<(), $crate::ports::StoreError> {
                use $sql as sql;
                sqlx::query(sql::RECORD_ATTEMPT)
                    .bind(&attempt.delivery_id)
                    .bind(&attempt.job_id)
                    .bind(&attempt.url)
                    .bind(&attempt.event)
                    .bind(i32::try_from(attempt.attempt).unwrap_or(i32::MAX))
                    .bind(attempt.status_code.map(i32::from))
                    .bind(attempt.error.as_deref())
                    .bind(&attempt.outcome)
                    .bind(i64::try_from(attempt.duration_ms).unwrap_or(i64::MAX))
                    .execute(&self.pool)
                    .await
                    .map_err($classify)
                    .map(|_| ())
            }

            async fn webhook_attempts(
                &self,
                job_id: &str,
            ) -> Result<Vec<$crate::ports::WebhookAttempt>, $crate::ports::StoreError> {
                use $sql as sql;
                let rows: Vec<$crate::adapters::sql_body::webhooks::AttemptRow> =
                    sqlx::query_as(sql::ATTEMPTS).bind(job_id).fetch_all(&self.pool).await.map_err($classify)?;
                Ok(rows.into_iter().map(Into::into).collect())
            }
        }
    };
}

pub(crate) use impl_webhook_log;
