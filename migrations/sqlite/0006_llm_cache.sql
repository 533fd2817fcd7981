-- Chat-model answers by (kind, key hash); see the Postgres migration.
create table if not exists llm_cache (
    kind text not null,
    key_hash text not null,
    value text not null,
    created_at text not null default (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    primary key (kind, key_hash)
);
