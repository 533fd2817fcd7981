//! `JobQueue` on Postgres: the shared body (`adapters/sql_body/job_queue.rs`) with this dialect's SQL.
//! Claims lock the row they take and skip rows other workers are taking (`for update skip
//! locked`), so concurrent workers never claim one job twice.

use super::{PgStore, classify};
use crate::adapters::sql_body::job_queue::{impl_job_queue, job_columns};

mod sql {
    use super::job_columns;

    // language=PostgreSQL
    pub(super) const ENQUEUE: &str =
        "insert into crawl_jobs (job_id, tool, target, state, spec, worker, lease_until, owner)
         values ($1, $2, $3, $4, $5, $6, now() + make_interval(secs => $7), $8)";
    // language=PostgreSQL
    pub(super) const CLAIM: &str = "update crawl_jobs
         set state = 'running', worker = $1, lease_until = now() + make_interval(secs => $2), updated_at = now()
         where job_id = (select job_id from crawl_jobs where state = 'queued' order by created_at limit 1
                         for update skip locked)
         returning job_id, tool, spec";
    // language=PostgreSQL
    pub(super) const HEARTBEAT: &str = "update crawl_jobs
         set pages_done = $3, pages_queued = $4, pages_failed = $5, chunks_stored = $6, updated_at = now(),
             lease_until = now() + make_interval(secs => $7)
         where job_id = $1 and state = 'running' and worker is not distinct from $2
         returning cancel_requested";
    // language=PostgreSQL
    pub(super) const FINISH: &str = "update crawl_jobs
         set state = $2, pages_done = $3, pages_queued = $4, pages_failed = $5, chunks_stored = $6, error = $7,
             result = $8, lease_until = null, updated_at = now()
         where job_id = $1 and state in ('queued', 'running')";
    // language=PostgreSQL
    pub(super) const REQUEST_CANCEL: &str = "update crawl_jobs
         set cancel_requested = true,
             error = case when state = 'queued' then 'cancelled before it started' else error end,
             state = case when state = 'queued' then 'cancelled' else state end,
             updated_at = case when state = 'queued' then now() else updated_at end
         where job_id = $1 and state in ('queued', 'running')
         returning job_id, tool, target, state, spec";
    // language=PostgreSQL
    pub(super) const HAND_OVER: &str = "update crawl_jobs
         set worker = $3, lease_until = now() + make_interval(secs => $4), updated_at = now()
         where job_id = $1 and worker = $2 and state = 'running'";
    // language=PostgreSQL
    pub(super) const RECLAIM_EXPIRED: &str =
        "update crawl_jobs set state = 'interrupted', error = $1, lease_until = null
         where state = 'running' and coalesce(lease_until, updated_at) < now()
         returning job_id, tool, target, state, spec";
    // language=PostgreSQL
    pub(super) const SPEC: &str = "select spec from crawl_jobs where job_id = $1";
    pub(super) const GET: &str = concat!("select ", job_columns!(), " from crawl_jobs where job_id = $1");
    // language=PostgreSQL
    pub(super) const LIST: &str =
        concat!("select ", job_columns!(), " from crawl_jobs order by created_at desc limit $1");
    // language=PostgreSQL
    pub(super) const ACTIVE_OF: &str =
        "select count(*) from crawl_jobs where owner = $1 and state in ('queued', 'running')";
}

impl_job_queue!(PgStore, sql, classify);
