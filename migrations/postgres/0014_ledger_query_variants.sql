-- Crawler-trap limits of distributed crawls are counted in the ledger, per crawl: the URL without
-- its query string (`variant_of`, null for URLs without one) groups a path's query variants, so
-- admission can count the distinct variants every worker has offered.
alter table crawl_urls add column if not exists variant_of text
    generated always as (case when strpos(url, '?') > 0 then split_part(url, '?', 1) end) stored;
create index if not exists idx_crawl_urls_variants on crawl_urls (job_id, variant_of) where variant_of is not null;
