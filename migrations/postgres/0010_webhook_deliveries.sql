-- Webhook deliveries: one row per attempt (a delivery is retried under the same delivery_id), so
-- get_crawl_job can show what each job's webhook received.
create table if not exists webhook_deliveries (
    id bigserial primary key,
    delivery_id text not null,
    job_id text not null,
    url text not null,
    event text not null,
    attempt integer not null,
    status_code integer,
    error text,
    outcome text not null,
    duration_ms bigint not null,
    attempted_at timestamptz not null default now()
);
create index if not exists idx_webhook_deliveries_job on webhook_deliveries (job_id, id);
