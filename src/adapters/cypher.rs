//! The document graph's openCypher statements, shared by every Cypher backend (FalkorDB over RESP,
//! Neo4j and other Bolt servers): one parameterised statement per file under `cypher/document/`,
//! compiled in so a release carries exactly the statements it was tested with. `cypher/README.md` says
//! which subset of openCypher they keep to and why; DDL, vectors and read-only enforcement are
//! each backend's own.

/// The document graph (GraphRAG): see `cypher/README.md` for the schema.
pub(crate) mod document {
    /// `$url` -> `hash` (null for a stub).
    pub(crate) const PAGE_HASH: &str = include_str!("../../cypher/document/page_hash.cypher");
    /// `$url` -> `keys`, `mentions`, `relations`, `targets` (what the page said, now deleted).
    pub(crate) const REPLACE_PAGE_DELETE: &str = include_str!("../../cypher/document/replace_page_delete.cypher");
    /// `$url`, `$source`, `$title`, `$chunks` (chunk numbers); the hash is left empty.
    pub(crate) const WRITE_DOCUMENT: &str = include_str!("../../cypher/document/write_document.cypher");
    /// `$url`, `$content_hash`: the last statement of a page's write.
    pub(crate) const SET_PAGE_HASH: &str = include_str!("../../cypher/document/set_page_hash.cypher");
    /// `$rows`: `{key, name, type, description, score}`.
    pub(crate) const UPSERT_ENTITIES: &str = include_str!("../../cypher/document/upsert_entities.cypher");
    /// `$source`, `$rows`: `{chunk, key, name, type, count}`.
    pub(crate) const INSERT_MENTIONS: &str = include_str!("../../cypher/document/insert_mentions.cypher");
    /// `$url`, `$source`, `$rows`: `{source, target, type, weight, count}`.
    pub(crate) const INSERT_RELATIONS: &str = include_str!("../../cypher/document/insert_relations.cypher");
    /// `$url`, `$source`, `$links` (target urls).
    pub(crate) const INSERT_LINKS: &str = include_str!("../../cypher/document/insert_links.cypher");
    /// `$url` -> `documents` (1 if the page was in the graph; it is a stub now).
    pub(crate) const UNSET_DOCUMENT: &str = include_str!("../../cypher/document/unset_document.cypher");
    /// `$urls` -> `deleted`.
    pub(crate) const DELETE_UNLINKED_STUBS: &str = include_str!("../../cypher/document/delete_unlinked_stubs.cypher");
    /// `$keys` -> `recounted`.
    pub(crate) const RECOUNT_ENTITIES: &str = include_str!("../../cypher/document/recount_entities.cypher");
    /// `$keys` -> `orphans`.
    pub(crate) const DELETE_ORPHANS: &str = include_str!("../../cypher/document/delete_orphans.cypher");
    /// `$keys` -> `deleted`: the `EntityVector` nodes of the entities among them that are gone.
    pub(crate) const DELETE_ENTITY_VECTORS: &str = include_str!("../../cypher/document/delete_entity_vectors.cypher");
    /// `$source` -> `keys`, `mentions`, `relations`.
    pub(crate) const DELETE_SOURCE: &str = include_str!("../../cypher/document/delete_source.cypher");
    /// `$source` -> `documents`, `outside` (other sources' urls its pages linked to).
    pub(crate) const DELETE_SOURCE_DOCUMENTS: &str =
        include_str!("../../cypher/document/delete_source_documents.cypher");
    /// `$keys`, `$max_aliases` -> `key`, `name`, `type`, `description`, `mention_count`, `aliases`.
    pub(crate) const ENTITIES: &str = include_str!("../../cypher/document/entities.cypher");
    /// `$prefix`, `$limit` -> `key`.
    pub(crate) const ENTITIES_WITH_PREFIX: &str = include_str!("../../cypher/document/entities_with_prefix.cypher");
    /// `$keys`, `$source` (or null), `$limit` -> `source`, `target`, `type`, `weight`, `count`.
    pub(crate) const RELATIONS_OF: &str = include_str!("../../cypher/document/relations_of.cypher");
    /// `$keys` -> `key` (one hop, either direction).
    pub(crate) const NEIGHBOURHOOD: &str = include_str!("../../cypher/document/neighbourhood.cypher");
    /// `$keys`, `$source` (or null), `$limit` -> `url`, `chunk_number`, `keys`.
    pub(crate) const CHUNKS_MENTIONING: &str = include_str!("../../cypher/document/chunks_mentioning.cypher");
    /// `$key`, `$limit` -> `url`, `title`, `source_id`, `mentions`.
    pub(crate) const DOCUMENTS_MENTIONING: &str = include_str!("../../cypher/document/documents_mentioning.cypher");
    /// -> `source`, `entities`.
    pub(crate) const SOURCE_COUNTS_ENTITIES: &str = include_str!("../../cypher/document/source_counts_entities.cypher");
    /// -> `source`, `relations`.
    pub(crate) const SOURCE_COUNTS_RELATIONS: &str =
        include_str!("../../cypher/document/source_counts_relations.cypher");
}

/// Other spellings listed per entity.
pub(crate) const MAX_ALIASES: i64 = 8;

/// `x` as the f64 its shortest decimal form reads as (0.7, not 0.699999988...), so weights and
/// scores read back as the numbers they were (FalkorDB parameters travel as text, and `vecf32()`
/// reads the same f32 back from the shorter form; Bolt sends f64 as is).
pub(crate) fn decimal(x: f32) -> f64 {
    x.to_string().parse().unwrap_or(f64::from(x))
}

/// Entities within `max_hops` of `key` (itself excluded), nearest first, at most `limit`:
/// breadth first, one `neighbours` call (one statement) per hop, each entity reached once at its
/// fewest hops. The walk both Cypher backends answer `GraphStore::neighbourhood` with.
pub(crate) async fn breadth_first<F, Fut>(
    key: &str,
    max_hops: u32,
    limit: usize,
    mut neighbours: F,
) -> Result<Vec<(String, u32)>, crate::ports::GraphError>
where
    F: FnMut(Vec<String>) -> Fut,
    Fut: std::future::Future<Output = Result<Vec<String>, crate::ports::GraphError>>,
{
    let mut seen: std::collections::HashSet<String> = std::collections::HashSet::from([key.to_owned()]);
    let mut frontier = vec![key.to_owned()];
    let mut found = Vec::new();
    for hops in 1..=max_hops {
        if frontier.is_empty() || found.len() >= limit {
            break;
        }
        let mut next: Vec<String> =
            neighbours(frontier).await?.into_iter().filter(|k| seen.insert(k.clone())).collect();
        next.sort();
        found.extend(next.iter().map(|k| (k.clone(), hops)));
        frontier = next;
    }
    found.truncate(limit);
    Ok(found)
}
