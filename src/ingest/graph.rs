//! The ingest side of GraphRAG: a page's chunks -> entity mentions, co-occurrence relations and
//! entity descriptions (CPU only, no language model), ready to embed the entity names and
//! write the page's graph. Runs off the async runtime beside chunking.

use crate::domain::entity::{EntityMention, EntityRelation};
use crate::domain::entity_extract::{PageEntity, describe, extract_entities, page_entities, related_entities};
use crate::domain::{Chunk, GraphExtraction};

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
    if !extraction.entities && !extraction.relationships {
        return ExtractedGraph::default();
    }
    let chunk_mentions: Vec<Vec<EntityMention>> = chunks.iter().map(|c| extract_entities(&c.content)).collect();
    let relations =
        if extraction.relationships { related_entities(&chunk_mentions, MIN_SHARED_CHUNKS) } else { Vec::new() };
    let entities = page_entities(&chunk_mentions)
        .into_iter()
        .map(|entity| {
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
}
