-- API keys for the HTTP transport: only the SHA-256 digest (hex) of each secret is stored, looked
-- up through its unique index; `prefix` is the key's first characters, shown in listings.
create table if not exists api_keys (
    id text primary key,
    name text not null,
    prefix text not null,
    key_hash text not null unique,
    scopes text not null,
    created_at timestamptz not null default now(),
    last_used_at timestamptz,
    revoked_at timestamptz
);
create index if not exists idx_api_keys_prefix on api_keys (prefix);
