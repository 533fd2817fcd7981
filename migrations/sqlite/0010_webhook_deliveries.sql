-- Webhook deliveries (see the Postgres migration): one row per attempt.
create table if not exists webhook_deliveries (
    id integer primary key autoincrement,
    delivery_id text not null,
    job_id text not null,
    url text not null,
    event text not null,
    attempt integer not null,
    status_code integer,
    error text,
    outcome text not null,
    duration_ms integer not null,
    attempted_at text not null default (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
create index if not exists idx_webhook_deliveries_job on webhook_deliveries (job_id, id);
