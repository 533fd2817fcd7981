-- Crawl jobs: state lives in the store so any replica can report or cancel any job. A running
-- job's process refreshes updated_at (heartbeat); a stale one is marked interrupted.
create table if not exists crawl_jobs (
    job_id text primary key,
    tool text not null,
    target text not null,
    state text not null,
    pages_done bigint not null default 0,
    pages_queued bigint not null default 0,
    pages_failed bigint not null default 0,
    chunks_stored bigint not null default 0,
    error text,
    result jsonb,
    cancel_requested boolean not null default false,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
create index if not exists idx_crawl_jobs_created_at on crawl_jobs (created_at desc);
create index if not exists idx_crawl_jobs_running on crawl_jobs (updated_at) where state = 'running';
