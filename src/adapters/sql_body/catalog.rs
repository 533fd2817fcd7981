//! The `SourceCatalog` port, and deleting one page with its rows, once for both SQL stores (see
//! `sql_body`). The dialect module supplies `LIST_SOURCES`, `SOURCE_OF_PAGE`,
//! `REFRESH_SOURCE_TOTALS`, the `DELETE_PAGE_*` / `DELETE_SOURCE_*` statements, and
//! `BEFORE_DELETE`: statements run first in each deleting transaction (SQLite bumps the index
//! generation its in-memory vector copy watches; Postgres runs none).

/// `impl SourceCatalog for $store` plus an inherent `delete_page_rows` for its `PageStore`.
macro_rules! impl_source_catalog {
    ($store:ty, $sql:path, $classify:path) => {
        impl $store {
            /// Delete one page with its chunks and code examples, and refresh its source's totals,
            /// in one transaction.
            pub(super) async fn delete_page_rows(
                &self,
                url: &str,
            ) -> Result<$crate::ports::DeletedCounts, $crate::ports::StoreError> {
                use $sql as sql;
                let mut tx = self.pool.begin().await.map_err($classify)?;
                for statement in sql::BEFORE_DELETE {
                    sqlx::query(*statement).execute(&mut *tx).await.map_err($classify)?;
                }
                let source: Option<String> = sqlx::query_scalar(sql::SOURCE_OF_PAGE)
                    .bind(url)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err($classify)?;
                let mut counts = $crate::ports::DeletedCounts::default();
                for (statement, slot) in [
                    (sql::DELETE_PAGE_CHUNKS, &mut counts.chunks),
                    (sql::DELETE_PAGE_CODE, &mut counts.code_examples),
                    (sql::DELETE_PAGE, &mut counts.pages),
                ] {
                    *slot =
                        sqlx::query(statement).bind(url).execute(&mut *tx).await.map_err($classify)?.rows_affected();
                }
                if let Some(source) = source {
                    sqlx::query(sql::REFRESH_SOURCE_TOTALS).bind(source).execute(&mut *tx).await.map_err($classify)?;
                }
                tx.commit().await.map_err($classify)?;
                Ok(counts)
            }
        }

        #[async_trait::async_trait]
        impl $crate::ports::SourceCatalog for $store {
            async fn list_sources(&self) -> Result<Vec<$crate::domain::SourceInfo>, $crate::ports::StoreError> {
                use sqlx::Row as _;
                use $sql as sql;
                let rows = sqlx::query(sql::LIST_SOURCES).fetch_all(&self.pool).await.map_err($classify)?;
                rows.iter()
                    .map(|row| {
                        Ok($crate::domain::SourceInfo {
                            source_id: $crate::domain::SourceId::from(row.try_get::<String, _>("source_id")?),
                            summary: row.try_get("summary")?,
                            total_words: row.try_get("total_words")?,
                            pages: row.try_get("pages")?,
                            chunks: row.try_get("chunks")?,
                            code_examples: row.try_get("code_examples")?,
                            created_at: row.try_get("created_at")?,
                            updated_at: row.try_get("updated_at")?,
                        })
                    })
                    .collect::<Result<_, sqlx::Error>>()
                    .map_err($classify)
            }

            #[tracing::instrument(skip(self))]
            async fn delete_source(
                &self,
                source: &$crate::domain::SourceId,
            ) -> Result<$crate::ports::DeletedCounts, $crate::ports::StoreError> {
                use $sql as sql;
                let mut tx = self.pool.begin().await.map_err($classify)?;
                for statement in sql::BEFORE_DELETE {
                    sqlx::query(*statement).execute(&mut *tx).await.map_err($classify)?;
                }
                let mut counts = $crate::ports::DeletedCounts::default();
                for (statement, slot) in [
                    (sql::DELETE_SOURCE_CHUNKS, &mut counts.chunks),
                    (sql::DELETE_SOURCE_CODE, &mut counts.code_examples),
                    (sql::DELETE_SOURCE_PAGES, &mut counts.pages),
                    (sql::DELETE_SOURCE, &mut counts.sources),
                ] {
                    *slot = sqlx::query(statement)
                        .bind(source.as_str())
                        .execute(&mut *tx)
                        .await
                        .map_err($classify)?
                        .rows_affected();
                }
                tx.commit().await.map_err($classify)?;
                Ok(counts)
            }
        }
    };
}

pub(crate) use impl_source_catalog;
