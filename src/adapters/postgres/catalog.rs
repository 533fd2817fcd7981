//! Postgres SQL for the shared catalog and text-cache bodies (`adapters/sql_body/`).

use super::{PgStore, classify};
use crate::adapters::sql_body::catalog::impl_source_catalog;
use crate::adapters::sql_body::text_cache::impl_text_cache;

mod sql {
    pub(super) use super::super::queries::{DELETE_PAGE_CHUNKS, DELETE_PAGE_CODE, LIST_SOURCES, REFRESH_SOURCE_TOTALS};

    pub(super) const BEFORE_DELETE: &[&str] = &[];
    // language=PostgreSQL
    pub(super) const SOURCE_OF_PAGE: &str = "select source_id from pages where url = $1";
    // language=PostgreSQL
    pub(super) const DELETE_PAGE: &str = "delete from pages where url = $1";
    // language=PostgreSQL
    pub(super) const DELETE_SOURCE_CHUNKS: &str = "delete from crawled_pages where source_id = $1";
    // language=PostgreSQL
    pub(super) const DELETE_SOURCE_CODE: &str = "delete from code_examples where source_id = $1";
    // language=PostgreSQL
    pub(super) const DELETE_SOURCE_PAGES: &str = "delete from pages where source_id = $1";
    // language=PostgreSQL
    pub(super) const DELETE_SOURCE: &str = "delete from sources where source_id = $1";
    // language=PostgreSQL
    pub(super) const CACHED_TEXTS: &str = "select key_hash, value from llm_cache
         where kind = $1 and key_hash in (select jsonb_array_elements_text($2))";
    // language=PostgreSQL
    pub(super) const CACHE_TEXTS: &str = "insert into llm_cache (kind, key_hash, value)
         select $1, e ->> 'k', e ->> 'v' from jsonb_array_elements($2) as e
         on conflict (kind, key_hash) do nothing";
}

impl_source_catalog!(PgStore, sql, classify);
impl_text_cache!(PgStore, sql, classify);
