//! The ingest side of GraphRAG: a page's chunks -> entity mentions, co-occurrence relations and
//! entity descriptions (CPU only, no language model), merged with what a chat model read in the
//! same chunks when one is configured, ready to embed the entity names and write the page's
//! graph. Runs off the async runtime.

use std::collections::HashMap;

use crate::domain::entity::{EntityMention, EntityRelation, EntityType, entity_key};
use crate::domain::entity_extract::{PageEntity, describe, extract_entities, page_entities, related_entities};
use crate::domain::entity_llm::ModelGraph;
use crate::domain::{Chunk, GraphExtraction};

/// Entities per page whose name is embedded (the most mentioned: one short forward pass); the
/// others' vectors are the mean of the chunks mentioning them.
pub const NAMED_ENTITIES_PER_PAGE: usize = 16;

/// Score of a model-written description: above any sentence the structural extractor picks.
const MODEL_DESCRIPTION_SCORE: f32 = 5.0;

/// Chunks searched for an entity's description (from the first that mentions it).
const DESCRIPTION_CHUNKS: usize = 3;
/// Pairs must share at least this many chunks of the page to be related.
const MIN_SHARED_CHUNKS: u32 = 1;

/// A page's graph before its entity names are embedded.
#[derive(Debug, Default)]
pub struct ExtractedGraph {
    pub chunk_mentions: Vec<Vec<EntityMention>>,
    pub relations: Vec<EntityRelation>,
    /// Each distinct entity with its best description and that description's score.
    pub entities: Vec<(PageEntity, String, f32)>,
}

/// Extract what `extraction` asks for from `chunks` (entities are needed for relations, so
/// relations alone still find them; entities alone store no relations).
pub fn extract_graph(chunks: &[Chunk], extraction: GraphExtraction) -> ExtractedGraph {
    extract_graph_with(chunks, extraction, &[])
}

/// [`extract_graph`], merged with a chat model's reading of the same chunks (`model[i]` for
/// chunk `i`; missing or `None` entries add nothing): its entities join the chunk's mentions
/// (its type and description win), its typed relations join the co-occurrence ones.
pub fn extract_graph_with(
    chunks: &[Chunk],
    extraction: GraphExtraction,
    model: &[Option<ModelGraph>],
) -> ExtractedGraph {
    if !extraction.entities && !extraction.relationships {
        return ExtractedGraph::default();
    }
    let mut chunk_mentions: Vec<Vec<EntityMention>> = chunks.iter().map(|c| extract_entities(&c.content)).collect();
    let mut relations =
        if extraction.relationships { related_entities(&chunk_mentions, MIN_SHARED_CHUNKS) } else { Vec::new() };
    let mut told: HashMap<String, (EntityType, String)> = HashMap::new();
    for (mentions, graph) in chunk_mentions.iter_mut().zip(model) {
        let Some(graph) = graph else { continue };
        let keys = merge_model_entities(mentions, graph, &mut told);
        if extraction.relationships {
            add_model_relations(&mut relations, graph, &keys);
        }
    }
    let entities = page_entities(&chunk_mentions)
        .into_iter()
        .map(|mut entity| {
            if let Some((entity_type, description)) = told.get(&entity.key) {
                entity.entity_type = *entity_type;
                if !description.is_empty() {
                    return (entity, description.clone(), MODEL_DESCRIPTION_SCORE);
                }
            }
            let (description, score) = chunks
                .iter()
                .enumerate()
                .skip(entity.first_chunk)
                .filter(|(i, _)| chunk_mentions[*i].iter().any(|m| m.key == entity.key))
                .take(DESCRIPTION_CHUNKS)
                .filter_map(|(_, chunk)| describe(&chunk.content, &entity.name))
                .max_by(|a, b| a.1.total_cmp(&b.1))
                .unwrap_or_default();
            (entity, description, score)
        })
        .collect();
    ExtractedGraph { chunk_mentions, relations, entities }
}

/// The unit mean of the embeddings of the chunks that mention `key`: where the entity is
/// written about. Empty when no chunk mentions it.
pub fn context_vector(key: &str, chunk_mentions: &[Vec<EntityMention>], chunk_embeddings: &[Vec<f32>]) -> Vec<f32> {
    let mut sum: Vec<f32> = Vec::new();
    for (mentions, embedding) in chunk_mentions.iter().zip(chunk_embeddings) {
        if mentions.iter().any(|m| m.key == key) {
            if sum.is_empty() {
                sum = vec![0.0; embedding.len()];
            }
            sum.iter_mut().zip(embedding).for_each(|(s, x)| *s += x);
        }
    }
    let norm = sum.iter().map(|x| x * x).sum::<f32>().sqrt().max(f32::MIN_POSITIVE);
    sum.iter_mut().for_each(|x| *x /= norm);
    sum
}

/// Add a model's entities to one chunk's mentions; answers name -> key for its relations.
fn merge_model_entities(
    mentions: &mut Vec<EntityMention>,
    graph: &ModelGraph,
    told: &mut HashMap<String, (EntityType, String)>,
) -> HashMap<String, String> {
    let mut keys = HashMap::new();
    for e in &graph.entities {
        let Some(key) = entity_key(&e.name) else { continue };
        match mentions.iter_mut().find(|m| m.key == key) {
            Some(m) => {
                m.entity_type = e.entity_type;
                m.count = m.count.max(e.mentions);
            }
            None => mentions.push(EntityMention {
                key: key.clone(),
                name: e.name.clone(),
                entity_type: e.entity_type,
                count: e.mentions,
            }),
        }
        told.entry(key.clone()).or_insert_with(|| (e.entity_type, e.description.clone()));
        keys.insert(e.name.clone(), key);
    }
    keys
}

/// Add a model's typed relations (ends ordered by key, as co-occurrence relations are),
/// merging repeats of the same (pair, type) within the page.
fn add_model_relations(relations: &mut Vec<EntityRelation>, graph: &ModelGraph, keys: &HashMap<String, String>) {
    for r in &graph.relations {
        let (Some(a), Some(b)) = (keys.get(&r.from), keys.get(&r.to)) else { continue };
        if a == b {
            continue;
        }
        let (source, target) = if a < b { (a.clone(), b.clone()) } else { (b.clone(), a.clone()) };
        match relations
            .iter_mut()
            .find(|x| x.source == source && x.target == target && x.relation_type == r.relation_type)
        {
            Some(known) => {
                known.count += 1;
                known.weight = known.weight.max(r.confidence);
            }
            None => relations.push(EntityRelation {
                source,
                target,
                relation_type: r.relation_type.to_owned(),
                weight: r.confidence,
                count: 1,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::split_markdown;

    #[test]
    fn a_page_yields_mentions_per_chunk_relations_and_described_entities() {
        let markdown = "# Tokio\n\nTokio is an asynchronous runtime for Rust. It works with `axum` and `hyper`.\n\n\
            ## Serde\n\nSerde is a framework for serializing Rust data structures. Use `serde_json` for JSON.\n";
        let chunks = split_markdown(markdown, 120);
        assert!(chunks.len() >= 2, "{chunks:?}");
        let graph = extract_graph(&chunks, GraphExtraction::ALL);
        assert_eq!(graph.chunk_mentions.len(), chunks.len());
        let tokio = graph.entities.iter().find(|(e, _, _)| e.key == "tokio").expect("tokio found");
        assert_eq!(tokio.1, "Tokio is an asynchronous runtime for Rust.");
        assert!(graph.relations.iter().any(|r| r.source == "axum" || r.target == "axum"), "{:?}", graph.relations);
        let no_relations = extract_graph(&chunks, GraphExtraction { entities: true, relationships: false });
        assert!(no_relations.relations.is_empty() && !no_relations.entities.is_empty());
        let nothing = extract_graph(&chunks, GraphExtraction { entities: false, relationships: false });
        assert!(nothing.entities.is_empty() && nothing.chunk_mentions.is_empty());
    }

    #[test]
    fn context_vectors_average_the_chunks_that_mention_an_entity() {
        let mention =
            |key: &str| EntityMention { key: key.into(), name: key.into(), entity_type: EntityType::Concept, count: 1 };
        let mentions = vec![vec![mention("a")], vec![mention("a"), mention("b")], vec![mention("b")]];
        let embeddings = vec![vec![1.0, 0.0], vec![0.0, 1.0], vec![0.0, 1.0]];
        let a = context_vector("a", &mentions, &embeddings);
        assert!((a[0] - a[1]).abs() < 1e-6 && (a[0] - 0.5_f32.sqrt()).abs() < 1e-6, "{a:?}");
        assert_eq!(context_vector("b", &mentions, &embeddings), [0.0, 1.0]);
        assert!(context_vector("c", &mentions, &embeddings).is_empty());
    }

    #[test]
    fn a_models_reading_adds_entities_types_descriptions_and_typed_relations() {
        let chunks = split_markdown("Tokio runs futures. It builds on mio for I/O events.\n", 1000);
        let model = crate::domain::entity_llm::parse_answer(
            r#"{"entities": [{"name": "Tokio", "type": "Product", "description": "An async runtime."},
                             {"name": "mio", "type": "Technology", "description": "Non-blocking I/O."}],
                "relationships": [{"from_entity": "Tokio", "to_entity": "mio", "relationship_type": "USES"}]}"#,
        );
        let graph = extract_graph_with(&chunks, GraphExtraction::ALL, &[model]);
        let tokio = graph.entities.iter().find(|(e, _, _)| e.key == "tokio").unwrap();
        assert_eq!((tokio.0.entity_type, tokio.1.as_str(), tokio.2), (EntityType::Product, "An async runtime.", 5.0));
        assert!(graph.entities.iter().any(|(e, _, _)| e.key == "mio"), "the model's entity joins the mentions");
        let uses: Vec<_> = graph.relations.iter().filter(|r| r.relation_type == "USES").collect();
        assert_eq!(uses.len(), 1);
        assert_eq!((uses[0].source.as_str(), uses[0].target.as_str()), ("mio", "tokio"));
    }
}
