-- Jobs as data: a job row carries its serialized spec, so any worker process can claim and run
-- it. `worker` holds the claim and `lease_until` its expiry (extended by each heartbeat); a
-- running job whose lease expired belongs to a process that died.
alter table crawl_jobs add column if not exists spec jsonb;
alter table crawl_jobs add column if not exists worker text;
alter table crawl_jobs add column if not exists lease_until timestamptz;
create index if not exists idx_crawl_jobs_queued on crawl_jobs (created_at) where state = 'queued';
