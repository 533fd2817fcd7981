//! `Store` on one SQLite file (the embedded default: no server, no setup), through sqlx.
//! Vectors are little-endian f32 blobs searched exactly in Rust (streamed, O(k) memory); full
//! text has an FTS5 index kept in step by triggers. WAL mode lets readers run while one writer
//! replaces a page.

mod api_keys;
mod catalog;
mod code_graph;
mod graph;
mod jobs;
mod queries;
mod vector_cache;
mod webhooks;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use async_trait::async_trait;
use futures::TryStreamExt;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, SqlitePool};
use tracing::{info, instrument};

use self::vector_cache::VectorCache;
use crate::adapters::sql_body::graph::EntityVectors;
use crate::domain::vector::{TopK, cosine, from_le_bytes, to_le_bytes};
use crate::domain::{CodeHit, Hit, SourceId, Validators};
use crate::ports::{
    DeletedCounts, EmbeddingCache, KeywordQuery, PageStore, PageWrite, SearchIndex, StoreAdmin, StoreError, VectorQuery,
};

const BUSY_TIMEOUT: Duration = Duration::from_secs(10);
const MAX_CONNECTIONS: u32 = 4;

#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    path: PathBuf,
    /// Chunk vectors in memory, rebuilt when the index generation moves. A std RwLock: never
    /// held across an await (the rebuild happens outside it).
    vectors: Arc<RwLock<VectorCache>>,
    /// Entity name vectors of the embedded graph, appended as entities are added.
    entity_vectors: Arc<RwLock<EntityVectors>>,
}

impl SqliteStore {
    /// Open (creating if needed) the database file and apply migrations.
    ///
    /// # Errors
    /// `Unavailable` when the file cannot be created or opened, `Migration` when the schema
    /// cannot be set up.
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| {
                StoreError::Unavailable(format!("cannot create the database folder {}: {e}", dir.display()))
            })?;
        }
        let options = SqliteConnectOptions::from_str("sqlite://")
            .map_err(|e| StoreError::Unavailable(e.to_string()))?
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);
        let pool = SqlitePoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .connect_with(options)
            .await
            .map_err(|e| StoreError::Unavailable(format!("cannot open {}: {e}", path.display())))?;
        sqlx::migrate!("./migrations/sqlite").run(&pool).await.map_err(|e| StoreError::Migration(e.to_string()))?;
        info!(path = %path.display(), "sqlite store ready");
        Ok(Self {
            pool,
            path: path.to_owned(),
            vectors: Arc::new(RwLock::new(VectorCache::new(-1))),
            entity_vectors: Arc::default(),
        })
    }

    /// Exact nearest neighbours: stream every candidate's vector (`scan` selects id + embedding,
    /// filtered by source), keep the best `limit + offset`, return (score, id) after the offset.
    async fn nearest(&self, scan: &'static str, query: &VectorQuery<'_>) -> Result<Vec<(f32, i64)>, StoreError> {
        let mut top = TopK::new(query.limit + query.offset);
        let mut rows = sqlx::query(scan).bind(query.source.map(SourceId::as_str)).fetch(&self.pool);
        while let Some(row) = rows.try_next().await.map_err(classify)? {
            let id: i64 = row.try_get("id").map_err(classify)?;
            let blob: &[u8] = row.try_get("embedding").map_err(classify)?;
            top.push(cosine(query.embedding, &from_le_bytes(blob)), id);
        }
        Ok(top.into_sorted().into_iter().skip(query.offset).collect())
    }

    /// Chunk nearest neighbours from the in-memory copy, reloading it first if a writer committed.
    async fn nearest_chunks(&self, query: &VectorQuery<'_>) -> Result<Vec<(f32, i64)>, StoreError> {
        let generation: i64 =
            sqlx::query_scalar(queries::READ_GENERATION).fetch_one(&self.pool).await.map_err(classify)?;
        let current = self.vectors.read().unwrap_or_else(PoisonError::into_inner).generation;
        if current != generation {
            let mut fresh = VectorCache::new(generation);
            let mut rows = sqlx::query(queries::SCAN_ALL_EMBEDDINGS).fetch(&self.pool);
            while let Some(row) = rows.try_next().await.map_err(classify)? {
                let id: i64 = row.try_get("id").map_err(classify)?;
                let source: &str = row.try_get("source_id").map_err(classify)?;
                let blob: &[u8] = row.try_get("embedding").map_err(classify)?;
                fresh.push(id, source, blob);
            }
            *self.vectors.write().unwrap_or_else(PoisonError::into_inner) = fresh;
        }
        let cache = self.vectors.read().unwrap_or_else(PoisonError::into_inner);
        let ranked = cache.nearest(query.embedding, query.source.map(SourceId::as_str), query.limit + query.offset);
        Ok(ranked.into_iter().skip(query.offset).collect())
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// An FTS5 expression joining the words of `text` with `joiner` (` AND ` / ` OR `). Every word is
/// quoted, so user input can never be FTS5 syntax (operators, column filters); `None` when the
/// text has no words.
fn fts5_words(text: &str, joiner: &str) -> Option<String> {
    let words: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(64)
        .map(|w| format!("\"{w}\""))
        .collect();
    (!words.is_empty()).then(|| words.join(joiner))
}

fn hit_from_row(
    row: &sqlx::sqlite::SqliteRow,
    similarity: Option<f64>,
    keyword_rank: Option<usize>,
) -> Result<Hit, sqlx::Error> {
    let metadata: String = row.try_get("metadata")?;
    Ok(Hit {
        url: row.try_get("url")?,
        chunk_index: i32::try_from(row.try_get::<i64, _>("chunk_number")?).unwrap_or(i32::MAX),
        content: row.try_get("content")?,
        metadata: serde_json::from_str(&metadata).unwrap_or(serde_json::Value::Null),
        source_id: SourceId::from(row.try_get::<String, _>("source_id")?),
        similarity,
        keyword_rank,
        rrf_score: None,
        rerank_score: None,
    })
}

#[expect(clippy::wildcard_enum_match_arm, reason = "sqlx::Error is non_exhaustive; the rest are query errors")]
fn classify(err: sqlx::Error) -> StoreError {
    match err {
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::WorkerCrashed => {
            StoreError::Unavailable(err.to_string())
        }
        other => StoreError::Query(other.to_string()),
    }
}

fn to_i64(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

#[async_trait]
impl StoreAdmin for SqliteStore {
    async fn ensure_embedding_space(&self, model: &str, dimensions: usize) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.map_err(classify)?;
        let stored: Option<(String, i64)> =
            sqlx::query_as(queries::READ_META).fetch_optional(&mut *tx).await.map_err(classify)?;
        match stored {
            Some((stored_model, stored_dim)) if stored_model == model && stored_dim == to_i64(dimensions) => Ok(()),
            Some((stored_model, stored_dim)) => Err(StoreError::EmbeddingMismatch {
                stored_model,
                stored_dim: usize::try_from(stored_dim).unwrap_or_default(),
                model: model.to_owned(),
                dim: dimensions,
            }),
            None => {
                sqlx::query(queries::WRITE_META)
                    .bind(model)
                    .bind(to_i64(dimensions))
                    .execute(&mut *tx)
                    .await
                    .map_err(classify)?;
                tx.commit().await.map_err(classify)?;
                info!(model, dimensions, "bound database to embedding model");
                Ok(())
            }
        }
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("select 1").execute(&self.pool).await.map_err(classify).map(|_| ())
    }

    async fn pending_migrations(&self) -> Result<usize, StoreError> {
        let applied: Vec<i64> = sqlx::query_scalar("select version from _sqlx_migrations where success")
            .fetch_all(&self.pool)
            .await
            .map_err(classify)?;
        Ok(sqlx::migrate!("./migrations/sqlite").iter().filter(|m| !applied.contains(&m.version)).count())
    }
}

#[async_trait]
impl PageStore for SqliteStore {
    #[instrument(skip_all, fields(url = %write.page.url, chunks = write.chunks.len()))]
    async fn replace_page(&self, write: PageWrite<'_>) -> Result<(), StoreError> {
        let page = write.page;
        let url = page.url.as_str();
        let source = page.source_id.as_str();
        let crawled_at = chrono::Utc::now().to_rfc3339();
        // One transaction: readers (WAL snapshots) see the old page or the new one, never a mix.
        let mut tx = self.pool.begin().await.map_err(classify)?;
        sqlx::query(queries::UPSERT_SOURCE)
            .bind(source)
            .bind(write.source_summary)
            .execute(&mut *tx)
            .await
            .map_err(classify)?;
        sqlx::query(queries::BUMP_GENERATION).execute(&mut *tx).await.map_err(classify)?;
        sqlx::query(queries::DELETE_PAGE_CHUNKS).bind(url).execute(&mut *tx).await.map_err(classify)?;
        for (chunk, embedding) in write.chunks.iter().zip(write.embeddings) {
            sqlx::query(queries::INSERT_CHUNK)
                .bind(url)
                .bind(to_i64(chunk.index))
                .bind(&chunk.content)
                .bind(chunk.metadata(page, write.content_hash, &crawled_at).to_string())
                .bind(source)
                .bind(to_le_bytes(embedding))
                .execute(&mut *tx)
                .await
                .map_err(classify)?;
        }
        sqlx::query(queries::DELETE_PAGE_CODE).bind(url).execute(&mut *tx).await.map_err(classify)?;
        for (example, embedding) in write.code_examples.iter().zip(write.code_embeddings) {
            sqlx::query(queries::INSERT_CODE)
                .bind(url)
                .bind(to_i64(example.index))
                .bind(&example.code)
                .bind(&example.summary)
                .bind(example.metadata(url, source).to_string())
                .bind(source)
                .bind(to_le_bytes(embedding))
                .execute(&mut *tx)
                .await
                .map_err(classify)?;
        }
        sqlx::query(queries::UPSERT_PAGE)
            .bind(url)
            .bind(source)
            .bind(page.title.as_deref())
            .bind(write.content_hash)
            .bind(to_i64(page.word_count()))
            .bind(to_i64(write.chunks.len()))
            .bind(page.validators.etag.as_deref())
            .bind(page.validators.last_modified.as_deref())
            .execute(&mut *tx)
            .await
            .map_err(classify)?;
        sqlx::query(queries::REFRESH_SOURCE_TOTALS).bind(source).execute(&mut *tx).await.map_err(classify)?;
        tx.commit().await.map_err(classify)
    }

    async fn page_hash(&self, url: &str) -> Result<Option<String>, StoreError> {
        sqlx::query_scalar("select content_hash from pages where url = ?1")
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
impl EmbeddingCache for SqliteStore {
    async fn cached_embeddings(&self, model: &str, hashes: &[String]) -> Result<HashMap<String, Vec<f32>>, StoreError> {
        let mut found = HashMap::new();
        for hash in hashes {
            let blob: Option<Vec<u8>> = sqlx::query_scalar(queries::CACHED_EMBEDDING)
                .bind(model)
                .bind(hash)
                .fetch_optional(&self.pool)
                .await
                .map_err(classify)?;
            if let Some(blob) = blob {
                found.insert(hash.clone(), from_le_bytes(&blob));
            }
        }
        Ok(found)
    }

    async fn cache_embeddings(&self, model: &str, entries: &[(String, Vec<f32>)]) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.map_err(classify)?;
        for (hash, vector) in entries {
            sqlx::query(queries::CACHE_EMBEDDING)
                .bind(model)
                .bind(hash)
                .bind(to_le_bytes(vector))
                .execute(&mut *tx)
                .await
                .map_err(classify)?;
        }
        tx.commit().await.map_err(classify)
    }
}

#[async_trait]
impl SearchIndex for SqliteStore {
    #[instrument(skip_all, fields(limit = query.limit, offset = query.offset))]
    async fn search_vector(&self, query: VectorQuery<'_>) -> Result<Vec<Hit>, StoreError> {
        let ranked = self.nearest_chunks(&query).await?;
        let mut hits = Vec::with_capacity(query.limit);
        for (score, id) in ranked {
            let row = sqlx::query(queries::CHUNK_BY_ID).bind(id).fetch_one(&self.pool).await.map_err(classify)?;
            hits.push(hit_from_row(&row, Some(f64::from(score)), None).map_err(classify)?);
        }
        Ok(hits)
    }

    #[instrument(skip_all, fields(limit = query.limit, offset = query.offset))]
    async fn search_code(&self, query: VectorQuery<'_>) -> Result<Vec<CodeHit>, StoreError> {
        let ranked = self.nearest(queries::SCAN_CODE_EMBEDDINGS, &query).await?;
        let mut hits = Vec::with_capacity(ranked.len());
        for (score, id) in ranked {
            let row = sqlx::query(queries::CODE_BY_ID).bind(id).fetch_one(&self.pool).await.map_err(classify)?;
            let metadata: String = row.try_get("metadata").map_err(classify)?;
            hits.push(CodeHit {
                url: row.try_get("url").map_err(classify)?,
                code: row.try_get("content").map_err(classify)?,
                summary: row.try_get("summary").map_err(classify)?,
                metadata: serde_json::from_str(&metadata).unwrap_or(serde_json::Value::Null),
                source_id: SourceId::from(row.try_get::<String, _>("source_id").map_err(classify)?),
                similarity: f64::from(score),
                rerank_score: None,
            });
        }
        Ok(hits)
    }

    #[instrument(skip_all, fields(limit = query.limit))]
    async fn search_keyword(&self, query: KeywordQuery<'_>) -> Result<Vec<Hit>, StoreError> {
        // All words first (precise for identifiers); any word when that finds nothing.
        let mut rows = Vec::new();
        for joiner in [" AND ", " OR "] {
            let Some(expression) = fts5_words(query.text, joiner) else { return Ok(Vec::new()) };
            rows = sqlx::query(queries::SEARCH_KEYWORD)
                .bind(expression)
                .bind(query.source.map(SourceId::as_str))
                .bind(to_i64(query.limit))
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
    fn fts5_expressions_quote_every_word() {
        let any = fts5_words("E-4012 lock* NEAR(x)", " OR ");
        assert_eq!(any.as_deref(), Some("\"E\" OR \"4012\" OR \"lock\" OR \"NEAR\" OR \"x\""));
        assert_eq!(fts5_words("a b", " AND ").as_deref(), Some("\"a\" AND \"b\""));
        assert_eq!(fts5_words(" -- ** ", " OR "), None);
    }
}
