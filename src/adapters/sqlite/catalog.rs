//! SQLite SQL for the shared catalog and text-cache bodies (`adapters/sql_body/`).

use super::{SqliteStore, classify};
use crate::adapters::sql_body::catalog::impl_source_catalog;
use crate::adapters::sql_body::text_cache::impl_text_cache;

mod sql {
    pub(super) use super::super::queries::{DELETE_PAGE_CHUNKS, DELETE_PAGE_CODE, LIST_SOURCES, REFRESH_SOURCE_TOTALS};

    /// Readers' in-memory vector copy reloads when the generation moves.
    pub(super) const BEFORE_DELETE: &[&str] = &[super::super::queries::BUMP_GENERATION];
    // language=SQLite
    pub(super) const SOURCE_OF_PAGE: &str = "select source_id from pages where url = ?1";
    // language=SQLite
    pub(super) const DELETE_PAGE: &str = "delete from pages where url = ?1";
    // language=SQLite
    pub(super) const DELETE_SOURCE_CHUNKS: &str = "delete from crawled_pages where source_id = ?1";
    // language=SQLite
    pub(super) const DELETE_SOURCE_CODE: &str = "delete from code_examples where source_id = ?1";
    // language=SQLite
    pub(super) const DELETE_SOURCE_PAGES: &str = "delete from pages where source_id = ?1";
    // language=SQLite
    pub(super) const DELETE_SOURCE: &str = "delete from sources where source_id = ?1";
    // language=SQLite
    pub(super) const CACHED_TEXTS: &str = "select key_hash, value from llm_cache
         where kind = ?1 and key_hash in (select value from json_each(?2))";
    // language=SQLite
    pub(super) const CACHE_TEXTS: &str = "insert into llm_cache (kind, key_hash, value)
         select ?1, json_extract(e.value, '$.k'), json_extract(e.value, '$.v') from json_each(?2) as e where true
         on conflict do nothing";
}

impl_source_catalog!(SqliteStore, sql, classify);
impl_text_cache!(SqliteStore, sql, classify);
