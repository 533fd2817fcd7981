//! The embedded graph backend: the `GraphStore` port on the `graph_*` tables of either SQL store,
//! once for both dialects (see `sql_body`). Rows travel as JSON array parameters, so a page's
//! mentions or relations are one statement on either dialect; entity rows (they carry vector
//! bytes) go through the dialect's own `upsert_entities`.
//!
//! Entity name vectors are searched in memory ([`EntityVectors`]): new entities are appended by
//! id without a reload; deleting entities bumps `graph_generation`, which makes readers reload.

use std::collections::BTreeSet;

pub(crate) use crate::adapters::entity_vectors::EntityVectors;
use crate::ports::{EntityRecord, GraphError, StoreError};

/// Aliases listed per entity.
pub(crate) const MAX_ALIASES: i64 = 8;

/// A store error as the graph port says it.
pub(crate) fn graph_error(err: StoreError) -> GraphError {
    match err {
        StoreError::Unavailable(e) => GraphError::Unavailable(e),
        other @ (StoreError::EmbeddingMismatch { .. } | StoreError::Migration(_) | StoreError::Query(_)) => {
            GraphError::Query(other.to_string())
        }
    }
}

/// The keys of `a` and `b`, sorted and unique (a stable lock order for concurrent writers).
pub(crate) fn union_keys<'a>(
    a: impl IntoIterator<Item = &'a str>,
    b: impl IntoIterator<Item = &'a str>,
) -> Vec<String> {
    a.into_iter().chain(b).collect::<BTreeSet<_>>().into_iter().map(str::to_owned).collect()
}

/// The exclusive upper bound of keys starting with `prefix`.
pub(crate) fn prefix_end(prefix: &str) -> String {
    format!("{prefix}\u{10FFFF}")
}

/// An entity row: key, name, type, description, mention count, aliases as a JSON array.
pub(crate) type EntityRow = (String, String, String, String, i64, Option<String>);

pub(crate) fn entity_from_row(
    (key, name, entity_type, description, mention_count, aliases): EntityRow,
) -> EntityRecord {
    let mut aliases: Vec<String> = aliases.and_then(|a| serde_json::from_str(&a).ok()).unwrap_or_default();
    aliases.retain(|a| a != &name);
    EntityRecord { key, name, entity_type, description, aliases, mention_count }
}

/// Whether a write failed only because a concurrent writer got in the way (Postgres deadlock or
/// serialization failure): worth one more try.
pub(crate) fn is_transient(err: &StoreError) -> bool {
    matches!(err, StoreError::Query(e) if e.contains("deadlock") || e.contains("could not serialize"))
}

/// `impl GraphStore for $store` on its `graph_*` tables. `$sql` holds the statements and
/// `upsert_entities(&mut conn, &[EntityFacts])`; the store has `pool` and `entity_vectors`.
macro_rules! impl_embedded_graph {
    ($store:ty, $sql:path, $classify:path) => {
        impl $store {
            /// Replace one page's rows (`graph: None` only deletes them), in one transaction.
            async fn write_page_graph(
                &self,
                url: &str,
                graph: Option<&$crate::ports::PageGraph<'_>>,
            ) -> Result<$crate::ports::GraphDeleted, $crate::ports::StoreError> {
                use $sql as sql;
                let mut tx = self.pool.begin().await.map_err($classify)?;
                // A write first: SQLite takes the write lock now rather than upgrading later.
                let documents = sqlx::query(sql::DELETE_DOCUMENT).bind(url).execute(&mut *tx).await.map_err($classify)?;
                let old_keys: Vec<String> =
                    sqlx::query_scalar(sql::PAGE_ENTITY_KEYS).bind(url).fetch_all(&mut *tx).await.map_err($classify)?;
                let mentions = sqlx::query(sql::DELETE_PAGE_MENTIONS).bind(url).execute(&mut *tx).await.map_err($classify)?;
                let relations =
                    sqlx::query(sql::DELETE_PAGE_RELATIONS).bind(url).execute(&mut *tx).await.map_err($classify)?;
                sqlx::query(sql::DELETE_PAGE_LINKS).bind(url).execute(&mut *tx).await.map_err($classify)?;
                let mut new_keys = Vec::new();
                if let Some(graph) = graph {
                    let source = graph.source.as_str();
                    sqlx::query(sql::INSERT_DOCUMENT)
                        .bind(url)
                        .bind(source)
                        .bind(graph.title)
                        .bind(graph.content_hash)
                        .execute(&mut *tx)
                        .await
                        .map_err($classify)?;
                    let mut entities = graph.entities.to_vec();
                    entities.sort_by(|a, b| a.key.cmp(&b.key));
                    sql::upsert_entities(&mut tx, &entities).await.map_err($classify)?;
                    new_keys = entities.into_iter().map(|e| e.key).collect();
                    let mentions: Vec<serde_json::Value> = graph
                        .chunk_mentions
                        .iter()
                        .enumerate()
                        .flat_map(|(chunk, found)| {
                            found.iter().map(move |m| {
                                serde_json::json!({"c": chunk, "k": m.key, "n": m.name, "m": m.count})
                            })
                        })
                        .collect();
                    sqlx::query(sql::INSERT_MENTIONS)
                        .bind(url)
                        .bind(source)
                        .bind(sqlx::types::Json(mentions))
                        .execute(&mut *tx)
                        .await
                        .map_err($classify)?;
                    let relations: Vec<serde_json::Value> = graph
                        .relations
                        .iter()
                        .map(|r| {
                            serde_json::json!({"s": r.source, "t": r.target, "y": r.relation_type, "w": r.weight, "c": r.count})
                        })
                        .collect();
                    sqlx::query(sql::INSERT_RELATIONS)
                        .bind(url)
                        .bind(source)
                        .bind(sqlx::types::Json(relations))
                        .execute(&mut *tx)
                        .await
                        .map_err($classify)?;
                    sqlx::query(sql::INSERT_LINKS)
                        .bind(url)
                        .bind(source)
                        .bind(sqlx::types::Json(graph.links))
                        .execute(&mut *tx)
                        .await
                        .map_err($classify)?;
                }
                let affected = $crate::adapters::sql_body::graph::union_keys(
                    old_keys.iter().map(String::as_str),
                    new_keys.iter().map(String::as_str),
                );
                let entities = self.refresh_entities(&mut tx, &affected).await?;
                tx.commit().await.map_err($classify)?;
                Ok($crate::ports::GraphDeleted {
                    documents: documents.rows_affected(),
                    mentions: mentions.rows_affected(),
                    relations: relations.rows_affected(),
                    entities,
                })
            }

            /// Recount the mentions of `keys` and delete the entities nothing mentions any more
            /// (bumping the generation when any go, so readers drop their vectors).
            async fn refresh_entities(
                &self,
                tx: &mut sqlx::Transaction<'_, <$store as $crate::adapters::sql_body::graph::HasDatabase>::Db>,
                keys: &[String],
            ) -> Result<u64, $crate::ports::StoreError> {
                use $sql as sql;
                if keys.is_empty() {
                    return Ok(0);
                }
                sqlx::query(sql::RECOUNT_MENTIONS).bind(sqlx::types::Json(keys)).execute(&mut **tx).await.map_err($classify)?;
                let orphans = sqlx::query(sql::DELETE_ORPHANS)
                    .bind(sqlx::types::Json(keys))
                    .execute(&mut **tx)
                    .await
                    .map_err($classify)?
                    .rows_affected();
                if orphans > 0 {
                    sqlx::query(sql::BUMP_GRAPH_GENERATION).execute(&mut **tx).await.map_err($classify)?;
                }
                Ok(orphans)
            }

            /// Entities of `keys` (any order).
            async fn entity_rows(&self, keys: &[String]) -> Result<Vec<$crate::ports::EntityRecord>, $crate::ports::StoreError> {
                use $sql as sql;
                if keys.is_empty() {
                    return Ok(Vec::new());
                }
                let rows: Vec<$crate::adapters::sql_body::graph::EntityRow> = sqlx::query_as(sql::ENTITIES_BY_KEY)
                    .bind(sqlx::types::Json(keys))
                    .bind($crate::adapters::sql_body::graph::MAX_ALIASES)
                    .fetch_all(&self.pool)
                    .await
                    .map_err($classify)?;
                Ok(rows.into_iter().map($crate::adapters::sql_body::graph::entity_from_row).collect())
            }

            /// Bring the in-memory entity vectors up to date: a full reload after deletions,
            /// else only the rows added since.
            async fn refresh_entity_vectors(&self) -> Result<(), $crate::ports::StoreError> {
                use futures::TryStreamExt;
                use sqlx::Row;
                use $sql as sql;
                let generation: i64 =
                    sqlx::query_scalar(sql::READ_GRAPH_GENERATION).fetch_one(&self.pool).await.map_err($classify)?;
                let since = {
                    let vectors = self.entity_vectors.read().unwrap_or_else(std::sync::PoisonError::into_inner);
                    if vectors.generation == Some(generation) { vectors.max_id } else { -1 }
                };
                let mut fresh = Vec::new();
                let mut rows = sqlx::query(sql::ENTITY_VECTORS_SINCE).bind(since).fetch(&self.pool);
                while let Some(row) = rows.try_next().await.map_err($classify)? {
                    let id: i64 = row.try_get("id").map_err($classify)?;
                    let key: String = row.try_get("key").map_err($classify)?;
                    let blob: Vec<u8> = row.try_get("embedding").map_err($classify)?;
                    fresh.push((id, key, blob));
                }
                let mut vectors = self.entity_vectors.write().unwrap_or_else(std::sync::PoisonError::into_inner);
                if since < 0 {
                    vectors.reset(generation);
                }
                for (id, key, blob) in fresh {
                    if id > vectors.max_id {
                        vectors.push(id, key, &blob);
                    }
                }
                Ok(())
            }
        }

        #[async_trait::async_trait]
        impl $crate::ports::GraphStore for $store {
            fn backend(&self) -> &'static str {
                "embedded"
            }

            async fn replace_page(&self, graph: $crate::ports::PageGraph<'_>) -> Result<(), $crate::ports::GraphError> {
                let mut attempt = 0;
                loop {
                    match self.write_page_graph(graph.url, Some(&graph)).await {
                        Ok(_) => return Ok(()),
                        Err(e) if attempt < 3 && $crate::adapters::sql_body::graph::is_transient(&e) => attempt += 1,
                        Err(e) => return Err($crate::adapters::sql_body::graph::graph_error(e)),
                    }
                }
            }

            async fn page_hash(&self, url: &str) -> Result<Option<String>, $crate::ports::GraphError> {
                use $sql as sql;
                sqlx::query_scalar(sql::DOCUMENT_HASH)
                    .bind(url)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(|e| $crate::adapters::sql_body::graph::graph_error($classify(e)))
            }

            async fn delete_page(&self, url: &str) -> Result<$crate::ports::GraphDeleted, $crate::ports::GraphError> {
                self.write_page_graph(url, None).await.map_err($crate::adapters::sql_body::graph::graph_error)
            }

            async fn delete_source(
                &self,
                source: &$crate::domain::SourceId,
            ) -> Result<$crate::ports::GraphDeleted, $crate::ports::GraphError> {
                use $crate::adapters::sql_body::graph::graph_error;
                use $sql as sql;
                let run = async {
                    let mut tx = self.pool.begin().await.map_err($classify)?;
                    let documents = sqlx::query(sql::DELETE_SOURCE_DOCUMENTS)
                        .bind(source.as_str())
                        .execute(&mut *tx)
                        .await
                        .map_err($classify)?;
                    let keys: Vec<String> = sqlx::query_scalar(sql::SOURCE_ENTITY_KEYS)
                        .bind(source.as_str())
                        .fetch_all(&mut *tx)
                        .await
                        .map_err($classify)?;
                    let mut counts = [0_u64; 2];
                    for (slot, statement) in counts.iter_mut().zip([sql::DELETE_SOURCE_MENTIONS, sql::DELETE_SOURCE_RELATIONS]) {
                        *slot = sqlx::query(statement)
                            .bind(source.as_str())
                            .execute(&mut *tx)
                            .await
                            .map_err($classify)?
                            .rows_affected();
                    }
                    sqlx::query(sql::DELETE_SOURCE_LINKS).bind(source.as_str()).execute(&mut *tx).await.map_err($classify)?;
                    let entities = self.refresh_entities(&mut tx, &keys).await?;
                    tx.commit().await.map_err($classify)?;
                    Ok::<_, $crate::ports::StoreError>($crate::ports::GraphDeleted {
                        documents: documents.rows_affected(),
                        mentions: counts[0],
                        relations: counts[1],
                        entities,
                    })
                };
                run.await.map_err(graph_error)
            }

            async fn nearest_entities(
                &self,
                embedding: &[f32],
                source: Option<&$crate::domain::SourceId>,
                limit: usize,
            ) -> Result<Vec<($crate::ports::EntityRecord, f32)>, $crate::ports::GraphError> {
                use $crate::adapters::sql_body::graph::graph_error;
                use $sql as sql;
                self.refresh_entity_vectors().await.map_err(graph_error)?;
                // A source filter is applied after the scan: ask for more so enough survive.
                let wanted = if source.is_some() { limit.saturating_mul(8).max(64) } else { limit };
                let ranked = self
                    .entity_vectors
                    .read()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .nearest(embedding, wanted);
                let mut keys: Vec<String> = ranked.iter().map(|(_, key)| key.clone()).collect();
                if let Some(source) = source {
                    let inside: std::collections::HashSet<String> = sqlx::query_scalar(sql::KEYS_IN_SOURCE)
                        .bind(source.as_str())
                        .bind(sqlx::types::Json(&keys))
                        .fetch_all(&self.pool)
                        .await
                        .map_err(|e| graph_error($classify(e)))?
                        .into_iter()
                        .collect();
                    keys.retain(|k| inside.contains(k));
                }
                keys.truncate(limit);
                let mut by_key: std::collections::HashMap<String, $crate::ports::EntityRecord> =
                    self.entity_rows(&keys).await.map_err(graph_error)?.into_iter().map(|e| (e.key.clone(), e)).collect();
                Ok(ranked.into_iter().filter_map(|(score, key)| by_key.remove(&key).map(|e| (e, score))).collect())
            }

            async fn entities(&self, keys: &[String]) -> Result<Vec<$crate::ports::EntityRecord>, $crate::ports::GraphError> {
                self.entity_rows(keys).await.map_err($crate::adapters::sql_body::graph::graph_error)
            }

            async fn entities_with_prefix(
                &self,
                prefix: &str,
                limit: usize,
            ) -> Result<Vec<$crate::ports::EntityRecord>, $crate::ports::GraphError> {
                use $crate::adapters::sql_body::graph::{graph_error, prefix_end};
                use $sql as sql;
                let keys: Vec<String> = sqlx::query_scalar(sql::KEYS_WITH_PREFIX)
                    .bind(prefix)
                    .bind(prefix_end(prefix))
                    .bind(i64::try_from(limit).unwrap_or(i64::MAX))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(|e| graph_error($classify(e)))?;
                let mut found = self.entity_rows(&keys).await.map_err(graph_error)?;
                found.sort_by(|a, b| b.mention_count.cmp(&a.mention_count).then_with(|| a.key.cmp(&b.key)));
                Ok(found)
            }

            async fn relations_of(
                &self,
                keys: &[String],
                source: Option<&$crate::domain::SourceId>,
                limit: usize,
            ) -> Result<Vec<$crate::ports::RelationRecord>, $crate::ports::GraphError> {
                use $sql as sql;
                if keys.is_empty() {
                    return Ok(Vec::new());
                }
                let rows: Vec<(String, String, String, f64, i64)> = sqlx::query_as(sql::RELATIONS_OF)
                    .bind(sqlx::types::Json(keys))
                    .bind(source.map($crate::domain::SourceId::as_str))
                    .bind(i64::try_from(limit).unwrap_or(i64::MAX))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(|e| $crate::adapters::sql_body::graph::graph_error($classify(e)))?;
                Ok(rows
                    .into_iter()
                    .map(|(source, target, relation_type, weight, count)| $crate::ports::RelationRecord {
                        source,
                        target,
                        relation_type,
                        weight,
                        count,
                    })
                    .collect())
            }

            async fn neighbourhood(
                &self,
                key: &str,
                max_hops: u32,
                limit: usize,
            ) -> Result<Vec<(String, u32)>, $crate::ports::GraphError> {
                use $sql as sql;
                let rows: Vec<(String, i64)> = sqlx::query_as(sql::NEIGHBOURHOOD)
                    .bind(key)
                    .bind(i64::from(max_hops))
                    .bind(i64::try_from(limit).unwrap_or(i64::MAX))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(|e| $crate::adapters::sql_body::graph::graph_error($classify(e)))?;
                Ok(rows.into_iter().map(|(key, hops)| (key, u32::try_from(hops).unwrap_or(u32::MAX))).collect())
            }

            async fn chunks_mentioning(
                &self,
                keys: &[String],
                source: Option<&$crate::domain::SourceId>,
                limit: usize,
            ) -> Result<Vec<$crate::ports::ChunkMentions>, $crate::ports::GraphError> {
                use $sql as sql;
                if keys.is_empty() {
                    return Ok(Vec::new());
                }
                let rows: Vec<(String, i32, String)> = sqlx::query_as(sql::CHUNKS_MENTIONING)
                    .bind(sqlx::types::Json(keys))
                    .bind(source.map($crate::domain::SourceId::as_str))
                    .bind(i64::try_from(limit).unwrap_or(i64::MAX))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(|e| $crate::adapters::sql_body::graph::graph_error($classify(e)))?;
                Ok(rows
                    .into_iter()
                    .map(|(url, chunk_number, keys)| $crate::ports::ChunkMentions {
                        url,
                        chunk_number,
                        keys: serde_json::from_str(&keys).unwrap_or_default(),
                    })
                    .collect())
            }

            async fn documents_mentioning(
                &self,
                key: &str,
                limit: usize,
            ) -> Result<Vec<$crate::ports::DocumentRef>, $crate::ports::GraphError> {
                use $sql as sql;
                let rows: Vec<(String, Option<String>, String, i64)> = sqlx::query_as(sql::DOCUMENTS_MENTIONING)
                    .bind(key)
                    .bind(i64::try_from(limit).unwrap_or(i64::MAX))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(|e| $crate::adapters::sql_body::graph::graph_error($classify(e)))?;
                Ok(rows
                    .into_iter()
                    .map(|(url, title, source_id, mentions)| $crate::ports::DocumentRef { url, title, source_id, mentions })
                    .collect())
            }

            async fn source_counts(&self) -> Result<Vec<$crate::ports::SourceGraphCounts>, $crate::ports::GraphError> {
                use $sql as sql;
                let fail = |e| $crate::adapters::sql_body::graph::graph_error($classify(e));
                let entities: Vec<(String, i64)> =
                    sqlx::query_as(sql::ENTITIES_PER_SOURCE).fetch_all(&self.pool).await.map_err(fail)?;
                let relations: std::collections::HashMap<String, i64> =
                    sqlx::query_as(sql::RELATIONS_PER_SOURCE).fetch_all(&self.pool).await.map_err(fail)?.into_iter().collect();
                Ok(entities
                    .into_iter()
                    .map(|(source, entities)| $crate::ports::SourceGraphCounts {
                        relations: relations.get(&source).copied().unwrap_or(0),
                        source: $crate::domain::SourceId::from(source),
                        entities,
                    })
                    .collect())
            }

            async fn read_query(
                &self,
                _query: &str,
                _row_limit: usize,
            ) -> Result<Vec<$crate::ports::GraphRow>, $crate::ports::GraphError> {
                Err($crate::ports::GraphError::Unsupported(
                    $crate::adapters::sql_body::graph::CYPHER_NEEDS_A_SERVER.to_owned(),
                ))
            }

            async fn ping(&self) -> Result<(), $crate::ports::GraphError> {
                sqlx::query("select 1 from graph_generation")
                    .execute(&self.pool)
                    .await
                    .map(|_| ())
                    .map_err(|e| $crate::adapters::sql_body::graph::graph_error($classify(e)))
            }
        }
    };
}

pub(crate) use impl_embedded_graph;

/// What the embedded backend answers to a Cypher query.
pub(crate) const CYPHER_NEEDS_A_SERVER: &str = "Cypher queries need a graph database server: the graph is in the \
    embedded store, which answers graphrag_query and get_entity_context but has no Cypher engine. Set FALKORDB_URL \
    (e.g. falkor://127.0.0.1:6379) for FalkorDB, or NEO4J_URI, NEO4J_USER and NEO4J_PASSWORD for Neo4j or another \
    Bolt server, and crawl again to fill it.";

/// The sqlx database of a store, so the shared body can name its transaction type.
pub(crate) trait HasDatabase {
    type Db: sqlx::Database;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_merged_sorted_and_prefixes_bounded() {
        assert_eq!(union_keys(["b", "a"], ["c", "a"]), ["a", "b", "c"]);
        let end = prefix_end("tok");
        assert!("tokio" < end.as_str() && "tol" > end.as_str());
    }
}
