-- The crawl ledger (crawl_runs, crawl_urls, crawl_robots) exists only on Postgres: distributed
-- crawling needs a database every worker shares. This no-op keeps both dialects' migration
-- numbers in step.
select 1;
