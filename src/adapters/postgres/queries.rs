//! SQL of the Postgres store, in one place.

// language=PostgreSQL
pub(super) const READ_META: &str = "select embedding_model, embedding_dimension from meta where id";

// language=PostgreSQL
pub(super) const WRITE_META: &str = "insert into meta (id, embedding_model, embedding_dimension) values (true, $1, $2)";

// language=PostgreSQL
pub(super) const EMBEDDING_COLUMN_TYPE: &str = "
    select format_type(a.atttypid, a.atttypmod)
    from pg_attribute a
    where a.attrelid = $1::regclass and a.attname = 'embedding' and not a.attisdropped";

// language=PostgreSQL
pub(super) const LOCK: &str = "select pg_advisory_xact_lock(hashtext(current_schema() || ':' || $1))";

// language=PostgreSQL
pub(super) const UPSERT_SOURCE: &str = "
    insert into sources (source_id, summary) values ($1, $2)
    on conflict (source_id) do update
        set summary = coalesce(nullif(sources.summary, ''), excluded.summary), updated_at = now()";

// language=PostgreSQL
pub(super) const DELETE_PAGE_CHUNKS: &str = "delete from crawled_pages where url = $1";

// language=PostgreSQL
pub(super) const INSERT_CHUNKS: &str = "
    insert into crawled_pages (url, chunk_number, content, metadata, source_id, embedding)
    select $1, t.chunk_number, t.content, t.metadata, $2, t.embedding
    from unnest($3::int[], $4::text[], $5::jsonb[], $6::vector[])
        as t (chunk_number, content, metadata, embedding)";

// language=PostgreSQL
pub(super) const UPSERT_PAGE: &str = "
    insert into pages (url, source_id, title, content_hash, word_count, chunk_count, fetched_at, etag, last_modified)
    values ($1, $2, $3, $4, $5, $6, now(), $7, $8)
    on conflict (url) do update set
        source_id = excluded.source_id, title = excluded.title,
        content_hash = excluded.content_hash, word_count = excluded.word_count,
        chunk_count = excluded.chunk_count, fetched_at = excluded.fetched_at,
        etag = excluded.etag, last_modified = excluded.last_modified";

// language=PostgreSQL
pub(super) const PAGE_VALIDATORS: &str = "select etag, last_modified from pages where url = $1";

// language=PostgreSQL
pub(super) const REFRESH_SOURCE_TOTALS: &str = "
    update sources set
        total_word_count = (select coalesce(sum(word_count), 0) from pages where source_id = $1),
        updated_at = now()
    where source_id = $1";

// language=PostgreSQL
pub(super) const SEARCH_CHUNKS: &str = "
    select url, chunk_number, content, metadata, source_id, similarity
    from match_crawled_pages($1::vector, $2, '{}'::jsonb, $3)
    offset $4";

// language=PostgreSQL
pub(super) const LIST_SOURCES: &str = "
    select s.source_id, s.summary, s.total_word_count::bigint as total_words,
           s.created_at, s.updated_at,
           (select count(*) from pages p where p.source_id = s.source_id) as pages,
           (select count(*) from crawled_pages c where c.source_id = s.source_id) as chunks,
           (select count(*) from code_examples e where e.source_id = s.source_id) as code_examples
    from sources s
    order by s.source_id";

// Every word of the query ($4 = ' & ') or any word (' | '); lexemes are quoted, never syntax.
// language=PostgreSQL
pub(super) const SEARCH_KEYWORD: &str = "
    with q as (
        select nullif(array_to_string(array(
            select quote_literal(l) from unnest(tsvector_to_array(to_tsvector('english', $1))) l
        ), $4), '')::tsquery as query
    )
    select cp.url, cp.chunk_number, cp.content, cp.metadata, cp.source_id
    from crawled_pages cp, q
    where q.query is not null and cp.content_tsv @@ q.query and ($2::text is null or cp.source_id = $2)
    order by ts_rank_cd(cp.content_tsv, q.query) desc, cp.id
    limit $3";

// language=PostgreSQL
pub(super) const DELETE_PAGE_CODE: &str = "delete from code_examples where url = $1";

// language=PostgreSQL
pub(super) const INSERT_CODE: &str = "
    insert into code_examples (url, chunk_number, content, summary, metadata, source_id, embedding)
    select $1, t.chunk_number, t.content, t.summary, t.metadata, $2, t.embedding
    from unnest($3::int[], $4::text[], $5::text[], $6::jsonb[], $7::vector[])
        as t (chunk_number, content, summary, metadata, embedding)";

// language=PostgreSQL
pub(super) const SEARCH_CODE: &str = "
    select url, content, summary, metadata, source_id, similarity
    from match_code_examples($1::vector, $2, '{}'::jsonb, $3)
    offset $4";

// language=PostgreSQL
pub(super) const CACHED_EMBEDDINGS: &str =
    "select content_hash, embedding from embedding_cache where model = $1 and content_hash = any($2)";

// language=PostgreSQL
pub(super) const CACHE_EMBEDDINGS: &str = "
    insert into embedding_cache (model, content_hash, embedding)
    select $1, h, e from unnest($2::text[], $3::vector[]) as t (h, v), lateral (select v::real[] as e) x
    on conflict (model, content_hash) do nothing";

// language=PostgreSQL
pub(super) const CHUNKS_AT: &str = "select c.url, c.chunk_number, c.content, c.metadata, c.source_id
     from jsonb_array_elements($1) as e
     join crawled_pages c on c.url = e ->> 'u' and c.chunk_number = (e ->> 'c')::int";
