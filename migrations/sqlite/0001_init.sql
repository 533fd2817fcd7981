-- crawlrag embedded store (SQLite): the same tables as Postgres, vectors as little-endian f32
-- blobs searched exactly in Rust, and an FTS5 index kept in step by triggers.
create table if not exists sources (
    source_id text primary key,
    summary text,
    total_word_count integer not null default 0,
    created_at text not null default (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at text not null default (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

create table if not exists crawled_pages (
    id integer primary key,
    url text not null,
    chunk_number integer not null,
    content text not null,
    metadata text not null default '{}',
    source_id text not null references sources (source_id),
    embedding blob not null,
    created_at text not null default (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    unique (url, chunk_number)
);
create index if not exists idx_crawled_pages_source_id on crawled_pages (source_id);

create table if not exists code_examples (
    id integer primary key,
    url text not null,
    chunk_number integer not null,
    content text not null,
    summary text not null,
    metadata text not null default '{}',
    source_id text not null references sources (source_id),
    embedding blob not null,
    created_at text not null default (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    unique (url, chunk_number)
);
create index if not exists idx_code_examples_source_id on code_examples (source_id);

create table if not exists pages (
    url text primary key,
    source_id text not null references sources (source_id),
    title text,
    content_hash text not null,
    word_count integer not null default 0,
    chunk_count integer not null default 0,
    fetched_at text not null default (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
create index if not exists idx_pages_source_id on pages (source_id);

create table if not exists meta (
    id integer primary key check (id = 1),
    embedding_model text not null,
    embedding_dimension integer not null check (embedding_dimension > 0),
    created_at text not null default (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

create virtual table if not exists crawled_pages_fts using fts5 (
    content, content = 'crawled_pages', content_rowid = 'id', tokenize = 'porter unicode61'
);
create trigger if not exists crawled_pages_fts_insert after insert on crawled_pages begin
    insert into crawled_pages_fts (rowid, content) values (new.id, new.content);
end;
create trigger if not exists crawled_pages_fts_delete after delete on crawled_pages begin
    insert into crawled_pages_fts (crawled_pages_fts, rowid, content) values ('delete', old.id, old.content);
end;
create trigger if not exists crawled_pages_fts_update after update of content on crawled_pages begin
    insert into crawled_pages_fts (crawled_pages_fts, rowid, content) values ('delete', old.id, old.content);
    insert into crawled_pages_fts (rowid, content) values (new.id, new.content);
end;
