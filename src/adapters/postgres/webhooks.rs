//! `WebhookLog` on PostgreSQL: the shared body (`adapters/sql_body/webhooks.rs`) with this dialect's SQL.

use super::{PgStore, classify};
use crate::adapters::sql_body::webhooks::impl_webhook_log;

mod sql {
    // language=PostgreSQL
    pub(super) const RECORD_ATTEMPT: &str = "insert into webhook_deliveries
         (delivery_id, job_id, url, event, attempt, status_code, error, outcome, duration_ms)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
    // language=PostgreSQL
    pub(super) const ATTEMPTS: &str = "select delivery_id, job_id, url, event, cast(attempt as bigint) as attempt,
         cast(status_code as bigint) as status_code, error, outcome, duration_ms, attempted_at
         from webhook_deliveries where job_id = $1 order by id";
}

impl_webhook_log!(PgStore, sql, classify);
