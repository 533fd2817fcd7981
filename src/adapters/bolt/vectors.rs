//! Entity name vectors on a Bolt server: plain lists on `EntityVector` nodes, written once per
//! entity, searched in memory, and reloaded as the `EntityVectorLog` node says (module docs of
//! `bolt/`).

use std::collections::{HashMap, HashSet};
use std::sync::PoisonError;

use neo4rs::{BoltType, Row, Txn};

use super::values::{column, int, integer, map, text, text_param, texts, vector};
use super::write::{floats, sum_over_keys, write, write_batches};
use super::{BATCH_ROWS, BoltGraph};
use crate::adapters::cypher::document as q;
use crate::adapters::entity_vectors::EntityVectors;
use crate::domain::SourceId;
use crate::ports::{EntityFacts, EntityRecord, GraphError};

/// `cypher/bolt/`: the entity vector statements only Bolt servers run.
const ENTITY_VECTOR_LOG: &str = include_str!("../../../cypher/bolt/entity_vector_log.cypher");
const ENTITY_VECTORS_SINCE: &str = include_str!("../../../cypher/bolt/entity_vectors_since.cypher");
const EXISTING_ENTITY_VECTORS: &str = include_str!("../../../cypher/bolt/existing_entity_vectors.cypher");
const SET_ENTITY_VECTORS: &str = include_str!("../../../cypher/bolt/set_entity_vectors.cypher");
const BUMP_ENTITY_VECTOR_GENERATION: &str = include_str!("../../../cypher/bolt/bump_entity_vector_generation.cypher");
const KEYS_IN_SOURCE: &str = include_str!("../../../cypher/bolt/keys_in_source.cypher");

/// The entity vectors as last loaded, and the log's dimension at that load.
#[derive(Debug, Default)]
pub(super) struct LoadedVectors {
    vectors: EntityVectors,
    dims: usize,
}

/// What the entity vector log says (zeros before the first vector).
#[derive(Debug, Clone, Copy, Default)]
struct VectorLog {
    generation: i64,
    seq: i64,
    dims: usize,
}

impl BoltGraph {
    /// The entity vector log, as of now.
    async fn vector_log(&self) -> Result<VectorLog, GraphError> {
        let rows = self.read(ENTITY_VECTOR_LOG, Vec::new()).await?;
        Ok(rows.first().map(vector_log).unwrap_or_default())
    }

    /// Bring the in-memory vectors up to date with the log (see the module docs).
    async fn refresh_vectors(&self) -> Result<(), GraphError> {
        let log = self.vector_log().await?;
        let since = {
            let loaded = self.vectors.read().unwrap_or_else(PoisonError::into_inner);
            let held = loaded.vectors.max_id;
            match loaded.vectors.generation {
                Some(generation) if generation == log.generation && held == log.seq => return Ok(()),
                Some(generation) if generation == log.generation && held < log.seq => held,
                // Vectors were deleted (or the log started again, the database emptied): all again.
                Some(_) | None => -1,
            }
        };
        let rows = self.read(ENTITY_VECTORS_SINCE, vec![("since", BoltType::from(since))]).await?;
        let mut loaded = self.vectors.write().unwrap_or_else(PoisonError::into_inner);
        if since < 0 {
            loaded.vectors.reset(log.generation);
            loaded.dims = log.dims;
        } else if loaded.vectors.generation != Some(log.generation) || loaded.vectors.max_id > log.seq {
            // Another search reloaded meanwhile, from a newer log: it holds more than this.
            return Ok(());
        } else if loaded.dims == 0 {
            // Loaded before the first vector, when the log had no dimension yet.
            loaded.dims = log.dims;
        }
        // Vectors of one batch share its seq: compare with what was held before this load.
        let (dims, held) = (loaded.dims, loaded.vectors.max_id);
        for row in &rows {
            let seq = int(&column(row, "seq"));
            let embedding = vector(&column(row, "embedding"));
            if seq > held && embedding.len() == dims {
                loaded.vectors.push_vector(seq, text(row, "key"), embedding);
            }
        }
        // Every batch up to the log's seq had committed when the log was read (a batch and its
        // log update are one transaction), so all of them are loaded now.
        loaded.vectors.max_id = loaded.vectors.max_id.max(log.seq);
        Ok(())
    }

    /// The entities whose name vectors are nearest `embedding`, best first (the port's
    /// `nearest_entities`).
    pub(super) async fn nearest(
        &self,
        embedding: &[f32],
        source: Option<&SourceId>,
        limit: usize,
    ) -> Result<Vec<(EntityRecord, f32)>, GraphError> {
        if limit == 0 || embedding.is_empty() {
            return Ok(Vec::new());
        }
        self.refresh_vectors().await?;
        // A source filter is applied to the scan's answers: ask it for more so enough survive.
        let wanted = if source.is_some() { limit.saturating_mul(8).max(64) } else { limit };
        let ranked = self.vectors.read().unwrap_or_else(PoisonError::into_inner).vectors.nearest(embedding, wanted);
        let mut keys: Vec<String> = ranked.iter().map(|(_, key)| key.clone()).collect();
        if let Some(source) = source {
            let mut inside = HashSet::new();
            for batch in keys.chunks(BATCH_ROWS) {
                let params = vec![("keys", texts(batch)), ("source", text_param(source.as_str()))];
                inside.extend(self.read(KEYS_IN_SOURCE, params).await?.iter().map(|row| text(row, "key")));
            }
            keys.retain(|k| inside.contains(k));
        }
        keys.truncate(limit);
        let mut by_key: HashMap<String, EntityRecord> =
            self.entity_records(&keys).await?.into_iter().map(|e| (e.key.clone(), e)).collect();
        Ok(ranked.into_iter().filter_map(|(score, key)| by_key.remove(&key).map(|e| (e, score))).collect())
    }
}

/// Name vectors of new entities (an entity keeps its first). Vectors of another dimension than
/// the log's (the first vector's) are not stored, as FalkorDB's index could not hold them.
pub(super) async fn write_embeddings(txn: &mut Txn, entities: &[EntityFacts]) -> Result<(), GraphError> {
    let Some(first) = entities.iter().find(|e| !e.embedding.is_empty()) else { return Ok(()) };
    let log = write(txn, ENTITY_VECTOR_LOG, Vec::new()).await?.first().map(vector_log).unwrap_or_default();
    let dims = if log.dims == 0 { first.embedding.len() } else { log.dims };
    let fitting: Vec<&EntityFacts> = entities.iter().filter(|e| e.embedding.len() == dims).collect();
    if fitting.len() < entities.iter().filter(|e| !e.embedding.is_empty()).count() {
        tracing::warn!(log_dims = dims, "entity vectors of another dimension than the graph's were not stored");
    }
    let mut existing = HashSet::new();
    for batch in fitting.chunks(BATCH_ROWS) {
        let keys = texts(batch.iter().map(|e| e.key.as_str()));
        let rows = write(txn, EXISTING_ENTITY_VECTORS, vec![("keys", keys)]).await?;
        existing.extend(rows.iter().map(|row| text(row, "key")));
    }
    let rows: Vec<BoltType> = fitting
        .into_iter()
        .filter(|e| !existing.contains(&e.key))
        .map(|e| map([("key", text_param(&e.key)), ("embedding", floats(&e.embedding))]))
        .collect();
    write_batches(txn, SET_ENTITY_VECTORS, &vec![("dims", integer(dims))], rows).await
}

fn vector_log(row: &Row) -> VectorLog {
    VectorLog {
        generation: int(&column(row, "generation")),
        seq: int(&column(row, "seq")),
        dims: usize::try_from(int(&column(row, "dims"))).unwrap_or(0),
    }
}

/// Delete the vectors of the entities among `keys` that are gone, telling readers to reload.
pub(super) async fn delete_entity_vectors(txn: &mut Txn, keys: &[String]) -> Result<(), GraphError> {
    if sum_over_keys(txn, q::DELETE_ENTITY_VECTORS, "deleted", keys).await? > 0 {
        write(txn, BUMP_ENTITY_VECTOR_GENERATION, Vec::new()).await?;
    }
    Ok(())
}
