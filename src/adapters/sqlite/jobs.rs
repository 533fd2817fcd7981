//! `JobQueue` on SQLite: the shared body (`adapters/sql_body/job_queue.rs`) with this dialect's SQL.
//! SQLite serialises writers, so a claim's `update ... where job_id = (select ...)` cannot race
//! another claim. Timestamps are ISO-8601 text, which compares in time order.

use super::{SqliteStore, classify};
use crate::adapters::sql_body::job_queue::{impl_job_queue, job_columns};

mod sql {
    use super::job_columns;

    // language=SQLite
    pub(super) const ENQUEUE: &str =
        "insert into crawl_jobs (job_id, tool, target, state, spec, worker, lease_until, owner)
         values (?1, ?2, ?3, ?4, ?5, ?6,
                 case when ?7 is null then null
                      else strftime('%Y-%m-%dT%H:%M:%fZ', 'now', printf('+%.3f seconds', ?7)) end, ?8)";
    // language=SQLite
    pub(super) const CLAIM: &str = "update crawl_jobs
         set state = 'running', worker = ?1, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now'),
             lease_until = strftime('%Y-%m-%dT%H:%M:%fZ', 'now', printf('+%.3f seconds', ?2))
         where job_id = (select job_id from crawl_jobs where state = 'queued' order by created_at limit 1)
           and state = 'queued'
         returning job_id, tool, spec";
    // language=SQLite
    pub(super) const HEARTBEAT: &str = "update crawl_jobs
         set pages_done = ?3, pages_queued = ?4, pages_failed = ?5, chunks_stored = ?6,
             updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now'),
             lease_until = strftime('%Y-%m-%dT%H:%M:%fZ', 'now', printf('+%.3f seconds', ?7))
         where job_id = ?1 and state = 'running' and worker is ?2
         returning cancel_requested";
    // language=SQLite
    pub(super) const FINISH: &str = "update crawl_jobs
         set state = ?2, pages_done = ?3, pages_queued = ?4, pages_failed = ?5, chunks_stored = ?6, error = ?7,
             result = ?8, lease_until = null, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
         where job_id = ?1 and state in ('queued', 'running')";
    // language=SQLite
    pub(super) const REQUEST_CANCEL: &str = "update crawl_jobs
         set cancel_requested = true,
             error = case when state = 'queued' then 'cancelled before it started' else error end,
             updated_at = case when state = 'queued' then strftime('%Y-%m-%dT%H:%M:%fZ', 'now') else updated_at end,
             state = case when state = 'queued' then 'cancelled' else state end
         where job_id = ?1 and state in ('queued', 'running')
         returning job_id, tool, target, state, spec";
    // language=SQLite
    pub(super) const HAND_OVER: &str = "update crawl_jobs
         set worker = ?3, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now'),
             lease_until = strftime('%Y-%m-%dT%H:%M:%fZ', 'now', printf('+%.3f seconds', ?4))
         where job_id = ?1 and worker = ?2 and state = 'running'";
    // language=SQLite
    pub(super) const RECLAIM_EXPIRED: &str =
        "update crawl_jobs set state = 'interrupted', error = ?1, lease_until = null
         where state = 'running' and coalesce(lease_until, updated_at) < strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
         returning job_id, tool, target, state, spec";
    // language=SQLite
    pub(super) const SPEC: &str = "select spec from crawl_jobs where job_id = ?1";
    pub(super) const GET: &str = concat!("select ", job_columns!(), " from crawl_jobs where job_id = ?1");
    // language=SQLite
    pub(super) const LIST: &str =
        concat!("select ", job_columns!(), " from crawl_jobs order by created_at desc limit ?1");
    // language=SQLite
    pub(super) const ACTIVE_OF: &str =
        "select count(*) from crawl_jobs where owner = ?1 and state in ('queued', 'running')";
}

impl_job_queue!(SqliteStore, sql, classify);
