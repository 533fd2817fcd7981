//! `TextCache` on Postgres: the `llm_cache` table.

use std::collections::HashMap;

use async_trait::async_trait;

use super::{PgStore, classify};
use crate::ports::{StoreError, TextCache};

#[async_trait]
impl TextCache for PgStore {
    async fn cached_texts(&self, kind: &str, keys: &[String]) -> Result<HashMap<String, String>, StoreError> {
        let rows: Vec<(String, String)> =
            sqlx::query_as("select key_hash, value from llm_cache where kind = $1 and key_hash = any($2)")
                .bind(kind)
                .bind(keys)
                .fetch_all(&self.pool)
                .await
                .map_err(classify)?;
        Ok(rows.into_iter().collect())
    }

    async fn cache_texts(&self, kind: &str, entries: &[(String, String)]) -> Result<(), StoreError> {
        let (keys, values): (Vec<&str>, Vec<&str>) = entries.iter().map(|(k, v)| (k.as_str(), v.as_str())).unzip();
        sqlx::query(
            "insert into llm_cache (kind, key_hash, value) select $1, k, v from unnest($2::text[], $3::text[]) as t (k, v)
             on conflict (kind, key_hash) do nothing",
        )
        .bind(kind)
        .bind(keys)
        .bind(values)
        .execute(&self.pool)
        .await
        .map_err(classify)
        .map(|_| ())
    }
}
