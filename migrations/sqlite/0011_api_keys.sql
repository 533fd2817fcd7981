-- API keys (see the Postgres migration): the SHA-256 digest of each secret, never the secret.
create table if not exists api_keys (
    id text primary key,
    name text not null,
    prefix text not null,
    key_hash text not null unique,
    scopes text not null,
    created_at text not null default (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    last_used_at text,
    revoked_at text
);
create index if not exists idx_api_keys_prefix on api_keys (prefix);
