//! The GraphRAG service: graph-enriched retrieval over the entity graph the ingest pipeline
//! builds (`graphrag_query`), an entity's neighbourhood (`get_entity_context`) and read-only
//! Cypher (`query_document_graph`). Knows the `GraphStore`, `SearchIndex` and `ChatModel` ports
//! and the retriever service (for plain chunk search, with the same query vector).
//!
//! Modes (after LightRAG's, with no language model needed):
//! - `naive`: plain chunk search only;
//! - `local`: the entities nearest the query (name vectors, plus names the query spells out),
//!   their heaviest relations, and the chunks mentioning most of them;
//! - `global`: relations whose two ends both match the query, their entities and chunks;
//! - `hybrid`: local and global merged round-robin;
//! - `mix` (default): hybrid's chunks fused with plain chunk search by weighted reciprocal rank.

pub mod rank;

use std::collections::HashMap;
use std::sync::Arc;

use tracing::instrument;

use crate::domain::cypher_guard::{check_read_only, with_row_limit};
use crate::domain::entity::entity_key;
use crate::domain::entity_extract::extract_entities;
use crate::domain::{Hit, SourceId};
use crate::error::{Error, Result};
use crate::ports::{ChatModel, DocumentRef, EntityRecord, GraphRow, GraphStore, RelationRecord, SearchIndex};
use crate::retrieve::{RagQuery, Retriever};
use rank::{MIX_GRAPH_WEIGHT, estimated_tokens, fit_budget, rank_relations, round_robin, weighted_rrf};

/// Most entities a query may ask for.
pub const MAX_ENTITIES: usize = 100;
/// Most documents (chunks) a query may return (the anchor's cap).
pub const MAX_DOCUMENTS: usize = 50;
/// Largest response budget, in tokens (the anchor's cap).
pub const MAX_RESPONSE_TOKENS: usize = 20_000;
/// Deepest neighbourhood `get_entity_context` walks.
pub const MAX_HOPS: u32 = 3;
/// Related entities, relations and documents `get_entity_context` returns at most.
pub const MAX_RELATED: usize = 25;
const MAX_CONTEXT_RELATIONS: usize = 50;
const MAX_CONTEXT_DOCUMENTS: usize = 20;
/// Rows `query_document_graph` returns at most.
pub const MAX_QUERY_ROWS: usize = 1_000;
/// Entities `global` scores relations against, per entity asked for.
const GLOBAL_CANDIDATES: usize = 4;
/// Longest name spelled in a query that is looked up as an entity, in words.
const QUERY_NGRAM_WORDS: usize = 3;

/// How `graphrag_query` retrieves.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum GraphMode {
    Naive,
    Local,
    Global,
    Hybrid,
    #[default]
    Mix,
}

/// A graph-enriched query.
#[derive(Debug, Clone)]
pub struct GraphQuery {
    pub query: String,
    pub mode: GraphMode,
    /// `false`: plain chunk search only (the anchor's `use_graph_enrichment`).
    pub use_graph: bool,
    pub max_entities: usize,
    pub source: Option<SourceId>,
    pub offset: usize,
    pub max_documents: usize,
    /// Characters kept of each chunk.
    pub max_content_length: usize,
    pub max_response_tokens: usize,
}

/// An entity that ranked, with the score that ranked it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RankedEntity {
    #[serde(flatten)]
    pub entity: EntityRecord,
    /// Cosine similarity of its name to the query (1.0 when the query spells its name).
    pub score: f32,
}

/// A relation that ranked, with both ends' names.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RankedRelation {
    #[serde(flatten)]
    pub relation: RelationRecord,
    pub source_name: String,
    pub target_name: String,
    pub score: f64,
}

/// A chunk of the answer, with every score that ranked it.
#[derive(Debug, Clone)]
pub struct RankedChunk {
    pub hit: Hit,
    /// Rank in plain chunk search (1-based), if it found the chunk.
    pub search_rank: Option<usize>,
    /// Query entities the chunk mentions.
    pub entities: Vec<String>,
    /// The fused score the chunk was ordered by.
    pub score: f64,
}

/// What `graphrag_query` found.
#[derive(Debug, Clone)]
pub struct GraphAnswer {
    pub mode: GraphMode,
    pub graph_used: bool,
    pub entities: Vec<RankedEntity>,
    pub relations: Vec<RankedRelation>,
    pub chunks: Vec<RankedChunk>,
    /// Chunks ranked before pagination.
    pub total_available: usize,
    /// Written by the chat model from the context; `None` without one.
    pub answer: Option<String>,
    pub warnings: Vec<String>,
}

/// An entity with its neighbourhood.
#[derive(Debug, Clone)]
pub struct EntityContext {
    pub entity: EntityRecord,
    /// Entities within `max_hops`, nearest first, with their hop count.
    pub related: Vec<(EntityRecord, u32)>,
    pub relations: Vec<RelationRecord>,
    pub documents: Vec<DocumentRef>,
}

#[derive(Debug)]
pub struct GraphRag {
    graph: Arc<dyn GraphStore>,
    index: Arc<dyn SearchIndex>,
    retriever: Arc<Retriever>,
    chat: Option<Arc<dyn ChatModel>>,
}

impl GraphRag {
    pub fn new(
        graph: Arc<dyn GraphStore>,
        index: Arc<dyn SearchIndex>,
        retriever: Arc<Retriever>,
        chat: Option<Arc<dyn ChatModel>>,
    ) -> Self {
        Self { graph, index, retriever, chat }
    }

    /// Which graph backend answers.
    pub fn backend(&self) -> &'static str {
        self.graph.backend()
    }

    /// Graph-enriched retrieval (see the module docs for the modes).
    ///
    /// # Errors
    /// `BadInput` for an empty query or out-of-range limits; `Unavailable` when a dependency fails.
    #[instrument(skip(self), fields(tool = "graphrag_query"))]
    pub async fn query(&self, q: &GraphQuery) -> Result<GraphAnswer> {
        validate(q)?;
        let embedding = self.retriever.embed_query(&q.query).await?;
        let mode = if q.use_graph { q.mode } else { GraphMode::Naive };
        let wanted = q.offset + q.max_documents;
        // Plain chunk search runs on its own task, beside the graph work (both are CPU-bound
        // scans on the embedded backend).
        let plain = matches!(mode, GraphMode::Naive | GraphMode::Mix).then(|| {
            let rag = RagQuery {
                query: q.query.clone(),
                source: q.source.clone(),
                match_count: (wanted + 10).min(crate::retrieve::MAX_MATCH_COUNT),
                offset: 0,
                mode: None,
                rerank: None,
            };
            let (retriever, embedding) = (Arc::clone(&self.retriever), embedding.clone());
            tokio::spawn(async move { retriever.search_embedded(&rag, &embedding).await })
        });
        let (entities, relations, graph_chunks) = self.graph_part(q, mode, &embedding).await?;
        let plain = match plain {
            Some(task) => task.await.map_err(|e| Error::Internal(format!("chunk search task failed: {e}")))??,
            None => Vec::new(),
        };
        let mut chunks = self.fuse(mode, plain, graph_chunks).await?;
        let total_available = chunks.len();
        chunks = chunks.into_iter().skip(q.offset).take(q.max_documents).collect();
        let mut answer = GraphAnswer {
            mode,
            graph_used: mode != GraphMode::Naive,
            entities: entities.into_iter().take(q.max_entities).collect(),
            relations: relations.into_iter().take(MAX_CONTEXT_RELATIONS).collect(),
            chunks,
            total_available,
            answer: None,
            warnings: Vec::new(),
        };
        if answer.graph_used && answer.entities.is_empty() {
            answer.warnings.push(
                "the graph has no entities matching this query: crawl with crawl_with_graph_extraction (or \
                 USE_GRAPHRAG=true) to build it"
                    .into(),
            );
        }
        fit_answer(&mut answer, q.max_content_length, q.max_response_tokens);
        if let Some(chat) = &self.chat {
            answer.answer = self.write_answer(chat.as_ref(), &q.query, &answer).await;
        }
        Ok(answer)
    }

    /// The graph's entities, relations and chunks for `mode`.
    async fn graph_part(&self, q: &GraphQuery, mode: GraphMode, embedding: &[f32]) -> Result<GraphPart> {
        if mode == GraphMode::Naive {
            return Ok((Vec::new(), Vec::new(), Vec::new()));
        }
        // One entity search serves both graph modes: local takes the best, global all candidates.
        let seeds = self.seed_entities(q, embedding, q.max_entities * GLOBAL_CANDIDATES).await?;
        Ok(match mode {
            GraphMode::Naive => (Vec::new(), Vec::new(), Vec::new()),
            GraphMode::Local => self.local(q, &seeds).await?,
            GraphMode::Global => self.global(q, seeds).await?,
            GraphMode::Hybrid | GraphMode::Mix => {
                let (local, global) = tokio::try_join!(self.local(q, &seeds), self.global(q, seeds.clone()))?;
                (
                    round_robin(local.0, global.0, |e| e.entity.key.clone()),
                    round_robin(local.1, global.1, |r| (r.relation.source.clone(), r.relation.target.clone())),
                    round_robin(local.2, global.2, |c| c.0.clone()),
                )
            }
        })
    }

    /// Entities for the query: names it spells (score 1) first, then the nearest name vectors.
    async fn seed_entities(&self, q: &GraphQuery, embedding: &[f32], limit: usize) -> Result<Vec<RankedEntity>> {
        let spelled = self.graph.entities(&query_keys(&q.query)).await?;
        let nearest = self.graph.nearest_entities(embedding, q.source.as_ref(), limit).await?;
        let spelled = spelled.into_iter().map(|entity| RankedEntity { entity, score: 1.0 });
        let nearest = nearest.into_iter().map(|(entity, score)| RankedEntity { entity, score });
        let mut seen = std::collections::HashSet::new();
        Ok(spelled.chain(nearest).filter(|e| seen.insert(e.entity.key.clone())).take(limit).collect())
    }

    /// `local`: nearest entities -> their heaviest relations -> chunks mentioning most of them.
    async fn local(&self, q: &GraphQuery, seeds: &[RankedEntity]) -> Result<GraphPart> {
        let entities: Vec<RankedEntity> = seeds.iter().take(q.max_entities).cloned().collect();
        let keys: Vec<String> = entities.iter().map(|e| e.entity.key.clone()).collect();
        let relations = self.graph.relations_of(&keys, q.source.as_ref(), MAX_CONTEXT_RELATIONS).await?;
        let relations = relations.into_iter().map(|r| (r.weight, r)).collect();
        let chunks = self.graph.chunks_mentioning(&keys, q.source.as_ref(), q.offset + q.max_documents).await?;
        let relations = self.named(relations).await?;
        Ok((entities, relations, chunks.into_iter().map(|c| ((c.url, c.chunk_number), c.keys)).collect()))
    }

    /// `global`: relations whose both ends match the query -> their entities -> chunks.
    async fn global(&self, q: &GraphQuery, candidates: Vec<RankedEntity>) -> Result<GraphPart> {
        let similarity: HashMap<String, f32> = candidates.iter().map(|e| (e.entity.key.clone(), e.score)).collect();
        let keys: Vec<String> = candidates.iter().map(|e| e.entity.key.clone()).collect();
        let relations = self.graph.relations_of(&keys, q.source.as_ref(), MAX_CONTEXT_RELATIONS * 4).await?;
        let ranked: Vec<(f64, RelationRecord)> = rank_relations(relations, &similarity)
            .into_iter()
            .take(MAX_CONTEXT_RELATIONS)
            .map(|(r, score)| (score, r))
            .collect();
        let mut ends: Vec<String> = Vec::new();
        for (_, r) in &ranked {
            for key in [&r.source, &r.target] {
                if !ends.contains(key) {
                    ends.push(key.clone());
                }
            }
        }
        ends.truncate(q.max_entities);
        let mut by_key: HashMap<String, RankedEntity> =
            candidates.into_iter().map(|e| (e.entity.key.clone(), e)).collect();
        let missing: Vec<String> = ends.iter().filter(|k| !by_key.contains_key(*k)).cloned().collect();
        for entity in self.graph.entities(&missing).await? {
            by_key.insert(entity.key.clone(), RankedEntity { entity, score: 0.0 });
        }
        let entities: Vec<RankedEntity> = ends.iter().filter_map(|k| by_key.remove(k)).collect();
        let chunks = self.graph.chunks_mentioning(&ends, q.source.as_ref(), q.offset + q.max_documents).await?;
        let relations = self.named(ranked).await?;
        Ok((entities, relations, chunks.into_iter().map(|c| ((c.url, c.chunk_number), c.keys)).collect()))
    }

    /// Relations with their ends' display names.
    async fn named(&self, relations: Vec<(f64, RelationRecord)>) -> Result<Vec<RankedRelation>> {
        let mut keys: Vec<String> = relations.iter().flat_map(|(_, r)| [r.source.clone(), r.target.clone()]).collect();
        keys.sort_unstable();
        keys.dedup();
        let names: HashMap<String, String> =
            self.graph.entities(&keys).await?.into_iter().map(|e| (e.key, e.name)).collect();
        let name = |key: &str| names.get(key).cloned().unwrap_or_else(|| key.to_owned());
        Ok(relations
            .into_iter()
            .map(|(score, relation)| RankedRelation {
                source_name: name(&relation.source),
                target_name: name(&relation.target),
                relation,
                score,
            })
            .collect())
    }

    /// The final chunk list: plain search alone (`naive`), the graph's alone (`local`, `global`,
    /// `hybrid`), or both fused (`mix`).
    async fn fuse(&self, mode: GraphMode, plain: Vec<Hit>, graph: Vec<GraphChunk>) -> Result<Vec<RankedChunk>> {
        let plain_keys: Vec<(String, i32)> = plain.iter().map(|h| (h.url.clone(), h.chunk_index)).collect();
        let graph_keys: Vec<(String, i32)> = graph.iter().map(|(k, _)| k.clone()).collect();
        let lists: Vec<(&[(String, i32)], f64)> = match mode {
            GraphMode::Naive => vec![(&plain_keys, 1.0)],
            GraphMode::Mix => vec![(&plain_keys, 1.0), (&graph_keys, MIX_GRAPH_WEIGHT)],
            GraphMode::Local | GraphMode::Global | GraphMode::Hybrid => vec![(&graph_keys, 1.0)],
        };
        let fused = weighted_rrf(&lists);
        let mentioned: HashMap<(String, i32), Vec<String>> = graph.into_iter().collect();
        let mut hits: HashMap<(String, i32), Hit> =
            plain.into_iter().map(|h| ((h.url.clone(), h.chunk_index), h)).collect();
        let missing: Vec<(String, i32)> =
            fused.iter().map(|(k, _)| k.clone()).filter(|k| !hits.contains_key(k)).collect();
        for hit in self.index.chunks_at(&missing).await? {
            hits.insert((hit.url.clone(), hit.chunk_index), hit);
        }
        Ok(fused
            .into_iter()
            .filter_map(|(key, score)| {
                let hit = hits.remove(&key)?;
                Some(RankedChunk {
                    search_rank: plain_keys.iter().position(|k| *k == key).map(|i| i + 1),
                    entities: mentioned.get(&key).cloned().unwrap_or_default(),
                    hit,
                    score,
                })
            })
            .collect())
    }

    /// The chat model's answer from the context; `None` (and a logged warning) when it fails, so
    /// the structured context still comes back.
    async fn write_answer(&self, chat: &dyn ChatModel, query: &str, answer: &GraphAnswer) -> Option<String> {
        let system = "You answer questions about technical documentation from the context given: entities, their \
            relationships and document excerpts. Explain relationships and dependencies where they matter. Cite the \
            URLs you use. If the context does not answer the question, say so.";
        let mut context = String::from("## Entities\n");
        for e in &answer.entities {
            context.push_str(&format!("- {} ({}): {}\n", e.entity.name, e.entity.entity_type, e.entity.description));
        }
        context.push_str("\n## Relationships\n");
        for r in &answer.relations {
            context.push_str(&format!("- {} {} {}\n", r.source_name, r.relation.relation_type, r.target_name));
        }
        context.push_str("\n## Documents\n");
        for c in &answer.chunks {
            context.push_str(&format!("### {}\n{}\n\n", c.hit.url, c.hit.content));
        }
        let user = format!("Question: {query}\n\n{context}");
        match chat.complete(system, &user, 1_000).await {
            Ok(text) => Some(text),
            Err(e) => {
                tracing::warn!(error = %e, "the chat model could not write the answer; returning the context only");
                None
            }
        }
    }

    /// An entity by name (its key, else the most mentioned entity whose key starts with it),
    /// with everything within `max_hops` relations.
    ///
    /// # Errors
    /// `BadInput` for an empty name or `max_hops` outside 1..=3; `NotFound` (with the closest
    /// names) when no entity matches.
    #[instrument(skip(self), fields(tool = "get_entity_context"))]
    pub async fn entity_context(&self, name: &str, max_hops: u32) -> Result<EntityContext> {
        if !(1..=MAX_HOPS).contains(&max_hops) {
            return Err(Error::bad_input(format!("max_hops must be between 1 and {MAX_HOPS}, got {max_hops}")));
        }
        let key = entity_key(name).ok_or_else(|| Error::bad_input("entity_name is empty; give an entity's name"))?;
        let entity = match self.graph.entities(std::slice::from_ref(&key)).await?.pop() {
            Some(entity) => entity,
            None => {
                let mut close = self.graph.entities_with_prefix(&key, 5).await?;
                if close.is_empty() {
                    let vector = self.retriever.embed_query(name).await?;
                    let nearest = self.graph.nearest_entities(&vector, None, 5).await?;
                    let names: Vec<String> = nearest.into_iter().map(|(e, _)| e.name).collect();
                    let hint =
                        if names.is_empty() { String::new() } else { format!("; closest: {}", names.join(", ")) };
                    return Err(Error::NotFound(format!("Entity '{name}' not found in knowledge graph{hint}.")));
                }
                close.remove(0)
            }
        };
        let reached = self.graph.neighbourhood(&entity.key, max_hops, MAX_RELATED).await?;
        let mut records: HashMap<String, EntityRecord> = self
            .graph
            .entities(&reached.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>())
            .await?
            .into_iter()
            .map(|e| (e.key.clone(), e))
            .collect();
        let related: Vec<(EntityRecord, u32)> =
            reached.into_iter().filter_map(|(key, hops)| records.remove(&key).map(|e| (e, hops))).collect();
        let mut keys: Vec<String> = related.iter().map(|(e, _)| e.key.clone()).collect();
        keys.push(entity.key.clone());
        let relations = self
            .graph
            .relations_of(&keys, None, MAX_RELATED * 8)
            .await?
            .into_iter()
            .filter(|r| keys.contains(&r.source) && keys.contains(&r.target))
            .take(MAX_RELATED)
            .collect();
        let documents = self.graph.documents_mentioning(&entity.key, MAX_CONTEXT_DOCUMENTS).await?;
        Ok(EntityContext { entity, related, relations, documents })
    }

    /// A user's Cypher, read-only: refused before the database if it could write, then run
    /// through the backend's own read-only path under a row limit.
    ///
    /// # Errors
    /// `BadInput` for refused queries, for queries the database rejects, and on the embedded
    /// backend (which has no Cypher engine; the message says how to configure one).
    #[instrument(skip(self), fields(tool = "query_document_graph"))]
    pub async fn read_query(&self, cypher: &str, row_limit: usize) -> Result<Vec<GraphRow>> {
        let checked = check_read_only(cypher).map_err(|e| Error::BadInput(e.to_string()))?;
        let limit = row_limit.clamp(1, MAX_QUERY_ROWS);
        let mut rows = self.graph.read_query(&with_row_limit(&checked, limit), limit).await?;
        rows.truncate(limit);
        Ok(rows)
    }
}

/// Entities, relations and chunk keys (with the entities they mention) of one graph mode.
type GraphPart = (Vec<RankedEntity>, Vec<RankedRelation>, Vec<GraphChunk>);
type GraphChunk = ((String, i32), Vec<String>);

/// Keys of the names a query spells: what the extractor finds in it, and every run of up to
/// three words (so "how does tokio spawn work" looks up `tokio` and `tokio spawn`).
fn query_keys(query: &str) -> Vec<String> {
    let mut keys: Vec<String> = extract_entities(query).into_iter().map(|m| m.key).collect();
    let words: Vec<&str> =
        query.split(|c: char| c.is_whitespace() || matches!(c, '?' | ',' | '!')).filter(|w| !w.is_empty()).collect();
    for n in 1..=QUERY_NGRAM_WORDS {
        for run in words.windows(n) {
            if let Some(key) = entity_key(&run.join(" ")) {
                keys.push(key);
            }
        }
    }
    keys.sort_unstable();
    keys.dedup();
    keys
}

/// Cut chunk contents to `max_content_length` characters, then keep the answer under
/// `max_tokens`: chunks first, then relations, then entities give way.
fn fit_answer(answer: &mut GraphAnswer, max_content_length: usize, max_tokens: usize) {
    for chunk in &mut answer.chunks {
        if let Some((cut, _)) = chunk.hit.content.char_indices().nth(max_content_length) {
            chunk.hit.content.truncate(cut);
            chunk.hit.content.push_str("...");
        }
    }
    // Fixed overhead per item (field names, URLs, scores) on top of its text.
    let entity_size =
        |e: &RankedEntity| estimated_tokens(&e.entity.description) + estimated_tokens(&e.entity.name) + 30;
    let relation_size = |r: &RankedRelation| estimated_tokens(&r.source_name) + estimated_tokens(&r.target_name) + 30;
    let entities: usize = answer.entities.iter().map(entity_size).sum();
    let relations: usize = answer.relations.iter().map(relation_size).sum();
    let overhead = 200;
    let for_chunks = max_tokens.saturating_sub(overhead + entities / 2 + relations / 2);
    let left = fit_budget(&mut answer.chunks, for_chunks, |c| estimated_tokens(&c.hit.content) + 60);
    let left = fit_budget(&mut answer.relations, left + relations / 2, relation_size);
    fit_budget(&mut answer.entities, left + entities / 2, entity_size);
    if answer.chunks.is_empty() && answer.total_available > 0 {
        answer.warnings.push(format!("max_response_tokens={max_tokens} left no room for any document"));
    }
}

fn validate(q: &GraphQuery) -> Result<()> {
    if q.query.trim().is_empty() {
        return Err(Error::bad_input("query is empty; ask a question or give keywords"));
    }
    let check = |name: &str, value: usize, max: usize| {
        if (1..=max).contains(&value) {
            Ok(())
        } else {
            Err(Error::bad_input(format!("{name} must be between 1 and {max}, got {value}")))
        }
    };
    check("max_entities", q.max_entities, MAX_ENTITIES)?;
    check("max_documents", q.max_documents, MAX_DOCUMENTS)?;
    check("max_response_tokens", q.max_response_tokens, MAX_RESPONSE_TOKENS)?;
    check("max_content_length", q.max_content_length, 100_000)?;
    if q.offset > crate::retrieve::MAX_OFFSET {
        return Err(Error::bad_input(format!(
            "offset must be at most {}, got {}",
            crate::retrieve::MAX_OFFSET,
            q.offset
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_query_looks_up_the_names_it_spells() {
        let keys = query_keys("How does the Tokio runtime spawn tasks?");
        for expected in ["tokio", "tokio runtime", "task"] {
            assert!(keys.iter().any(|k| k == expected), "{expected} in {keys:?}");
        }
    }
}
