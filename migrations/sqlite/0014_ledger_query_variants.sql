-- The crawl ledger exists only on Postgres (see 0012); this no-op keeps both dialects' migration
-- numbers in step.
select 1;
