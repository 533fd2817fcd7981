-- The durable URL ledger of distributed crawls (Postgres only: workers on many machines share it).
-- One `crawl_runs` row per crawl holds its budget and counters; admissions and settles lock it,
-- so the budget and the "crawl is complete" moment are decided by one transaction at a time.
create table if not exists crawl_runs (
    job_id text primary key,
    max_pages bigint not null,
    -- URLs admitted as `queued` so far (skipped ones never count).
    admitted bigint not null default 0,
    -- New URLs left out because the budget was spent (each counted once, as its
    -- `over_budget` row in crawl_urls is inserted).
    over_budget bigint not null default 0,
    state text not null default 'open' check (state in ('open', 'completed', 'cancelled', 'failed')),
    created_at timestamptz not null default now(),
    closed_at timestamptz
);

-- One row per crawl and normalised URL: the frontier, the dedup set and what happened to the page.
create table if not exists crawl_urls (
    job_id text not null references crawl_runs (job_id) on delete cascade,
    url text not null,
    depth integer not null,
    -- `over_budget`: offered after the budget was spent; recorded so a URL counts once.
    state text not null check (state in
        ('queued', 'claimed', 'stored', 'unchanged', 'failed', 'skipped', 'gone', 'over_budget')),
    -- Admission order, for stable "oldest first" listings.
    seq bigint generated always as identity,
    worker text,
    lease_until timestamptz,
    -- When the URL was last handed to the broker (the reconciler republishes old ones).
    published_at timestamptz,
    chunks bigint not null default 0,
    code_examples bigint not null default 0,
    entities bigint not null default 0,
    relations bigint not null default 0,
    words bigint not null default 0,
    graph_millis bigint not null default 0,
    pruned bigint not null default 0,
    reason text,
    updated_at timestamptz not null default now(),
    primary key (job_id, url)
);
create index if not exists idx_crawl_urls_state on crawl_urls (job_id, state, seq);
-- The reconciler's scan: queued rows by publish time, claimed rows by lease expiry.
create index if not exists idx_crawl_urls_stale_queued on crawl_urls (published_at) where state = 'queued';
create index if not exists idx_crawl_urls_stale_claimed on crawl_urls (lease_until) where state = 'claimed';

-- robots.txt as first fetched for a crawl, so every worker follows the same rules.
create table if not exists crawl_robots (
    job_id text not null references crawl_runs (job_id) on delete cascade,
    origin text not null,
    body text not null,
    primary key (job_id, origin)
);
