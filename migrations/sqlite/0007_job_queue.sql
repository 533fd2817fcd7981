-- Jobs as data (see the Postgres migration): the serialized spec, the claiming worker, and the
-- claim's expiry, extended by each heartbeat.
alter table crawl_jobs add column spec text;
alter table crawl_jobs add column worker text;
alter table crawl_jobs add column lease_until text;
create index if not exists idx_crawl_jobs_queued on crawl_jobs (created_at) where state = 'queued';
