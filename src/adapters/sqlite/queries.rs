//! SQL of the SQLite store, in one place.

// language=SQLite
pub(super) const READ_META: &str = "select embedding_model, embedding_dimension from meta where id = 1";

// language=SQLite
pub(super) const WRITE_META: &str = "insert into meta (id, embedding_model, embedding_dimension) values (1, ?1, ?2)";

// language=SQLite
pub(super) const UPSERT_SOURCE: &str = "
    insert into sources (source_id, summary) values (?1, ?2)
    on conflict (source_id) do update set
        summary = coalesce(nullif(sources.summary, ''), excluded.summary),
        updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')";

// language=SQLite
pub(super) const DELETE_PAGE_CHUNKS: &str = "delete from crawled_pages where url = ?1";

// language=SQLite
pub(super) const INSERT_CHUNK: &str = "
    insert into crawled_pages (url, chunk_number, content, metadata, source_id, embedding)
    values (?1, ?2, ?3, ?4, ?5, ?6)";

// language=SQLite
pub(super) const UPSERT_PAGE: &str = "
    insert into pages (url, source_id, title, content_hash, word_count, chunk_count, fetched_at, etag, last_modified)
    values (?1, ?2, ?3, ?4, ?5, ?6, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), ?7, ?8)
    on conflict (url) do update set
        source_id = excluded.source_id, title = excluded.title,
        content_hash = excluded.content_hash, word_count = excluded.word_count,
        chunk_count = excluded.chunk_count, fetched_at = excluded.fetched_at,
        etag = excluded.etag, last_modified = excluded.last_modified";

// language=SQLite
pub(super) const PAGE_VALIDATORS: &str = "select etag, last_modified from pages where url = ?1";

// language=SQLite
pub(super) const REFRESH_SOURCE_TOTALS: &str = "
    update sources set
        total_word_count = (select coalesce(sum(word_count), 0) from pages where source_id = ?1),
        updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
    where source_id = ?1";

// language=SQLite

// language=SQLite
pub(super) const CHUNK_BY_ID: &str =
    "select url, chunk_number, content, metadata, source_id from crawled_pages where id = ?1";

// language=SQLite
pub(super) const LIST_SOURCES: &str = "
    select s.source_id, s.summary, s.total_word_count as total_words, s.created_at, s.updated_at,
           (select count(*) from pages p where p.source_id = s.source_id) as pages,
           (select count(*) from crawled_pages c where c.source_id = s.source_id) as chunks,
           (select count(*) from code_examples e where e.source_id = s.source_id) as code_examples
    from sources s
    order by s.source_id";

// language=SQLite
pub(super) const SEARCH_KEYWORD: &str = "
    select c.url, c.chunk_number, c.content, c.metadata, c.source_id
    from crawled_pages_fts f join crawled_pages c on c.id = f.rowid
    where crawled_pages_fts match ?1 and (?2 is null or c.source_id = ?2)
    order by bm25(crawled_pages_fts), c.id
    limit ?3";

// language=SQLite
pub(super) const DELETE_PAGE_CODE: &str = "delete from code_examples where url = ?1";

// language=SQLite
pub(super) const INSERT_CODE: &str = "
    insert into code_examples (url, chunk_number, content, summary, metadata, source_id, embedding)
    values (?1, ?2, ?3, ?4, ?5, ?6, ?7)";

// language=SQLite
pub(super) const SCAN_CODE_EMBEDDINGS: &str =
    "select id, embedding from code_examples where (?1 is null or source_id = ?1)";

// language=SQLite
pub(super) const CODE_BY_ID: &str =
    "select url, content, summary, metadata, source_id from code_examples where id = ?1";

// language=SQLite
pub(super) const READ_GENERATION: &str = "select n from index_generation where id = 1";

// language=SQLite
pub(super) const BUMP_GENERATION: &str = "update index_generation set n = n + 1 where id = 1";

// language=SQLite
pub(super) const SCAN_ALL_EMBEDDINGS: &str = "select id, source_id, embedding from crawled_pages";

// language=SQLite
pub(super) const CACHED_EMBEDDING: &str =
    "select embedding from embedding_cache where model = ?1 and content_hash = ?2";

// language=SQLite
pub(super) const CACHE_EMBEDDING: &str =
    "insert into embedding_cache (model, content_hash, embedding) values (?1, ?2, ?3) on conflict do nothing";

// language=SQLite
pub(super) const CHUNKS_AT: &str = "select c.url, c.chunk_number, c.content, c.metadata, c.source_id
     from json_each(?1) as e
     join crawled_pages c on c.url = json_extract(e.value, '$.u') and c.chunk_number = json_extract(e.value, '$.c')";
