-- Embeddings by (model, text hash): text repeated across pages is embedded once.
create table if not exists embedding_cache (
    model text not null,
    content_hash text not null,
    embedding blob not null,
    created_at text not null default (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    primary key (model, content_hash)
);
