//! The `TextCache` port on `llm_cache`, once for both SQL stores (see `sql_body`). Keys and
//! entries travel as one JSON array parameter, so a batch is one statement on either dialect
//! (`CACHED_TEXTS` reads `[key, ...]`, `CACHE_TEXTS` inserts `[{"k": key, "v": value}, ...]`).

/// `impl TextCache for $store`.
macro_rules! impl_text_cache {
    ($store:ty, $sql:path, $classify:path) => {
        #[async_trait::async_trait]
        impl $crate::ports::TextCache for $store {
            async fn cached_texts(
                &self,
                kind: &str,
                keys: &[String],
            ) -> Result<std::collections::HashMap<String, String>, $crate::ports::StoreError> {
                use $sql as sql;
                if keys.is_empty() {
                    return Ok(std::collections::HashMap::new());
                }
                let rows: Vec<(String, String)> = sqlx::query_as(sql::CACHED_TEXTS)
                    .bind(kind)
                    .bind(sqlx::types::Json(keys))
                    .fetch_all(&self.pool)
                    .await
                    .map_err($classify)?;
                Ok(rows.into_iter().collect())
            }

            async fn cache_texts(&self, kind: &str, entries: &[(String, String)]) -> Result<(), $crate::ports::StoreError> {
                use $sql as sql;
                if entries.is_empty() {
                    return Ok(());
                }
                let entries: Vec<serde_json::Value> =
                    entries.iter().map(|(k, v)| serde_json::json!({"k": k, "v": v})).collect();
                sqlx::query(sql::CACHE_TEXTS)
                    .bind(kind)
                    .bind(sqlx::types::Json(entries))
                    .execute(&self.pool)
                    .await
                    .map_err($classify)
                    .map(|_| ())
            }
        }
    };
}

pub(crate) use impl_text_cache;
