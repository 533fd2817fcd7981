-- Embeddings by (model, text hash): text repeated across pages (boilerplate, re-chunked pages) is
-- embedded once. Plain real[] so the cache does not depend on the bound vector dimension.
create table if not exists embedding_cache (
    model text not null,
    content_hash text not null,
    embedding real[] not null,
    created_at timestamptz not null default now(),
    primary key (model, content_hash)
);
