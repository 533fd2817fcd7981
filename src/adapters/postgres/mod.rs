//! `Store` on Postgres + pgvector (Supabase-compatible), through sqlx. Migrations from
//! `migrations/` run at connect; the embedding column is sized from the configured model once and
//! recorded in `meta`, so a different model later fails loudly instead of corrupting search.

mod api_keys;
mod catalog;
mod code_graph;
mod graph;
mod jobs;
mod ledger;
mod queries;
mod webhooks;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use async_trait::async_trait;
use pgvector::Vector;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgRow};
use sqlx::{AssertSqlSafe, Executor, PgPool, Row};
use tracing::{info, instrument};

use crate::adapters::sql_body::graph::EntityVectors;
use crate::domain::{CodeHit, Hit, SourceId, Validators};
use crate::ports::{
    DeletedCounts, EmbeddingCache, KeywordQuery, PageStore, PageWrite, SearchIndex, StoreAdmin, StoreError, VectorQuery,
};

/// Default size of the connection pool.
pub use crate::domain::defaults::DEFAULT_PG_MAX_CONNECTIONS as DEFAULT_MAX_CONNECTIONS;
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// Connection settings of the Postgres store.
#[derive(Clone)]
pub struct PgConfig {
    pub url: String,
    /// Schema holding crawlrag's tables (created if missing); `None` = the server's default.
    pub schema: Option<String>,
    pub max_connections: u32,
}

impl std::fmt::Debug for PgConfig {
    // The URL may carry a password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgConfig")
            .field("url", &"***")
            .field("schema", &self.schema)
            .field("max_connections", &self.max_connections)
            .finish()
    }
}

#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
    /// Entity name vectors of the embedded graph, appended as entities are added.
    entity_vectors: Arc<RwLock<EntityVectors>>,
}

impl PgStore {
    /// Connect, create the schema if asked, and apply migrations.
    ///
    /// # Errors
    /// `Unavailable` when the server cannot be reached, `Migration` when the schema cannot be set up.
    pub async fn connect(config: &PgConfig) -> Result<Self, StoreError> {
        let options: PgConnectOptions = config
            .url
            .parse()
            .map_err(|e| StoreError::Unavailable(format!("DATABASE_URL is not a valid Postgres URL: {e}")))?;
        let schema = config.schema.clone();
        if let Some(name) = &schema {
            validate_schema_name(name)?;
        }
        let search_path = schema.clone();
        let pool = PgPoolOptions::new()
            .max_connections(config.max_connections.max(1))
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .after_connect(move |conn, _meta| {
                let search_path = search_path.clone();
                Box::pin(async move {
                    conn.execute("set client_min_messages = warning").await?;
                    if let Some(schema) = search_path {
                        // validated identifier: [a-z_][a-z0-9_]*
                        conn.execute(AssertSqlSafe(format!("set search_path to {schema}, public"))).await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await
            .map_err(unavailable)?;
        if let Some(schema) = &schema {
            pool.execute(AssertSqlSafe(format!("create schema if not exists {schema}")))
                .await
                .map_err(|e| StoreError::Migration(e.to_string()))?;
        }
        sqlx::migrate!("./migrations/postgres").run(&pool).await.map_err(|e| StoreError::Migration(e.to_string()))?;
        info!(schema = schema.as_deref().unwrap_or("default"), "postgres store ready");
        Ok(Self { pool, entity_vectors: Arc::default() })
    }

    /// Rows of a `match_*` function call (`$1` vector, `$2` count, `$3` source, `$4` offset).
    async fn nearest_rows(&self, sql: &'static str, query: &VectorQuery<'_>) -> Result<Vec<PgRow>, StoreError> {
        sqlx::query(sql)
            .bind(Vector::from(query.embedding.to_vec()))
            .bind(i32::try_from(query.limit + query.offset).unwrap_or(i32::MAX))
            .bind(query.source.map(SourceId::as_str))
            .bind(i64::try_from(query.offset).unwrap_or(i64::MAX))
            .fetch_all(&self.pool)
            .await
            .map_err(classify)
    }

    /// The pool, for tests and tooling that inspect the tables directly.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

fn hit_from_row(row: &PgRow, similarity: Option<f64>, keyword_rank: Option<usize>) -> Result<Hit, sqlx::Error> {
    Ok(Hit {
        url: row.try_get("url")?,
        chunk_index: row.try_get("chunk_number")?,
        content: row.try_get("content")?,
        metadata: row.try_get("metadata")?,
        source_id: SourceId::from(row.try_get::<String, _>("source_id")?),
        similarity,
        keyword_rank,
        rrf_score: None,
        rerank_score: None,
    })
}

fn validate_schema_name(name: &str) -> Result<(), StoreError> {
    let mut chars = name.chars();
    let ok = chars.next().is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && name.len() <= 63;
    if ok {
        Ok(())
    } else {
        Err(StoreError::Migration(format!("schema name '{name}' must be lowercase letters, digits and underscores")))
    }
}

fn unavailable(err: sqlx::Error) -> StoreError {
    StoreError::Unavailable(err.to_string())
}

/// Connection-level failures mean the database is down; the rest are query errors.
#[expect(clippy::wildcard_enum_match_arm, reason = "sqlx::Error is non_exhaustive; the rest are query errors")]
fn classify(err: sqlx::Error) -> StoreError {
    match err {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => StoreError::Unavailable(err.to_string()),
        other => StoreError::Query(other.to_string()),
    }
}

#[async_trait]
impl StoreAdmin for PgStore {
    #[instrument(skip(self))]
    async fn ensure_embedding_space(&self, model: &str, dimensions: usize) -> Result<(), StoreError> {
        let dim = i32::try_from(dimensions).map_err(|_| StoreError::Query("dimension too large".into()))?;
        let mut tx = self.pool.begin().await.map_err(classify)?;
        sqlx::query(queries::LOCK).bind("meta").execute(&mut *tx).await.map_err(classify)?;
        let stored: Option<(String, i32)> =
            sqlx::query_as(queries::READ_META).fetch_optional(&mut *tx).await.map_err(classify)?;
        if let Some((stored_model, stored_dim)) = stored {
            if stored_model == model && stored_dim == dim {
                return Ok(());
            }
            return Err(StoreError::EmbeddingMismatch {
                stored_model,
                stored_dim: usize::try_from(stored_dim).unwrap_or_default(),
                model: model.to_owned(),
                dim: dimensions,
            });
        }
        // No meta yet: a fresh schema, or an anchor (mcp-crawl4ai-rag) database whose tables
        // already carry vector(1536) columns. Adopt existing columns only if they match.
        let wanted = format!("vector({dim})");
        for table in ["crawled_pages", "code_examples"] {
            let existing: Option<String> = sqlx::query_scalar(queries::EMBEDDING_COLUMN_TYPE)
                .bind(table)
                .fetch_optional(&mut *tx)
                .await
                .map_err(classify)?;
            match existing {
                Some(ty) if ty == wanted => {}
                Some(ty) => {
                    return Err(StoreError::EmbeddingMismatch {
                        stored_model: format!("unknown (existing column {table}.embedding is {ty})"),
                        stored_dim: ty.trim_start_matches("vector(").trim_end_matches(')').parse().unwrap_or_default(),
                        model: model.to_owned(),
                        dim: dimensions,
                    });
                }
                None => {
                    // `dim` is an integer we formatted ourselves: no injection possible.
                    let ddl = format!("alter table {table} add column embedding vector({dim})");
                    tx.execute(AssertSqlSafe(ddl)).await.map_err(classify)?;
                }
            }
            let index = format!(
                "create index if not exists {table}_embedding_hnsw on {table} \
                 using hnsw (embedding vector_cosine_ops)"
            );
            tx.execute(AssertSqlSafe(index)).await.map_err(classify)?;
        }
        sqlx::query(queries::WRITE_META).bind(model).bind(dim).execute(&mut *tx).await.map_err(classify)?;
        tx.commit().await.map_err(classify)?;
        info!(model, dimensions, "bound database to embedding model");
        Ok(())
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("select 1").execute(&self.pool).await.map_err(classify).map(|_| ())
    }

    async fn pending_migrations(&self) -> Result<usize, StoreError> {
        let applied: Vec<i64> = sqlx::query_scalar("select version from _sqlx_migrations where success")
            .fetch_all(&self.pool)
            .await
            .map_err(classify)?;
        Ok(sqlx::migrate!("./migrations/postgres").iter().filter(|m| !applied.contains(&m.version)).count())
    }
}

#[async_trait]
impl PageStore for PgStore {
    #[instrument(skip_all, fields(url = %write.page.url, chunks = write.chunks.len()))]
    async fn replace_page(&self, write: PageWrite<'_>) -> Result<(), StoreError> {
        let page = write.page;
        let url = page.url.as_str();
        let source = page.source_id.as_str();
        let crawled_at = chrono::Utc::now().to_rfc3339();
        let numbers: Vec<i32> = write.chunks.iter().map(|c| i32::try_from(c.index).unwrap_or(i32::MAX)).collect();
        let contents: Vec<&str> = write.chunks.iter().map(|c| c.content.as_str()).collect();
        let metadata: Vec<serde_json::Value> =
            write.chunks.iter().map(|c| c.metadata(page, write.content_hash, &crawled_at)).collect();
        let vectors: Vec<Vector> = write.embeddings.iter().map(|e| Vector::from(e.clone())).collect();
        let words = i32::try_from(page.word_count()).unwrap_or(i32::MAX);
        let chunk_count = i32::try_from(write.chunks.len()).unwrap_or(i32::MAX);

        // One transaction: readers see the old page or the new one, never a mix or a gap.
        let mut tx = self.pool.begin().await.map_err(classify)?;
        sqlx::query(queries::LOCK).bind(url).execute(&mut *tx).await.map_err(classify)?;
        sqlx::query(queries::UPSERT_SOURCE)
            .bind(source)
            .bind(write.source_summary)
            .execute(&mut *tx)
            .await
            .map_err(classify)?;
        sqlx::query(queries::DELETE_PAGE_CHUNKS).bind(url).execute(&mut *tx).await.map_err(classify)?;
        sqlx::query(queries::INSERT_CHUNKS)
            .bind(url)
            .bind(source)
            .bind(&numbers)
            .bind(&contents)
            .bind(&metadata)
            .bind(&vectors)
            .execute(&mut *tx)
            .await
            .map_err(classify)?;
        sqlx::query(queries::DELETE_PAGE_CODE).bind(url).execute(&mut *tx).await.map_err(classify)?;
        if !write.code_examples.is_empty() {
            let numbers: Vec<i32> =
                write.code_examples.iter().map(|c| i32::try_from(c.index).unwrap_or(i32::MAX)).collect();
            let codes: Vec<&str> = write.code_examples.iter().map(|c| c.code.as_str()).collect();
            let summaries: Vec<&str> = write.code_examples.iter().map(|c| c.summary.as_str()).collect();
            let metadata: Vec<serde_json::Value> =
                write.code_examples.iter().map(|c| c.metadata(url, source)).collect();
            let vectors: Vec<Vector> = write.code_embeddings.iter().map(|e| Vector::from(e.clone())).collect();
            sqlx::query(queries::INSERT_CODE)
                .bind(url)
                .bind(source)
                .bind(&numbers)
                .bind(&codes)
                .bind(&summaries)
                .bind(&metadata)
                .bind(&vectors)
                .execute(&mut *tx)
                .await
                .map_err(classify)?;
        }
        sqlx::query(queries::UPSERT_PAGE)
            .bind(url)
            .bind(source)
            .bind(page.title.as_deref())
            .bind(write.content_hash)
            .bind(words)
            .bind(chunk_count)
            .bind(page.validators.etag.as_deref())
            .bind(page.validators.last_modified.as_deref())
            .execute(&mut *tx)
            .await
            .map_err(classify)?;
        sqlx::query(queries::REFRESH_SOURCE_TOTALS).bind(source).execute(&mut *tx).await.map_err(classify)?;
        tx.commit().await.map_err(classify)
    }

    async fn page_hash(&self, url: &str) -> Result<Option<String>, StoreError> {
        sqlx::query_scalar("select content_hash from pages where url = $1")
            .bind(url)
            .fetch_optional(&self.pool)
            .await
            .map_err(classify)
    }

    async fn page_validators(&self, url: &str) -> Result<Option<Validators>, StoreError> {
        let row: Option<(Option<String>, Option<String>)> =
            sqlx::query_as(queries::PAGE_VALIDATORS).bind(url).fetch_optional(&self.pool).await.map_err(classify)?;
        Ok(row.map(|(etag, last_modified)| Validators { etag, last_modified }))
    }

    async fn delete_page(&self, url: &str) -> Result<DeletedCounts, StoreError> {
        self.delete_page_rows(url).await
    }
}

#[async_trait]
impl EmbeddingCache for PgStore {
    async fn cached_embeddings(&self, model: &str, hashes: &[String]) -> Result<HashMap<String, Vec<f32>>, StoreError> {
        let rows: Vec<(String, Vec<f32>)> = sqlx::query_as(queries::CACHED_EMBEDDINGS)
            .bind(model)
            .bind(hashes)
            .fetch_all(&self.pool)
            .await
            .map_err(classify)?;
        Ok(rows.into_iter().collect())
    }

    async fn cache_embeddings(&self, model: &str, entries: &[(String, Vec<f32>)]) -> Result<(), StoreError> {
        if entries.is_empty() {
            return Ok(());
        }
        let hashes: Vec<&str> = entries.iter().map(|(h, _)| h.as_str()).collect();
        let vectors: Vec<Vector> = entries.iter().map(|(_, v)| Vector::from(v.clone())).collect();
        sqlx::query(queries::CACHE_EMBEDDINGS)
            .bind(model)
            .bind(&hashes)
            .bind(&vectors)
            .execute(&self.pool)
            .await
            .map_err(classify)
            .map(|_| ())
    }
}

#[async_trait]
impl SearchIndex for PgStore {
    #[instrument(skip_all, fields(limit = query.limit, offset = query.offset))]
    async fn search_vector(&self, query: VectorQuery<'_>) -> Result<Vec<Hit>, StoreError> {
        let rows = self.nearest_rows(queries::SEARCH_CHUNKS, &query).await?;
        rows.iter()
            .map(|row| hit_from_row(row, Some(row.try_get("similarity")?), None))
            .collect::<Result<_, sqlx::Error>>()
            .map_err(classify)
    }

    #[instrument(skip_all, fields(limit = query.limit, offset = query.offset))]
    async fn search_code(&self, query: VectorQuery<'_>) -> Result<Vec<CodeHit>, StoreError> {
        let rows = self.nearest_rows(queries::SEARCH_CODE, &query).await?;
        rows.iter()
            .map(|row| {
                Ok(CodeHit {
                    url: row.try_get("url")?,
                    code: row.try_get("content")?,
                    summary: row.try_get("summary")?,
                    metadata: row.try_get("metadata")?,
                    source_id: SourceId::from(row.try_get::<String, _>("source_id")?),
                    similarity: row.try_get("similarity")?,
                    rerank_score: None,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(classify)
    }

    #[instrument(skip_all, fields(limit = query.limit))]
    async fn search_keyword(&self, query: KeywordQuery<'_>) -> Result<Vec<Hit>, StoreError> {
        // All words first (precise for identifiers); any word when that finds nothing.
        let mut rows = Vec::new();
        for joiner in [" & ", " | "] {
            rows = sqlx::query(queries::SEARCH_KEYWORD)
                .bind(query.text)
                .bind(query.source.map(SourceId::as_str))
                .bind(i64::try_from(query.limit).unwrap_or(i64::MAX))
                .bind(joiner)
                .fetch_all(&self.pool)
                .await
                .map_err(classify)?;
            if !rows.is_empty() {
                break;
            }
        }
        rows.iter()
            .enumerate()
            .map(|(rank, row)| hit_from_row(row, None, Some(rank + 1)))
            .collect::<Result<_, sqlx::Error>>()
            .map_err(classify)
    }

    async fn chunks_at(&self, keys: &[(String, i32)]) -> Result<Vec<Hit>, StoreError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let keys: Vec<serde_json::Value> = keys.iter().map(|(u, c)| serde_json::json!({"u": u, "c": c})).collect();
        let rows = sqlx::query(queries::CHUNKS_AT)
            .bind(sqlx::types::Json(keys))
            .fetch_all(&self.pool)
            .await
            .map_err(classify)?;
        rows.iter().map(|row| hit_from_row(row, None, None)).collect::<Result<_, sqlx::Error>>().map_err(classify)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_names_are_plain_identifiers() {
        assert!(validate_schema_name("crawlrag_test_1").is_ok());
        assert!(validate_schema_name("public; drop table x").is_err());
        assert!(validate_schema_name("Upper").is_err());
        assert!(validate_schema_name("").is_err());
    }
}
