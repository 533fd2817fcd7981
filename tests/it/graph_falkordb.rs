//! The FalkorDB graph backend against a real server (`CRAWLRAG_TEST_FALKORDB_URL`, started by
//! `scripts/services.sh`): page writes replaced idempotently, entities shared across sources and
//! deleted with their last mention, relation weights summed over pages, vector search, source
//! deletion, and users' read-only Cypher as JSON. Each test uses a graph of its own and deletes it.

use crawlrag::adapters::falkordb::FalkorGraph;
use crawlrag::domain::SourceId;
use crawlrag::domain::entity::{EntityMention, EntityRelation, EntityType};
use crawlrag::ports::{EntityFacts, GraphDeleted, GraphError, GraphStore, PageGraph};
use serde_json::{Value, json};

use crate::common;

const S1: &str = "docs.one.test";
const S2: &str = "docs.two.test";
const PAGE_A: &str = "https://docs.one.test/a";
const PAGE_B: &str = "https://docs.two.test/b";
/// Linked from page A, never crawled: a stub document.
const STUB: &str = "https://docs.one.test/never-crawled";

/// The server, or `None` (with the reason printed) when it is not running locally. Under
/// `CI=true` a missing server is a failure, never a skip.
pub(crate) fn falkordb_url() -> Option<String> {
    match std::env::var("CRAWLRAG_TEST_FALKORDB_URL") {
        Ok(url) => Some(url),
        Err(_) => {
            let reason = "CRAWLRAG_TEST_FALKORDB_URL must be set (run: eval \"$(scripts/services.sh)\")";
            assert!(std::env::var("CI").as_deref() != Ok("true"), "CI=true but FalkorDB is missing: {reason}");
            eprintln!("SKIPPED: {reason}");
            None
        }
    }
}

/// A graph no other test uses, deleted by [`TestGraph::finish`].
pub(crate) struct TestGraph {
    pub(crate) store: FalkorGraph,
    pub(crate) url: String,
    pub(crate) name: String,
}

impl TestGraph {
    pub(crate) async fn start(prefix: &str) -> Option<Self> {
        let url = falkordb_url()?;
        let name = common::unique_schema(prefix);
        let store = FalkorGraph::connect(&url, &name).await.expect("connect to FalkorDB");
        Some(Self { store, url, name })
    }

    pub(crate) async fn finish(self) {
        let info: falkordb::FalkorConnectionInfo = self.url.as_str().try_into().expect("FalkorDB URL");
        let client = falkordb::FalkorClientBuilder::new_async().with_connection_info(info).build().await.unwrap();
        client.select_graph(&self.name).delete().await.expect("delete the test graph");
    }

    /// The single number a read-only query answers.
    async fn number(&self, query: &str) -> i64 {
        let rows = self.store.read_query(query, 10).await.unwrap();
        rows[0].values().next().and_then(Value::as_i64).unwrap_or_else(|| panic!("{query} -> {rows:?}"))
    }
}

/// What one page says, owned (a [`PageGraph`] borrows it).
struct Page {
    url: &'static str,
    source: SourceId,
    title: &'static str,
    hash: &'static str,
    chunks: Vec<Vec<EntityMention>>,
    relations: Vec<EntityRelation>,
    entities: Vec<EntityFacts>,
    links: Vec<String>,
}

impl Page {
    fn graph(&self) -> PageGraph<'_> {
        PageGraph {
            url: self.url,
            source: &self.source,
            title: Some(self.title),
            content_hash: self.hash,
            chunk_mentions: &self.chunks,
            relations: &self.relations,
            entities: &self.entities,
            links: &self.links,
        }
    }
}

fn mention(key: &str, name: &str, count: u32) -> EntityMention {
    EntityMention { key: key.into(), name: name.into(), entity_type: EntityType::Technology, count }
}

fn relation(source: &str, target: &str, weight: f32, count: u32) -> EntityRelation {
    EntityRelation { source: source.into(), target: target.into(), relation_type: "CO_OCCURS".into(), weight, count }
}

/// Hand-made 3-dimension name vectors: tokio and axum are 45 degrees apart (cosine 0.7071);
/// serde, hyper and tower are orthogonal to tokio; from serde's direction, axum (0.71) is nearer
/// than tower (0.45), then hyper (0.10), then tokio (0).
fn facts(key: &str) -> EntityFacts {
    let (name, embedding) = match key {
        "tokio" => ("Tokio", [1.0, 0.0, 0.0]),
        "axum" => ("Axum", [1.0, 1.0, 0.0]),
        "serde" => ("Serde", [0.0, 1.0, 0.0]),
        "hyper" => ("Hyper", [0.0, 0.1, 1.0]),
        _ => ("Tower", [0.0, 0.5, 1.0]),
    };
    EntityFacts {
        key: key.into(),
        name: name.into(),
        entity_type: EntityType::Technology,
        description: format!("{name} is a crate."),
        description_score: 0.5,
        embedding: embedding.to_vec(),
    }
}

/// Page A (source 1): tokio x2 + axum in chunk 0, tokio + serde in chunk 1; links to a stub.
fn page_a() -> Page {
    Page {
        url: PAGE_A,
        source: SourceId::from(S1.to_owned()),
        title: "Page A",
        hash: "hash-a",
        chunks: vec![
            vec![mention("tokio", "Tokio", 2), mention("axum", "Axum", 1)],
            vec![mention("tokio", "tokio", 1), mention("serde", "Serde", 1)],
        ],
        relations: vec![relation("tokio", "axum", 0.5, 1), relation("tokio", "serde", 0.25, 1)],
        entities: ["tokio", "axum", "serde"].map(facts).to_vec(),
        links: vec![STUB.to_owned()],
    }
}

/// Page B (source 2): tokio (spelt "tokio-rs") + axum x3 + hyper + tower in chunk 0.
fn page_b() -> Page {
    Page {
        url: PAGE_B,
        source: SourceId::from(S2.to_owned()),
        title: "Page B",
        hash: "hash-b",
        chunks: vec![vec![
            mention("tokio", "tokio-rs", 1),
            mention("axum", "Axum", 3),
            mention("hyper", "Hyper", 1),
            mention("tower", "Tower", 1),
        ]],
        relations: vec![relation("tokio", "axum", 0.25, 1), relation("axum", "hyper", 0.5, 1)],
        entities: ["tokio", "axum", "hyper", "tower"].map(facts).to_vec(),
        links: Vec::new(),
    }
}

fn keys(list: &[&str]) -> Vec<String> {
    list.iter().map(|k| (*k).to_owned()).collect()
}

/// Each entity's key and mention count, sorted by key.
async fn mention_counts(store: &FalkorGraph, asked: &[&str]) -> Vec<(String, i64)> {
    let mut found: Vec<(String, i64)> =
        store.entities(&keys(asked)).await.unwrap().into_iter().map(|e| (e.key, e.mention_count)).collect();
    found.sort();
    found
}

/// (source, target, weight, count) of the relations touching `key`.
async fn relations(store: &FalkorGraph, key: &str, source: Option<&str>) -> Vec<(String, String, f64, i64)> {
    let source = source.map(|s| SourceId::from(s.to_owned()));
    store
        .relations_of(&keys(&[key]), source.as_ref(), 10)
        .await
        .unwrap()
        .into_iter()
        .map(|r| {
            assert_eq!(r.relation_type, "CO_OCCURS");
            (r.source, r.target, r.weight, r.count)
        })
        .collect()
}

/// What the graph holds, in numbers: entities, MENTIONS, RELATED, chunks, documents.
async fn sizes(graph: &TestGraph) -> [i64; 5] {
    [
        graph.number("MATCH (e:Entity) RETURN count(e)").await,
        graph.number("MATCH (:Chunk)-[m:MENTIONS]->(:Entity) RETURN count(m)").await,
        graph.number("MATCH (:Entity)-[r:RELATED]->(:Entity) RETURN count(r)").await,
        graph.number("MATCH (c:Chunk) RETURN count(c)").await,
        graph.number("MATCH (d:Document) RETURN count(d)").await,
    ]
}

fn rel(source: &str, target: &str, weight: f64, count: i64) -> (String, String, f64, i64) {
    (source.to_owned(), target.to_owned(), weight, count)
}

#[tokio::test]
async fn page_graphs_answer_entities_relations_chunks_and_neighbours() {
    let Some(graph) = TestGraph::start("falkor_pages").await else { return };
    let store = &graph.store;
    assert_eq!(store.backend(), "falkordb");
    store.ping().await.unwrap();
    store.replace_page(page_a().graph()).await.unwrap();
    store.replace_page(page_b().graph()).await.unwrap();

    // Entities are shared across sources; counts add up over every page's mentions.
    let found = mention_counts(store, &["tokio", "axum", "serde", "hyper", "tower", "missing"]).await;
    let expected = [("axum", 4), ("hyper", 1), ("serde", 1), ("tokio", 4), ("tower", 1)];
    assert_eq!(found, expected.map(|(k, n)| (k.to_owned(), n)));
    let tokio = store.entities(&keys(&["tokio"])).await.unwrap().remove(0);
    assert_eq!((tokio.name.as_str(), tokio.entity_type.as_str()), ("Tokio", "Technology"));
    assert_eq!(tokio.description, "Tokio is a crate.");
    let mut aliases = tokio.aliases.clone();
    aliases.sort();
    assert_eq!(aliases, ["tokio", "tokio-rs"], "other spellings, without the name itself");

    // One RELATED edge per page; weights and counts summed when read, heaviest first.
    assert_eq!(relations(store, "tokio", None).await, [rel("tokio", "axum", 0.75, 2), rel("tokio", "serde", 0.25, 1)]);
    assert_eq!(relations(store, "axum", None).await, [rel("tokio", "axum", 0.75, 2), rel("axum", "hyper", 0.5, 1)]);
    assert_eq!(relations(store, "tokio", Some(S2)).await, [rel("tokio", "axum", 0.25, 1)], "source filter");
    let both = store.relations_of(&keys(&["tokio", "axum"]), None, 10).await.unwrap();
    assert_eq!(both.len(), 3, "an edge between two asked keys is listed once: {both:?}");

    // Chunks mentioning the most asked keys, then the most mentions.
    let chunks = store.chunks_mentioning(&keys(&["tokio", "axum"]), None, 10).await.unwrap();
    let order: Vec<(&str, i32)> = chunks.iter().map(|c| (c.url.as_str(), c.chunk_number)).collect();
    assert_eq!(order, [(PAGE_B, 0), (PAGE_A, 0), (PAGE_A, 1)]);
    let mut first_keys = chunks[0].keys.clone();
    first_keys.sort();
    assert_eq!(first_keys, ["axum", "tokio"]);
    assert_eq!(chunks[2].keys, ["tokio"]);
    let s1 = SourceId::from(S1.to_owned());
    let within = store.chunks_mentioning(&keys(&["tokio", "axum"]), Some(&s1), 10).await.unwrap();
    assert_eq!(within.iter().map(|c| (c.url.as_str(), c.chunk_number)).collect::<Vec<_>>(), [(PAGE_A, 0), (PAGE_A, 1)]);

    let documents = store.documents_mentioning("axum", 10).await.unwrap();
    let documents: Vec<(&str, Option<&str>, &str, i64)> =
        documents.iter().map(|d| (d.url.as_str(), d.title.as_deref(), d.source_id.as_str(), d.mentions)).collect();
    assert_eq!(documents, [(PAGE_B, Some("Page B"), S2, 3), (PAGE_A, Some("Page A"), S1, 1)]);

    // serde -1- tokio -2- axum -3- hyper: each more hop reaches further.
    let one = store.neighbourhood("serde", 1, 10).await.unwrap();
    let two = store.neighbourhood("serde", 2, 10).await.unwrap();
    assert_eq!(one, [("tokio".to_owned(), 1)]);
    assert_eq!(two, [("tokio".to_owned(), 1), ("axum".to_owned(), 2)]);
    let three = store.neighbourhood("serde", 3, 10).await.unwrap();
    assert_eq!(three.last(), Some(&("hyper".to_owned(), 3)));
    assert_eq!(store.neighbourhood("serde", 3, 2).await.unwrap(), two, "the limit keeps the nearest");

    // Cosine similarity, best first: the index's distance is turned into 1 - distance.
    let nearest = store.nearest_entities(&[1.0, 0.0, 0.0], None, 2).await.unwrap();
    let ranked: Vec<&str> = nearest.iter().map(|(e, _)| e.key.as_str()).collect();
    assert_eq!(ranked, ["tokio", "axum"]);
    assert!((nearest[0].1 - 1.0).abs() < 1e-4, "{nearest:?}");
    assert!((nearest[1].1 - std::f32::consts::FRAC_1_SQRT_2).abs() < 1e-4, "cos 45 degrees: {nearest:?}");
    assert_eq!(nearest[0].0.mention_count, 4, "records come back whole");
    let s2 = SourceId::from(S2.to_owned());
    let in_s2 = store.nearest_entities(&[0.0, 1.0, 0.0], Some(&s2), 3).await.unwrap();
    let in_s2: Vec<&str> = in_s2.iter().map(|(e, _)| e.key.as_str()).collect();
    assert_eq!(in_s2, ["axum", "tower", "hyper"], "serde is nearest but only source 1 mentions it");
    assert!(store.nearest_entities(&[1.0, 0.0], None, 3).await.unwrap().is_empty(), "another dimension");

    let prefixed = store.entities_with_prefix("to", 10).await.unwrap();
    assert_eq!(
        prefixed.iter().map(|e| (e.key.as_str(), e.mention_count)).collect::<Vec<_>>(),
        [("tokio", 4), ("tower", 1)]
    );

    assert_eq!(store.page_hash(PAGE_A).await.unwrap().as_deref(), Some("hash-a"));
    assert_eq!(store.page_hash(STUB).await.unwrap(), None, "a page only linked to has no hash");
    assert_eq!(store.page_hash("https://nowhere.test/").await.unwrap(), None);
    let counts: Vec<(String, i64, i64)> = store
        .source_counts()
        .await
        .unwrap()
        .into_iter()
        .map(|c| (c.source.as_str().to_owned(), c.entities, c.relations))
        .collect();
    assert_eq!(counts, [(S1.to_owned(), 3, 2), (S2.to_owned(), 4, 2)]);

    // A second connection finds the indexes (no error) and the vector index's dimension.
    let again = FalkorGraph::connect(&graph.url, &graph.name).await.unwrap();
    assert_eq!(again.nearest_entities(&[1.0, 0.0, 0.0], None, 1).await.unwrap()[0].0.key, "tokio");
    graph.finish().await;
}

#[tokio::test]
async fn replacing_a_page_is_idempotent_and_shrinks_with_less() {
    let Some(graph) = TestGraph::start("falkor_replace").await else { return };
    let store = &graph.store;
    store.replace_page(page_a().graph()).await.unwrap();
    store.replace_page(page_b().graph()).await.unwrap();
    let all = ["tokio", "axum", "serde", "hyper", "tower"];
    let counts = mention_counts(store, &all).await;
    let before = sizes(&graph).await;
    // 5 entities, 8 mentions, 4 relations, 3 chunks, 3 documents (A, B and A's stub link).
    assert_eq!(before, [5, 8, 4, 3, 3]);

    store.replace_page(page_a().graph()).await.unwrap();
    assert_eq!(mention_counts(store, &all).await, counts, "a re-crawl never grows counts");
    assert_eq!(sizes(&graph).await, before);
    assert_eq!(relations(store, "tokio", None).await, [rel("tokio", "axum", 0.75, 2), rel("tokio", "serde", 0.25, 1)]);
    let findable = store.nearest_entities(&[1.0, 0.0, 0.0], None, 10).await.unwrap();
    assert_eq!(findable.len(), 5, "every entity stays findable by vector after its counts change: {findable:?}");

    // Page A now says less: one mention of tokio, no relations, no links.
    let mut less = page_a();
    less.hash = "hash-a2";
    less.chunks = vec![vec![mention("tokio", "Tokio", 1)]];
    less.relations.clear();
    less.entities = vec![facts("tokio")];
    less.links.clear();
    store.replace_page(less.graph()).await.unwrap();
    assert_eq!(store.page_hash(PAGE_A).await.unwrap().as_deref(), Some("hash-a2"));
    let shrunk = mention_counts(store, &all).await;
    let expected = [("axum", 3), ("hyper", 1), ("tokio", 2), ("tower", 1)];
    assert_eq!(shrunk, expected.map(|(k, n)| (k.to_owned(), n)), "serde is an orphan now: deleted");
    assert_eq!(relations(store, "tokio", None).await, [rel("tokio", "axum", 0.25, 1)]);
    // 4 entities, 5 mentions, 2 relations (B's), 2 chunks, 2 documents (the unlinked stub went).
    assert_eq!(sizes(&graph).await, [4, 5, 2, 2, 2]);
    assert_eq!(graph.number("MATCH (v:EntityVector) RETURN count(v)").await, 4, "serde's vector went with it");
    let nearest = store.nearest_entities(&[0.0, 1.0, 0.0], None, 10).await.unwrap();
    assert_eq!(nearest.iter().map(|(e, _)| e.key.as_str()).collect::<Vec<_>>(), ["axum", "tower", "hyper", "tokio"]);

    let deleted = store.delete_page(PAGE_A).await.unwrap();
    assert_eq!(deleted, GraphDeleted { documents: 1, mentions: 1, relations: 0, entities: 0 });
    assert_eq!(store.page_hash(PAGE_A).await.unwrap(), None);
    assert_eq!(mention_counts(store, &["tokio"]).await, [("tokio".to_owned(), 1)]);
    assert_eq!(sizes(&graph).await, [4, 4, 2, 1, 1]);
    let again = store.delete_page(PAGE_A).await.unwrap();
    assert_eq!(again, GraphDeleted::default(), "deleting a page twice removes nothing more");
    graph.finish().await;
}

#[tokio::test]
async fn deleting_a_source_keeps_entities_other_sources_mention() {
    let Some(graph) = TestGraph::start("falkor_source").await else { return };
    let store = &graph.store;
    store.replace_page(page_a().graph()).await.unwrap();
    store.replace_page(page_b().graph()).await.unwrap();

    let deleted = store.delete_source(&SourceId::from(S1.to_owned())).await.unwrap();
    assert_eq!(deleted, GraphDeleted { documents: 1, mentions: 4, relations: 2, entities: 1 });
    let left = mention_counts(store, &["tokio", "axum", "serde", "hyper", "tower"]).await;
    let expected = [("axum", 3), ("hyper", 1), ("tokio", 1), ("tower", 1)];
    assert_eq!(left, expected.map(|(k, n)| (k.to_owned(), n)), "serde went, the shared ones stay");
    assert_eq!(relations(store, "tokio", None).await, [rel("tokio", "axum", 0.25, 1)]);
    let documents = store.documents_mentioning("tokio", 10).await.unwrap();
    assert_eq!(documents.iter().map(|d| d.url.as_str()).collect::<Vec<_>>(), [PAGE_B]);
    assert_eq!(store.page_hash(PAGE_A).await.unwrap(), None);
    let sources: Vec<String> = store.source_counts().await.unwrap().into_iter().map(|c| c.source.to_string()).collect();
    assert_eq!(sources, [S2]);
    // Page B's entities, mentions, relations, chunk and document; A's stub went with source 1.
    assert_eq!(sizes(&graph).await, [4, 4, 2, 1, 1]);

    let rest = store.delete_source(&SourceId::from(S2.to_owned())).await.unwrap();
    assert_eq!(rest, GraphDeleted { documents: 1, mentions: 4, relations: 2, entities: 4 });
    assert_eq!(sizes(&graph).await, [0, 0, 0, 0, 0]);
    assert_eq!(graph.number("MATCH (v:EntityVector) RETURN count(v)").await, 0);
    graph.finish().await;
}

#[tokio::test]
async fn read_queries_render_json_under_limits_and_refuse_writes() {
    let Some(graph) = TestGraph::start("falkor_read").await else { return };
    let store = &graph.store;
    store.replace_page(page_a().graph()).await.unwrap();
    store.replace_page(page_b().graph()).await.unwrap();

    let rows = store.read_query("MATCH (d:Document {url: $url}) RETURN d", 10).await;
    assert!(matches!(rows, Err(GraphError::Invalid(_))), "an unbound parameter is the query's fault: {rows:?}");
    let rows =
        store.read_query(&format!("MATCH (d:Document {{url: '{PAGE_B}'}}) RETURN d, id(d) AS id"), 10).await.unwrap();
    assert_eq!(rows.len(), 1);
    let node = &rows[0]["d"];
    assert_eq!(node["id"], rows[0]["id"]);
    assert_eq!(node["labels"], json!(["Document"]));
    assert_eq!(
        node["properties"],
        json!({"url": PAGE_B, "source_id": S2, "title": "Page B", "content_hash": "hash-b"})
    );

    let rows = store
        .read_query(
            "MATCH (a:Entity {key: 'tokio'})-[r:RELATED]->(b:Entity {key: 'serde'}) RETURN r, id(a) AS a, id(b) AS b",
            10,
        )
        .await
        .unwrap();
    let edge = &rows[0]["r"];
    assert_eq!((&edge["type"], &edge["start"], &edge["end"]), (&json!("RELATED"), &rows[0]["a"], &rows[0]["b"]));
    assert_eq!(
        edge["properties"],
        json!({"url": PAGE_A, "source_id": S1, "type": "CO_OCCURS", "weight": 0.25, "count": 1})
    );

    // falkordb 0.11 cannot decode FalkorDB 4.16's paths: the error says what to return instead,
    // and that (the path's nodes and relationships as lists) decodes.
    let pattern = "MATCH p = (:Entity {key: 'serde'})<-[:RELATED]-(:Entity)-[:RELATED]->(:Entity {key: 'axum'})";
    let path = store.read_query(&format!("{pattern} RETURN p"), 10).await;
    assert!(matches!(&path, Err(GraphError::Invalid(m)) if m.contains("nodes(p)")), "{path:?}");
    let rows = store
        .read_query(&format!("{pattern} RETURN {{nodes: nodes(p), relationships: relationships(p)}} AS p"), 10)
        .await
        .unwrap();
    let path = &rows[0]["p"];
    let nodes: Vec<&Value> = path["nodes"].as_array().unwrap().iter().map(|n| &n["properties"]["key"]).collect();
    assert_eq!(nodes, [&json!("serde"), &json!("tokio"), &json!("axum")]);
    let hops: Vec<&Value> = path["relationships"].as_array().unwrap().iter().map(|r| &r["type"]).collect();
    assert_eq!(hops, [&json!("RELATED"), &json!("RELATED")]);
    let rows = store.read_query("MATCH (v:EntityVector {key: 'serde'}) RETURN v.embedding AS v", 10).await.unwrap();
    assert_eq!(rows[0]["v"], json!([0.0, 1.0, 0.0]), "vectors read as lists of numbers");

    let rows =
        store.read_query("RETURN [1, 2.5, 'x', null, true] AS list, {a: 1, b: {c: 'd'}} AS map", 10).await.unwrap();
    assert_eq!(
        Value::Object(rows[0].clone()),
        json!({"list": [1, 2.5, "x", null, true], "map": {"a": 1, "b": {"c": "d"}}})
    );

    let rows = store.read_query("MATCH (e:Entity) RETURN e.key AS key ORDER BY key", 2).await.unwrap();
    assert_eq!(rows.iter().map(|r| r["key"].clone()).collect::<Vec<_>>(), [json!("axum"), json!("hyper")]);

    // Straight to read_query, no guard in front: the server's read-only path refuses the write.
    let entities = graph.number("MATCH (e:Entity) RETURN count(e)").await;
    for write in ["CREATE (n:X) RETURN n", "MATCH (e:Entity) DETACH DELETE e", "MATCH (e:Entity) SET e.name = 'x'"] {
        let refused = store.read_query(write, 10).await;
        assert!(matches!(refused, Err(GraphError::Refused(_))), "{write}: {refused:?}");
    }
    assert_eq!(graph.number("MATCH (n:X) RETURN count(n)").await, 0);
    assert_eq!(graph.number("MATCH (e:Entity) RETURN count(e)").await, entities);
    assert_eq!(store.entities(&keys(&["tokio"])).await.unwrap()[0].name, "Tokio");

    let invalid = store.read_query("MATCH (n RETURN n", 10).await;
    assert!(matches!(invalid, Err(GraphError::Invalid(_))), "{invalid:?}");
    let unknown = store.read_query("RETURN nosuchfunction(1)", 10).await;
    assert!(matches!(unknown, Err(GraphError::Invalid(_))), "{unknown:?}");
    graph.finish().await;
}

#[tokio::test]
async fn a_server_that_does_not_answer_is_unavailable() {
    // Port 1 on loopback: nothing listens there, so the connection is refused at once.
    let refused = FalkorGraph::connect("falkor://127.0.0.1:1", "unused").await;
    assert!(matches!(refused, Err(GraphError::Unavailable(_))), "{refused:?}");
    let invalid = FalkorGraph::connect("http://127.0.0.1:1", "unused").await;
    assert!(matches!(invalid, Err(GraphError::Unavailable(_))), "{invalid:?}");
}

/// Every shared statement keeps to the subset `cypher/README.md` describes (no server needed).
#[test]
fn shared_cypher_stays_in_the_portable_subset() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/cypher/document");
    let mut files = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        // Comments may name what the code avoids.
        let code: String = text.lines().map(|l| l.split("//").next().unwrap_or("")).collect::<Vec<_>>().join("\n");
        let upper = code.to_uppercase();
        for banned in [
            "VECF32",
            "CREATE INDEX",
            "CONSTRAINT",
            "DATETIME(",
            "APOC.",
            "=~",
            "EXISTS {",
            "CALL (",
            "DB.IDX",
            "LOAD CSV",
        ] {
            assert!(!upper.contains(banned), "{}: {banned} is not in the shared subset", path.display());
        }
        if let Some(set) = upper.find("SET ") {
            assert!(!upper[set..].contains("WHERE"), "{}: WITH ... WHERE after SET", path.display());
        }
        let whole_graph = path.file_name().is_some_and(|n| n.to_string_lossy().starts_with("source_counts"));
        assert!(whole_graph || code.contains('$'), "{}: inputs are parameters", path.display());
        files += 1;
    }
    assert!(files >= 20, "{files} statements");
}
