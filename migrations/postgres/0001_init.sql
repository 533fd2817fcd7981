-- crawlrag schema, compatible with mcp-crawl4ai-rag (Supabase) table and function names.
-- The embedding columns and their HNSW indexes are added at start-up by the store once the
-- embedding model's dimension is known (see `meta`), so one schema serves any model.
create extension if not exists vector;

create table if not exists sources (
    source_id text primary key,
    summary text,
    total_word_count integer not null default 0,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);

create table if not exists crawled_pages (
    id bigserial primary key,
    url varchar not null,
    chunk_number integer not null,
    content text not null,
    metadata jsonb not null default '{}'::jsonb,
    source_id text not null references sources (source_id),
    created_at timestamptz not null default now(),
    unique (url, chunk_number)
);
create index if not exists idx_crawled_pages_metadata on crawled_pages using gin (metadata);
create index if not exists idx_crawled_pages_source_id on crawled_pages (source_id);

create table if not exists code_examples (
    id bigserial primary key,
    url varchar not null,
    chunk_number integer not null,
    content text not null,
    summary text not null,
    metadata jsonb not null default '{}'::jsonb,
    source_id text not null references sources (source_id),
    created_at timestamptz not null default now(),
    unique (url, chunk_number)
);
create index if not exists idx_code_examples_metadata on code_examples using gin (metadata);
create index if not exists idx_code_examples_source_id on code_examples (source_id);

-- One row per stored page: what incremental re-crawl compares against.
create table if not exists pages (
    url text primary key,
    source_id text not null references sources (source_id),
    title text,
    content_hash text not null,
    word_count integer not null default 0,
    chunk_count integer not null default 0,
    fetched_at timestamptz not null default now()
);
create index if not exists idx_pages_source_id on pages (source_id);

-- The embedding space this database is bound to; a different model must not write here.
create table if not exists meta (
    id boolean primary key default true check (id),
    embedding_model text not null,
    embedding_dimension integer not null check (embedding_dimension > 0),
    created_at timestamptz not null default now()
);

-- plpgsql bodies are resolved at call time, so these exist before the embedding columns do.
create or replace function match_crawled_pages(
    query_embedding vector,
    match_count int default 10,
    filter jsonb default '{}'::jsonb,
    source_filter text default null
) returns table (
    id bigint, url varchar, chunk_number integer, content text, metadata jsonb, source_id text,
    similarity double precision
) language plpgsql as $$
#variable_conflict use_column
begin
    -- keep scanning the HNSW graph until enough rows pass the filters (pgvector >= 0.8)
    perform set_config('hnsw.iterative_scan', 'strict_order', true);
    return query
    select cp.id, cp.url, cp.chunk_number, cp.content, cp.metadata, cp.source_id,
           1 - (cp.embedding <=> query_embedding) as similarity
    from crawled_pages cp
    where cp.metadata @> filter
      and (source_filter is null or cp.source_id = source_filter)
    order by cp.embedding <=> query_embedding
    limit match_count;
end;
$$;

create or replace function match_code_examples(
    query_embedding vector,
    match_count int default 10,
    filter jsonb default '{}'::jsonb,
    source_filter text default null
) returns table (
    id bigint, url varchar, chunk_number integer, content text, summary text, metadata jsonb,
    source_id text, similarity double precision
) language plpgsql as $$
#variable_conflict use_column
begin
    perform set_config('hnsw.iterative_scan', 'strict_order', true);
    return query
    select ce.id, ce.url, ce.chunk_number, ce.content, ce.summary, ce.metadata, ce.source_id,
           1 - (ce.embedding <=> query_embedding) as similarity
    from code_examples ce
    where ce.metadata @> filter
      and (source_filter is null or ce.source_id = source_filter)
    order by ce.embedding <=> query_embedding
    limit match_count;
end;
$$;
