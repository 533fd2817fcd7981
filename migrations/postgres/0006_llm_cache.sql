-- Chat-model answers by (kind, key hash): chunk contexts and summaries are paid for once; a
-- re-crawl of unchanged text, or of boilerplate repeated across pages, reuses them.
create table if not exists llm_cache (
    kind text not null,
    key_hash text not null,
    value text not null,
    created_at timestamptz not null default now(),
    primary key (kind, key_hash)
);
