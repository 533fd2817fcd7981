//! `TextCache` on SQLite: the `llm_cache` table.

use std::collections::HashMap;

use async_trait::async_trait;

use super::{SqliteStore, classify};
use crate::ports::{StoreError, TextCache};

#[async_trait]
impl TextCache for SqliteStore {
    async fn cached_texts(&self, kind: &str, keys: &[String]) -> Result<HashMap<String, String>, StoreError> {
        let mut found = HashMap::new();
        for key in keys {
            let value: Option<String> =
                sqlx::query_scalar("select value from llm_cache where kind = ?1 and key_hash = ?2")
                    .bind(kind)
                    .bind(key)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(classify)?;
            if let Some(value) = value {
                found.insert(key.clone(), value);
            }
        }
        Ok(found)
    }

    async fn cache_texts(&self, kind: &str, entries: &[(String, String)]) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.map_err(classify)?;
        for (key, value) in entries {
            sqlx::query("insert into llm_cache (kind, key_hash, value) values (?1, ?2, ?3) on conflict do nothing")
                .bind(kind)
                .bind(key)
                .bind(value)
                .execute(&mut *tx)
                .await
                .map_err(classify)?;
        }
        tx.commit().await.map_err(classify)
    }
}
