-- Crawl jobs (see the Postgres migration): heartbeat in updated_at, stale running jobs interrupted.
create table if not exists crawl_jobs (
    job_id text primary key,
    tool text not null,
    target text not null,
    state text not null,
    pages_done integer not null default 0,
    pages_queued integer not null default 0,
    pages_failed integer not null default 0,
    chunks_stored integer not null default 0,
    error text,
    result text,
    cancel_requested integer not null default 0,
    created_at text not null default (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at text not null default (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
create index if not exists idx_crawl_jobs_created_at on crawl_jobs (created_at desc);
