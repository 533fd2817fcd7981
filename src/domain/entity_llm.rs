//! Entity extraction by a chat model: the prompts (the six entity and nine relation types of the
//! system we replace, its JSON shape) and the validation of what comes back. A model's answer is
//! untrusted input: fenced or chatty JSON is unwrapped, unknown entity types become `Concept`,
//! relations of unknown types or between unnamed entities are dropped, sizes are capped.

use serde::Deserialize;

use super::entity::{EntityType, RELATION_TYPES};

/// Characters of a chunk sent to the model (the anchor's cut).
pub const MAX_CHUNK_CHARS: usize = 8_000;
/// Entities and relations kept per answer.
const MAX_ITEMS: usize = 60;
const MAX_NAME_CHARS: usize = 80;
const MAX_DESCRIPTION_CHARS: usize = 400;
/// Confidence of a relation that states none (the anchor's default).
const DEFAULT_CONFIDENCE: f32 = 0.8;

pub const SYSTEM_PROMPT: &str = "You are an expert at extracting structured knowledge from technical \
    documentation. Answer with one JSON object only, no prose.";

/// The first extraction prompt for one chunk.
pub fn extraction_prompt(chunk: &str) -> String {
    format!(
        "Extract the entities and relationships from the documentation chunk below.\n\
         Entity types: Concept (e.g. OAuth2, Microservices), Technology (e.g. Python, FastAPI, Docker), \
         Configuration (e.g. PORT, API_KEY), Person, Organization, Product.\n\
         Relationship types: {}.\n\
         Guidelines: 5-20 entities; name each entity consistently, as the text spells it (FastAPI, not fastapi); \
         skip generic words (code, file, system); every relationship joins two entities you list.\n\
         Answer as JSON: {{\"entities\": [{{\"name\": str, \"type\": str, \"description\": str, \"mentions\": int}}], \
         \"relationships\": [{{\"from_entity\": str, \"to_entity\": str, \"relationship_type\": str, \
         \"description\": str, \"confidence\": number}}]}}\n\n<document_chunk>\n{}\n</document_chunk>",
        RELATION_TYPES.join(", "),
        cut(chunk)
    )
}

/// The gleaning prompt: the same chunk, the names already found, and a request for what was
/// missed (new names only are kept).
pub fn gleaning_prompt(chunk: &str, found: &ModelGraph) -> String {
    let names: Vec<&str> = found.entities.iter().map(|e| e.name.as_str()).collect();
    format!(
        "{}\n\nThese entities were already extracted: {}. Many entities and relationships may have been missed. \
         List only the missed ones, in the same JSON format (empty lists if nothing was missed).",
        extraction_prompt(chunk),
        names.join(", ")
    )
}

fn cut(chunk: &str) -> String {
    match chunk.char_indices().nth(MAX_CHUNK_CHARS) {
        Some((at, _)) => format!("{}\n[Text truncated...]", &chunk[..at]),
        None => chunk.to_owned(),
    }
}

/// A validated entity.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelEntity {
    pub name: String,
    pub entity_type: EntityType,
    pub description: String,
    pub mentions: u32,
}

/// A validated relation between two entities of the same answer, by name.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelRelation {
    pub from: String,
    pub to: String,
    pub relation_type: &'static str,
    pub confidence: f32,
}

/// What a model found in one chunk.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ModelGraph {
    pub entities: Vec<ModelEntity>,
    pub relations: Vec<ModelRelation>,
}

#[derive(Deserialize)]
struct RawAnswer {
    #[serde(default)]
    entities: Vec<RawEntity>,
    #[serde(default)]
    relationships: Vec<RawRelation>,
}

#[derive(Deserialize)]
struct RawEntity {
    name: Option<String>,
    #[serde(rename = "type")]
    entity_type: Option<String>,
    description: Option<String>,
    mentions: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct RawRelation {
    from_entity: Option<String>,
    to_entity: Option<String>,
    relationship_type: Option<String>,
    confidence: Option<f64>,
}

/// Parse and validate a model's answer; `None` when it holds no JSON object of this shape.
pub fn parse_answer(answer: &str) -> Option<ModelGraph> {
    let start = answer.find('{')?;
    let end = answer.rfind('}')?;
    let raw: RawAnswer = serde_json::from_str(answer.get(start..=end)?).ok()?;
    let mut graph = ModelGraph::default();
    for e in raw.entities.into_iter().take(MAX_ITEMS) {
        let Some(name) = e.name.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty() && n.len() <= MAX_NAME_CHARS)
        else {
            continue;
        };
        if graph.entities.iter().any(|known| known.name == name) {
            continue;
        }
        let mentions = e.mentions.and_then(|m| m.as_u64()).map_or(1, |m| u32::try_from(m.clamp(1, 1_000)).unwrap_or(1));
        graph.entities.push(ModelEntity {
            entity_type: e.entity_type.as_deref().and_then(EntityType::parse).unwrap_or(EntityType::Concept),
            description: e.description.map(|d| truncate(d.trim(), MAX_DESCRIPTION_CHARS)).unwrap_or_default(),
            mentions,
            name,
        });
    }
    for r in raw.relationships.into_iter().take(MAX_ITEMS) {
        let (Some(from), Some(to), Some(kind)) = (r.from_entity, r.to_entity, r.relationship_type) else { continue };
        let (from, to) = (from.trim().to_owned(), to.trim().to_owned());
        let named = |n: &str| graph.entities.iter().any(|e| e.name == n);
        let Some(relation_type) = RELATION_TYPES.iter().find(|t| t.eq_ignore_ascii_case(kind.trim())) else { continue };
        if from == to || !named(&from) || !named(&to) {
            continue;
        }
        let confidence = r.confidence.map_or(DEFAULT_CONFIDENCE, |c| c.clamp(0.0, 1.0) as f32);
        graph.relations.push(ModelRelation { from, to, relation_type, confidence });
    }
    Some(graph)
}

/// Add a gleaning pass's answer: only entities with new names, and relations not already there.
pub fn merge_gleaning(graph: &mut ModelGraph, gleaned: ModelGraph) {
    for entity in gleaned.entities {
        if !graph.entities.iter().any(|e| e.name == entity.name) {
            graph.entities.push(entity);
        }
    }
    for relation in gleaned.relations {
        let known = graph.entities.iter().any(|e| e.name == relation.from)
            && graph.entities.iter().any(|e| e.name == relation.to);
        let duplicate = graph
            .relations
            .iter()
            .any(|r| r.from == relation.from && r.to == relation.to && r.relation_type == relation.relation_type);
        if known && !duplicate {
            graph.relations.push(relation);
        }
    }
}

fn truncate(text: &str, max: usize) -> String {
    text.char_indices().nth(max).map_or_else(|| text.to_owned(), |(at, _)| text[..at].to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_validated_not_trusted() {
        let answer = "Here you go:\n```json\n{\"entities\": [\
            {\"name\": \"FastAPI\", \"type\": \"technology\", \"description\": \"A web framework.\", \"mentions\": 3},\
            {\"name\": \"PORT\", \"type\": \"Configuration\"},\
            {\"name\": \"Uvicorn\", \"type\": \"Wizard\"},\
            {\"name\": \"\"}, {\"type\": \"Concept\"}, {\"name\": \"FastAPI\", \"type\": \"Product\"}],\
            \"relationships\": [\
            {\"from_entity\": \"FastAPI\", \"to_entity\": \"Uvicorn\", \"relationship_type\": \"uses\"},\
            {\"from_entity\": \"FastAPI\", \"to_entity\": \"PORT\", \"relationship_type\": \"LOVES\"},\
            {\"from_entity\": \"FastAPI\", \"to_entity\": \"Nowhere\", \"relationship_type\": \"USES\"},\
            {\"from_entity\": \"PORT\", \"to_entity\": \"PORT\", \"relationship_type\": \"CONFIGURES\"}]}\n```";
        let graph = parse_answer(answer).unwrap();
        let names: Vec<(&str, EntityType, u32)> =
            graph.entities.iter().map(|e| (e.name.as_str(), e.entity_type, e.mentions)).collect();
        assert_eq!(
            names,
            [
                ("FastAPI", EntityType::Technology, 3),
                ("PORT", EntityType::Configuration, 1),
                ("Uvicorn", EntityType::Concept, 1)
            ]
        );
        assert_eq!(graph.relations.len(), 1, "unknown types, unknown ends and self-loops are dropped");
        assert_eq!((graph.relations[0].relation_type, graph.relations[0].confidence), ("USES", 0.8));
        assert_eq!(parse_answer("I cannot help with that."), None);
        assert_eq!(parse_answer("{\"entities\": 3}"), None);
    }

    #[test]
    fn gleaning_adds_only_new_names() {
        let mut graph = parse_answer(r#"{"entities": [{"name": "Tokio", "type": "Technology"}]}"#).unwrap();
        let gleaned = parse_answer(
            r#"{"entities": [{"name": "Tokio", "type": "Product"}, {"name": "Mio", "type": "Technology"}],
                "relationships": [{"from_entity": "Tokio", "to_entity": "Mio", "relationship_type": "USES"}]}"#,
        )
        .unwrap();
        merge_gleaning(&mut graph, gleaned);
        assert_eq!(graph.entities.len(), 2);
        assert_eq!(graph.entities[0].entity_type, EntityType::Technology, "the first answer's type stays");
        assert_eq!(graph.relations.len(), 1);
        assert!(gleaning_prompt("text", &graph).contains("already extracted: Tokio, Mio"));
        assert!(extraction_prompt(&"x".repeat(MAX_CHUNK_CHARS + 10)).contains("[Text truncated...]"));
    }
}
