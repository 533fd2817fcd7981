-- The embedded document graph (GraphRAG): entities shared across sources, and what each page
-- said about them (mentions per chunk, co-occurrence relations, links), replaced per page so a
-- re-crawl never grows the counts. Vectors are little-endian f32 bytes, searched in memory as on SQLite.
create table if not exists graph_entities (
    id bigserial primary key,
    key text not null unique,
    name text not null,
    entity_type text not null,
    description text not null default '',
    description_score double precision not null default 0,
    mention_count bigint not null default 0,
    embedding bytea not null
);
create table if not exists graph_documents (
    url text primary key,
    source_id text not null,
    title text,
    content_hash text not null
);
create index if not exists idx_graph_documents_source on graph_documents (source_id);
create table if not exists graph_mentions (
    url text not null,
    chunk_number integer not null,
    entity_key text not null,
    source_id text not null,
    name text not null,
    count bigint not null,
    primary key (url, chunk_number, entity_key)
);
create index if not exists idx_graph_mentions_entity on graph_mentions (entity_key);
create index if not exists idx_graph_mentions_source on graph_mentions (source_id, entity_key);
create table if not exists graph_relations (
    url text not null,
    source_key text not null,
    target_key text not null,
    source_id text not null,
    relation_type text not null default 'CO_OCCURS',
    weight double precision not null,
    count bigint not null,
    primary key (url, source_key, target_key, relation_type)
);
create index if not exists idx_graph_relations_source_key on graph_relations (source_key);
create index if not exists idx_graph_relations_target_key on graph_relations (target_key);
create index if not exists idx_graph_relations_source on graph_relations (source_id);
create table if not exists graph_links (
    from_url text not null,
    to_url text not null,
    source_id text not null,
    primary key (from_url, to_url)
);
create index if not exists idx_graph_links_source on graph_links (source_id);
-- Bumped when entities are deleted, so readers' in-memory entity vectors reload (new entities
-- are appended by id without a reload).
create table if not exists graph_generation (
    id integer primary key check (id = 1),
    n bigint not null
);
insert into graph_generation (id, n) values (1, 0) on conflict do nothing;
