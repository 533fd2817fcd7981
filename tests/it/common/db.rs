//! Reading back what a store wrote, the same way for both backends, so tests check real rows.

use serde_json::Value;
use sqlx::{PgPool, Row, SqlitePool};

#[derive(Debug, Clone)]
pub enum Db {
    Postgres(PgPool),
    Sqlite(SqlitePool),
}

/// One stored chunk as a test sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredChunk {
    pub chunk_number: i64,
    pub content: String,
    pub metadata: Value,
    pub source_id: String,
    pub dims: usize,
}

impl Db {
    /// The chunks stored for `url`, by chunk number.
    pub async fn chunks(&self, url: &str) -> Vec<StoredChunk> {
        match self {
            Db::Postgres(pool) => sqlx::query(
                "select chunk_number, content, metadata, source_id, vector_dims(embedding) as dims
                 from crawled_pages where url = $1 order by chunk_number",
            )
            .bind(url)
            .fetch_all(pool)
            .await
            .unwrap()
            .iter()
            .map(|r| StoredChunk {
                chunk_number: i64::from(r.get::<i32, _>("chunk_number")),
                content: r.get("content"),
                metadata: r.get("metadata"),
                source_id: r.get("source_id"),
                dims: usize::try_from(r.get::<i32, _>("dims")).unwrap(),
            })
            .collect(),
            Db::Sqlite(pool) => sqlx::query(
                "select chunk_number, content, metadata, source_id, length(embedding) / 4 as dims
                 from crawled_pages where url = ?1 order by chunk_number",
            )
            .bind(url)
            .fetch_all(pool)
            .await
            .unwrap()
            .iter()
            .map(|r| StoredChunk {
                chunk_number: r.get("chunk_number"),
                content: r.get("content"),
                metadata: serde_json::from_str(&r.get::<String, _>("metadata")).unwrap(),
                source_id: r.get("source_id"),
                dims: usize::try_from(r.get::<i64, _>("dims")).unwrap(),
            })
            .collect(),
        }
    }

    /// (summary, total_word_count) of a source.
    pub async fn source(&self, source_id: &str) -> (String, i64) {
        match self {
            Db::Postgres(pool) => {
                let row = sqlx::query("select summary, total_word_count from sources where source_id = $1")
                    .bind(source_id)
                    .fetch_one(pool)
                    .await
                    .unwrap();
                (row.get("summary"), i64::from(row.get::<i32, _>("total_word_count")))
            }
            Db::Sqlite(pool) => {
                let row = sqlx::query("select summary, total_word_count from sources where source_id = ?1")
                    .bind(source_id)
                    .fetch_one(pool)
                    .await
                    .unwrap();
                (row.get("summary"), row.get("total_word_count"))
            }
        }
    }

    /// Rows in one of crawlrag's tables (a fixed name, never user input).
    pub async fn count(&self, table: &'static str) -> i64 {
        let sql = sqlx::AssertSqlSafe(format!("select count(*) from {table}"));
        match self {
            Db::Postgres(pool) => sqlx::query_scalar(sql).fetch_one(pool).await.unwrap(),
            Db::Sqlite(pool) => sqlx::query_scalar(sql).fetch_one(pool).await.unwrap(),
        }
    }

    /// One integer a fixed query answers (SQL both dialects accept, never user input).
    pub async fn integer(&self, sql: &'static str) -> i64 {
        let sql = sqlx::AssertSqlSafe(sql);
        match self {
            Db::Postgres(pool) => sqlx::query_scalar(sql).fetch_one(pool).await.unwrap(),
            Db::Sqlite(pool) => sqlx::query_scalar(sql).fetch_one(pool).await.unwrap(),
        }
    }
}
