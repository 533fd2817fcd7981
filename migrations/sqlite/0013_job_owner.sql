-- Who submitted a job (the authenticated caller's id, e.g. `key:<id>`; null for stdio, the CLI
-- and unauthenticated HTTP), so a cap on concurrent crawls per caller can count their queued
-- and running jobs.
alter table crawl_jobs add column owner text;
create index if not exists idx_crawl_jobs_owner_active on crawl_jobs (owner) where state in ('queued', 'running');
