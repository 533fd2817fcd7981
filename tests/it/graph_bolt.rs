//! The Bolt graph backend against a real Bolt server (`CRAWLRAG_TEST_BOLT_*`, started by
//! `scripts/services.sh`: ArcadeDB with its Bolt plugin; no Neo4j server can be had here, hence
//! the `bolt_compatible_` names). The same ground as `graph_falkordb.rs`: page writes replaced
//! idempotently, entities shared across sources and deleted with their last mention, relation
//! weights summed over pages, vector search, source deletion, users' read-only Cypher as JSON.
//!
//! The tests share one database and run in parallel, so each writes under a namespace of its own
//! (its sources, urls and entity keys start with it), deletes its sources at the end, and counts
//! only what carries its namespace.

use crawlrag::adapters::bolt::BoltGraph;
use crawlrag::domain::SourceId;
use crawlrag::domain::entity::{EntityMention, EntityRelation, EntityType};
use crawlrag::ports::{EntityFacts, EntityRecord, GraphDeleted, GraphError, GraphStore, PageGraph};
use serde_json::{Value, json};

use crate::common;

/// Where the server is, or `None` (with the reason printed) when it is not running locally.
/// Under `CI=true` a missing server is a failure, never a skip.
pub(crate) struct Server {
    uri: String,
    user: String,
    password: String,
    database: Option<String>,
}

pub(crate) fn bolt_server() -> Option<Server> {
    match std::env::var("CRAWLRAG_TEST_BOLT_URI") {
        Ok(uri) => Some(Server {
            uri,
            user: std::env::var("CRAWLRAG_TEST_BOLT_USER").unwrap_or_else(|_| "root".into()),
            password: std::env::var("CRAWLRAG_TEST_BOLT_PASSWORD").unwrap_or_default(),
            database: std::env::var("CRAWLRAG_TEST_BOLT_DATABASE").ok().filter(|d| !d.is_empty()),
        }),
        Err(_) => {
            let reason = "CRAWLRAG_TEST_BOLT_URI must be set (run: eval \"$(scripts/services.sh)\")";
            assert!(std::env::var("CI").as_deref() != Ok("true"), "CI=true but the Bolt server is missing: {reason}");
            eprintln!("SKIPPED: {reason}");
            None
        }
    }
}

pub(crate) async fn connect(server: &Server) -> BoltGraph {
    BoltGraph::connect(&server.uri, &server.user, &server.password, server.database.as_deref())
        .await
        .expect("connect to the Bolt server")
}

/// One test's corner of the shared database: its names all start with `ns`.
struct TestGraph {
    store: BoltGraph,
    server: Server,
    ns: String,
}

impl TestGraph {
    async fn start(prefix: &str) -> Option<Self> {
        let server = bolt_server()?;
        let store = connect(&server).await;
        Some(Self { store, server, ns: common::unique_schema(prefix) })
    }

    /// This test's entity key for `name`.
    fn key(&self, name: &str) -> String {
        format!("{}:{name}", self.ns)
    }

    fn keys(&self, names: &[&str]) -> Vec<String> {
        names.iter().map(|n| self.key(n)).collect()
    }

    /// The name back from one of this test's keys.
    fn name<'k>(&self, key: &'k str) -> &'k str {
        key.strip_prefix(&format!("{}:", self.ns)).unwrap_or_else(|| panic!("{key} is not this test's"))
    }

    fn s1(&self) -> String {
        format!("{}.one.test", self.ns)
    }

    fn s2(&self) -> String {
        format!("{}.two.test", self.ns)
    }

    fn page_a_url(&self) -> String {
        format!("https://{}/a", self.s1())
    }

    fn page_b_url(&self) -> String {
        format!("https://{}/b", self.s2())
    }

    /// Linked from page A, never crawled: a stub document.
    fn stub_url(&self) -> String {
        format!("https://{}/never-crawled", self.s1())
    }

    /// Delete everything this test wrote.
    async fn finish(self) {
        for source in [self.s1(), self.s2()] {
            self.store.delete_source(&SourceId::from(source)).await.expect("delete the test's sources");
        }
        let left = self.sizes().await;
        assert_eq!(left, [0; 5], "everything the test wrote is gone");
    }

    /// The single number a read-only query answers.
    async fn number(&self, query: &str) -> i64 {
        let rows = self.store.read_query(query, 10).await.unwrap();
        rows[0].values().next().and_then(Value::as_i64).unwrap_or_else(|| panic!("{query} -> {rows:?}"))
    }

    /// What the graph holds of this test's, in numbers: entities, MENTIONS, RELATED, chunks,
    /// documents.
    async fn sizes(&self) -> [i64; 5] {
        let ns = &self.ns;
        [
            self.number(&format!("MATCH (e:Entity) WHERE e.key STARTS WITH '{ns}:' RETURN count(e)")).await,
            self.number(&format!(
                "MATCH (c:Chunk)-[m:MENTIONS]->(:Entity) WHERE c.source_id STARTS WITH '{ns}.' RETURN count(m)"
            ))
            .await,
            self.number(&format!(
                "MATCH (:Entity)-[r:RELATED]->(:Entity) WHERE r.source_id STARTS WITH '{ns}.' RETURN count(r)"
            ))
            .await,
            self.number(&format!("MATCH (c:Chunk) WHERE c.source_id STARTS WITH '{ns}.' RETURN count(c)")).await,
            self.number(&format!("MATCH (d:Document) WHERE d.url STARTS WITH 'https://{ns}.' RETURN count(d)")).await,
        ]
    }

    /// This test's entity vectors.
    async fn vector_count(&self) -> i64 {
        self.number(&format!("MATCH (v:EntityVector) WHERE v.key STARTS WITH '{}:' RETURN count(v)", self.ns)).await
    }

    fn mention(&self, name: &str, spelling: &str, count: u32) -> EntityMention {
        EntityMention { key: self.key(name), name: spelling.into(), entity_type: EntityType::Technology, count }
    }

    fn relation(&self, source: &str, target: &str, weight: f32, count: u32) -> EntityRelation {
        EntityRelation {
            source: self.key(source),
            target: self.key(target),
            relation_type: "CO_OCCURS".into(),
            weight,
            count,
        }
    }

    /// Hand-made 3-dimension name vectors: tokio and axum are 45 degrees apart (cosine 0.7071);
    /// serde, hyper and tower are orthogonal to tokio; from serde's direction, axum (0.71) is
    /// nearer than tower (0.45), then hyper (0.10), then tokio (0).
    fn facts(&self, name: &str) -> EntityFacts {
        let (display, embedding) = match name {
            "tokio" => ("Tokio", [1.0, 0.0, 0.0]),
            "axum" => ("Axum", [1.0, 1.0, 0.0]),
            "serde" => ("Serde", [0.0, 1.0, 0.0]),
            "hyper" => ("Hyper", [0.0, 0.1, 1.0]),
            _ => ("Tower", [0.0, 0.5, 1.0]),
        };
        EntityFacts {
            key: self.key(name),
            name: display.into(),
            entity_type: EntityType::Technology,
            description: format!("{display} is a crate."),
            description_score: 0.5,
            embedding: embedding.to_vec(),
        }
    }

    /// Page A (source 1): tokio x2 + axum in chunk 0, tokio + serde in chunk 1; links to a stub.
    fn page_a(&self) -> Page {
        Page {
            url: self.page_a_url(),
            source: SourceId::from(self.s1()),
            title: "Page A",
            hash: "hash-a",
            chunks: vec![
                vec![self.mention("tokio", "Tokio", 2), self.mention("axum", "Axum", 1)],
                vec![self.mention("tokio", "tokio", 1), self.mention("serde", "Serde", 1)],
            ],
            relations: vec![self.relation("tokio", "axum", 0.5, 1), self.relation("tokio", "serde", 0.25, 1)],
            entities: ["tokio", "axum", "serde"].map(|n| self.facts(n)).to_vec(),
            links: vec![self.stub_url()],
        }
    }

    /// Page B (source 2): tokio (spelt "tokio-rs") + axum x3 + hyper + tower in chunk 0.
    fn page_b(&self) -> Page {
        Page {
            url: self.page_b_url(),
            source: SourceId::from(self.s2()),
            title: "Page B",
            hash: "hash-b",
            chunks: vec![vec![
                self.mention("tokio", "tokio-rs", 1),
                self.mention("axum", "Axum", 3),
                self.mention("hyper", "Hyper", 1),
                self.mention("tower", "Tower", 1),
            ]],
            relations: vec![self.relation("tokio", "axum", 0.25, 1), self.relation("axum", "hyper", 0.5, 1)],
            entities: ["tokio", "axum", "hyper", "tower"].map(|n| self.facts(n)).to_vec(),
            links: Vec::new(),
        }
    }

    /// Each entity's name and mention count, sorted by name.
    async fn mention_counts(&self, asked: &[&str]) -> Vec<(String, i64)> {
        let mut found: Vec<(String, i64)> = self
            .store
            .entities(&self.keys(asked))
            .await
            .unwrap()
            .into_iter()
            .map(|e| (self.name(&e.key).to_owned(), e.mention_count))
            .collect();
        found.sort();
        found
    }

    /// (source, target, weight, count) of the relations touching `name`, by names.
    async fn relations(&self, name: &str, source: Option<&str>) -> Vec<(String, String, f64, i64)> {
        let source = source.map(|s| SourceId::from(s.to_owned()));
        self.store
            .relations_of(&self.keys(&[name]), source.as_ref(), 10)
            .await
            .unwrap()
            .into_iter()
            .map(|r| {
                assert_eq!(r.relation_type, "CO_OCCURS");
                (self.name(&r.source).to_owned(), self.name(&r.target).to_owned(), r.weight, r.count)
            })
            .collect()
    }

    /// The nearest of this test's entities, by name, among everything the database holds (other
    /// tests' entities have the same vectors, so they are skipped, not ranked away).
    async fn nearest(&self, embedding: &[f32]) -> Vec<(String, f32, EntityRecord)> {
        let prefix = format!("{}:", self.ns);
        self.store
            .nearest_entities(embedding, None, 10_000)
            .await
            .unwrap()
            .into_iter()
            .filter(|(e, _)| e.key.starts_with(&prefix))
            .map(|(e, score)| (self.name(&e.key).to_owned(), score, e))
            .collect()
    }
}

/// What one page says, owned (a [`PageGraph`] borrows it).
struct Page {
    url: String,
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
            url: &self.url,
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

fn rel(source: &str, target: &str, weight: f64, count: i64) -> (String, String, f64, i64) {
    (source.to_owned(), target.to_owned(), weight, count)
}

fn names<'a>(graph: &TestGraph, keys: impl IntoIterator<Item = &'a String>) -> Vec<String> {
    keys.into_iter().map(|k| graph.name(k).to_owned()).collect()
}

#[tokio::test]
async fn bolt_compatible_page_graphs_answer_entities_relations_chunks_and_neighbours() {
    let Some(graph) = TestGraph::start("bolt_pages").await else { return };
    let store = &graph.store;
    assert_eq!(store.backend(), "bolt");
    store.ping().await.unwrap();
    store.replace_page(graph.page_a().graph()).await.unwrap();
    store.replace_page(graph.page_b().graph()).await.unwrap();
    let (page_a, page_b, s1, s2) = (graph.page_a_url(), graph.page_b_url(), graph.s1(), graph.s2());

    // Entities are shared across sources; counts add up over every page's mentions.
    let found = graph.mention_counts(&["tokio", "axum", "serde", "hyper", "tower", "missing"]).await;
    let expected = [("axum", 4), ("hyper", 1), ("serde", 1), ("tokio", 4), ("tower", 1)];
    assert_eq!(found, expected.map(|(k, n)| (k.to_owned(), n)));
    let tokio = store.entities(&graph.keys(&["tokio"])).await.unwrap().remove(0);
    assert_eq!((tokio.name.as_str(), tokio.entity_type.as_str()), ("Tokio", "Technology"));
    assert_eq!(tokio.description, "Tokio is a crate.");
    let mut aliases = tokio.aliases.clone();
    aliases.sort();
    assert_eq!(aliases, ["tokio", "tokio-rs"], "other spellings, without the name itself");

    // One RELATED edge per page; weights and counts summed when read, heaviest first.
    let tokio_relations = [rel("tokio", "axum", 0.75, 2), rel("tokio", "serde", 0.25, 1)];
    assert_eq!(graph.relations("tokio", None).await, tokio_relations);
    assert_eq!(graph.relations("axum", None).await, [rel("tokio", "axum", 0.75, 2), rel("axum", "hyper", 0.5, 1)]);
    assert_eq!(graph.relations("tokio", Some(&s2)).await, [rel("tokio", "axum", 0.25, 1)], "source filter");
    let both = store.relations_of(&graph.keys(&["tokio", "axum"]), None, 10).await.unwrap();
    assert_eq!(both.len(), 3, "an edge between two asked keys is listed once: {both:?}");

    // Chunks mentioning the most asked keys, then the most mentions.
    let chunks = store.chunks_mentioning(&graph.keys(&["tokio", "axum"]), None, 10).await.unwrap();
    let order: Vec<(&str, i32)> = chunks.iter().map(|c| (c.url.as_str(), c.chunk_number)).collect();
    assert_eq!(order, [(page_b.as_str(), 0), (page_a.as_str(), 0), (page_a.as_str(), 1)]);
    let mut first_keys = names(&graph, &chunks[0].keys);
    first_keys.sort();
    assert_eq!(first_keys, ["axum", "tokio"]);
    assert_eq!(names(&graph, &chunks[2].keys), ["tokio"]);
    let source_1 = SourceId::from(s1.clone());
    let within = store.chunks_mentioning(&graph.keys(&["tokio", "axum"]), Some(&source_1), 10).await.unwrap();
    let within: Vec<(&str, i32)> = within.iter().map(|c| (c.url.as_str(), c.chunk_number)).collect();
    assert_eq!(within, [(page_a.as_str(), 0), (page_a.as_str(), 1)]);
    let limited = store.chunks_mentioning(&graph.keys(&["tokio", "axum"]), None, 1).await.unwrap();
    assert_eq!(limited.len(), 1);

    let documents = store.documents_mentioning(&graph.key("axum"), 10).await.unwrap();
    let documents: Vec<(&str, Option<&str>, &str, i64)> =
        documents.iter().map(|d| (d.url.as_str(), d.title.as_deref(), d.source_id.as_str(), d.mentions)).collect();
    assert_eq!(
        documents,
        [(page_b.as_str(), Some("Page B"), s2.as_str(), 3), (page_a.as_str(), Some("Page A"), s1.as_str(), 1)]
    );

    // serde -1- tokio -2- axum -3- hyper: each more hop reaches further.
    let hops = |found: Vec<(String, u32)>| -> Vec<(String, u32)> {
        found.into_iter().map(|(k, n)| (graph.name(&k).to_owned(), n)).collect()
    };
    let serde = graph.key("serde");
    let one = hops(store.neighbourhood(&serde, 1, 10).await.unwrap());
    let two = hops(store.neighbourhood(&serde, 2, 10).await.unwrap());
    assert_eq!(one, [("tokio".to_owned(), 1)]);
    assert_eq!(two, [("tokio".to_owned(), 1), ("axum".to_owned(), 2)]);
    let three = hops(store.neighbourhood(&serde, 3, 10).await.unwrap());
    assert_eq!(three.last(), Some(&("hyper".to_owned(), 3)));
    assert_eq!(hops(store.neighbourhood(&serde, 3, 2).await.unwrap()), two, "the limit keeps the nearest");

    // Cosine similarity, best first.
    let nearest = graph.nearest(&[1.0, 0.0, 0.0]).await;
    let ranked: Vec<&str> = nearest.iter().map(|(name, ..)| name.as_str()).collect();
    assert_eq!(&ranked[..2], ["tokio", "axum"]);
    assert!((nearest[0].1 - 1.0).abs() < 1e-4, "{nearest:?}");
    assert!((nearest[1].1 - std::f32::consts::FRAC_1_SQRT_2).abs() < 1e-4, "cos 45 degrees: {nearest:?}");
    assert_eq!(nearest[0].2.mention_count, 4, "records come back whole");
    let source_2 = SourceId::from(s2.clone());
    let in_s2 = store.nearest_entities(&[0.0, 1.0, 0.0], Some(&source_2), 3).await.unwrap();
    let in_s2: Vec<&str> = in_s2.iter().map(|(e, _)| graph.name(&e.key)).collect();
    assert_eq!(in_s2, ["axum", "tower", "hyper"], "serde is nearest but only source 1 mentions it");
    assert_eq!(store.nearest_entities(&[1.0, 0.0, 0.0], None, 1).await.unwrap().len(), 1, "the limit");
    assert!(store.nearest_entities(&[1.0, 0.0], None, 3).await.unwrap().is_empty(), "another dimension");

    let prefixed = store.entities_with_prefix(&graph.key("to"), 10).await.unwrap();
    assert_eq!(
        prefixed.iter().map(|e| (graph.name(&e.key), e.mention_count)).collect::<Vec<_>>(),
        [("tokio", 4), ("tower", 1)]
    );

    assert_eq!(store.page_hash(&page_a).await.unwrap().as_deref(), Some("hash-a"));
    assert_eq!(store.page_hash(&graph.stub_url()).await.unwrap(), None, "a page only linked to has no hash");
    assert_eq!(store.page_hash(&format!("https://{}.nowhere.test/", graph.ns)).await.unwrap(), None);
    let counts: Vec<(String, i64, i64)> = store
        .source_counts()
        .await
        .unwrap()
        .into_iter()
        .filter(|c| c.source.as_str().starts_with(&graph.ns))
        .map(|c| (c.source.as_str().to_owned(), c.entities, c.relations))
        .collect();
    assert_eq!(counts, [(s1.clone(), 3, 2), (s2.clone(), 4, 2)]);

    // A second connection finds the schema (no error) and loads the vectors afresh.
    let again = connect(&graph.server).await;
    let first = again.nearest_entities(&[1.0, 0.0, 0.0], Some(&source_2), 1).await.unwrap();
    assert_eq!(graph.name(&first[0].0.key), "tokio");
    graph.finish().await;
}

#[tokio::test]
async fn bolt_compatible_replacing_a_page_is_idempotent_and_shrinks_with_less() {
    let Some(graph) = TestGraph::start("bolt_replace").await else { return };
    let store = &graph.store;
    store.replace_page(graph.page_a().graph()).await.unwrap();
    store.replace_page(graph.page_b().graph()).await.unwrap();
    let all = ["tokio", "axum", "serde", "hyper", "tower"];
    let counts = graph.mention_counts(&all).await;
    let before = graph.sizes().await;
    // 5 entities, 8 mentions, 4 relations, 3 chunks, 3 documents (A, B and A's stub link).
    assert_eq!(before, [5, 8, 4, 3, 3]);
    assert_eq!(graph.vector_count().await, 5);

    store.replace_page(graph.page_a().graph()).await.unwrap();
    assert_eq!(graph.mention_counts(&all).await, counts, "a re-crawl never grows counts");
    assert_eq!(graph.sizes().await, before);
    assert_eq!(graph.vector_count().await, 5, "an entity keeps its one vector");
    let tokio_relations = [rel("tokio", "axum", 0.75, 2), rel("tokio", "serde", 0.25, 1)];
    assert_eq!(graph.relations("tokio", None).await, tokio_relations);
    let findable = graph.nearest(&[1.0, 0.0, 0.0]).await;
    assert_eq!(findable.len(), 5, "every entity stays findable by vector after its counts change: {findable:?}");

    // Page A now says less: one mention of tokio, no relations, no links.
    let mut less = graph.page_a();
    less.hash = "hash-a2";
    less.chunks = vec![vec![graph.mention("tokio", "Tokio", 1)]];
    less.relations.clear();
    less.entities = vec![graph.facts("tokio")];
    less.links.clear();
    store.replace_page(less.graph()).await.unwrap();
    let page_a = graph.page_a_url();
    assert_eq!(store.page_hash(&page_a).await.unwrap().as_deref(), Some("hash-a2"));
    let shrunk = graph.mention_counts(&all).await;
    let expected = [("axum", 3), ("hyper", 1), ("tokio", 2), ("tower", 1)];
    assert_eq!(shrunk, expected.map(|(k, n)| (k.to_owned(), n)), "serde is an orphan now: deleted");
    assert_eq!(graph.relations("tokio", None).await, [rel("tokio", "axum", 0.25, 1)]);
    // 4 entities, 5 mentions, 2 relations (B's), 2 chunks, 2 documents (the unlinked stub went).
    assert_eq!(graph.sizes().await, [4, 5, 2, 2, 2]);
    assert_eq!(graph.vector_count().await, 4, "serde's vector went with it");
    let nearest = graph.nearest(&[0.0, 1.0, 0.0]).await;
    let nearest: Vec<&str> = nearest.iter().map(|(name, ..)| name.as_str()).collect();
    assert_eq!(nearest, ["axum", "tower", "hyper", "tokio"], "the deletion reloaded the vectors");

    let deleted = store.delete_page(&page_a).await.unwrap();
    assert_eq!(deleted, GraphDeleted { documents: 1, mentions: 1, relations: 0, entities: 0 });
    assert_eq!(store.page_hash(&page_a).await.unwrap(), None);
    assert_eq!(graph.mention_counts(&["tokio"]).await, [("tokio".to_owned(), 1)]);
    assert_eq!(graph.sizes().await, [4, 4, 2, 1, 1]);
    let again = store.delete_page(&page_a).await.unwrap();
    assert_eq!(again, GraphDeleted::default(), "deleting a page twice removes nothing more");

    // A new entity later is found without a reload from scratch (its batch is newer).
    let mut more = graph.page_a();
    more.chunks = vec![vec![graph.mention("serde", "Serde", 1)]];
    more.relations.clear();
    more.entities = vec![graph.facts("serde")];
    more.links.clear();
    store.replace_page(more.graph()).await.unwrap();
    let nearest = graph.nearest(&[0.0, 1.0, 0.0]).await;
    assert_eq!(nearest.first().map(|(name, ..)| name.as_str()), Some("serde"), "{nearest:?}");
    graph.finish().await;
}

#[tokio::test]
async fn bolt_compatible_deleting_a_source_keeps_entities_other_sources_mention() {
    let Some(graph) = TestGraph::start("bolt_source").await else { return };
    let store = &graph.store;
    store.replace_page(graph.page_a().graph()).await.unwrap();
    store.replace_page(graph.page_b().graph()).await.unwrap();

    let deleted = store.delete_source(&SourceId::from(graph.s1())).await.unwrap();
    assert_eq!(deleted, GraphDeleted { documents: 1, mentions: 4, relations: 2, entities: 1 });
    let left = graph.mention_counts(&["tokio", "axum", "serde", "hyper", "tower"]).await;
    let expected = [("axum", 3), ("hyper", 1), ("tokio", 1), ("tower", 1)];
    assert_eq!(left, expected.map(|(k, n)| (k.to_owned(), n)), "serde went, the shared ones stay");
    assert_eq!(graph.relations("tokio", None).await, [rel("tokio", "axum", 0.25, 1)]);
    let documents = store.documents_mentioning(&graph.key("tokio"), 10).await.unwrap();
    assert_eq!(documents.iter().map(|d| d.url.clone()).collect::<Vec<_>>(), [graph.page_b_url()]);
    assert_eq!(store.page_hash(&graph.page_a_url()).await.unwrap(), None);
    let sources: Vec<String> = store
        .source_counts()
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.source.to_string())
        .filter(|s| s.starts_with(&graph.ns))
        .collect();
    assert_eq!(sources, [graph.s2()]);
    // Page B's entities, mentions, relations, chunk and document; A's stub went with source 1.
    assert_eq!(graph.sizes().await, [4, 4, 2, 1, 1]);
    assert_eq!(graph.vector_count().await, 4);

    let rest = store.delete_source(&SourceId::from(graph.s2())).await.unwrap();
    assert_eq!(rest, GraphDeleted { documents: 1, mentions: 4, relations: 2, entities: 4 });
    assert_eq!(graph.sizes().await, [0, 0, 0, 0, 0]);
    assert_eq!(graph.vector_count().await, 0);
    assert!(graph.nearest(&[1.0, 0.0, 0.0]).await.is_empty(), "no vector of a deleted entity is found");
    graph.finish().await;
}

#[tokio::test]
async fn bolt_compatible_read_queries_render_json_under_limits_and_refuse_writes() {
    let Some(graph) = TestGraph::start("bolt_read").await else { return };
    let store = &graph.store;
    store.replace_page(graph.page_a().graph()).await.unwrap();
    store.replace_page(graph.page_b().graph()).await.unwrap();
    let (ns, page_a, page_b, s1, s2) = (&graph.ns, graph.page_a_url(), graph.page_b_url(), graph.s1(), graph.s2());
    let (tokio, serde, axum) = (graph.key("tokio"), graph.key("serde"), graph.key("axum"));

    let rows = store.read_query("MATCH (d:Document {url: $url}) RETURN d", 10).await;
    assert!(matches!(rows, Err(GraphError::Invalid(_))), "an unbound parameter is the query's fault: {rows:?}");
    let rows =
        store.read_query(&format!("MATCH (d:Document {{url: '{page_b}'}}) RETURN d, id(d) AS id"), 10).await.unwrap();
    assert_eq!(rows.len(), 1);
    let node = &rows[0]["d"];
    assert_eq!(node["id"], rows[0]["id"]);
    assert_eq!(node["labels"], json!(["Document"]));
    assert_eq!(
        node["properties"],
        json!({"url": page_b, "source_id": s2, "title": "Page B", "content_hash": "hash-b"})
    );

    let rows = store
        .read_query(
            &format!(
                "MATCH (a:Entity {{key: '{tokio}'}})-[r:RELATED]->(b:Entity {{key: '{serde}'}}) \
                 RETURN r, id(a) AS a, id(b) AS b"
            ),
            10,
        )
        .await
        .unwrap();
    let edge = &rows[0]["r"];
    assert_eq!((&edge["type"], &edge["start"], &edge["end"]), (&json!("RELATED"), &rows[0]["a"], &rows[0]["b"]));
    assert_eq!(
        edge["properties"],
        json!({"url": page_a, "source_id": s1, "type": "CO_OCCURS", "weight": 0.25, "count": 1})
    );

    // A path comes back whole: its nodes in order, its relationships with their own directions
    // (the first one is walked against it).
    let pattern = format!(
        "MATCH p = (s:Entity {{key: '{serde}'}})<-[:RELATED]-(t:Entity)-[:RELATED]->(a:Entity {{key: '{axum}'}})"
    );
    let rows = store.read_query(&format!("{pattern} RETURN p, id(s) AS s, id(t) AS t, id(a) AS a"), 10).await.unwrap();
    let path = &rows[0]["p"];
    let nodes: Vec<&Value> = path["nodes"].as_array().unwrap().iter().map(|n| &n["properties"]["key"]).collect();
    assert_eq!(nodes, [&json!(serde), &json!(tokio), &json!(axum)]);
    let hops: Vec<(&Value, &Value, &Value)> =
        path["relationships"].as_array().unwrap().iter().map(|r| (&r["type"], &r["start"], &r["end"])).collect();
    let (s, t, a) = (&rows[0]["s"], &rows[0]["t"], &rows[0]["a"]);
    assert_eq!(hops, [(&json!("RELATED"), t, s), (&json!("RELATED"), t, a)], "{path}");
    let rows = store
        .read_query(&format!("MATCH (v:EntityVector {{key: '{serde}'}}) RETURN v.embedding AS v"), 10)
        .await
        .unwrap();
    assert_eq!(rows[0]["v"], json!([0.0, 1.0, 0.0]), "vectors read as lists of numbers");

    let rows =
        store.read_query("RETURN [1, 2.5, 'x', null, true] AS list, {a: 1, b: {c: 'd'}} AS map", 10).await.unwrap();
    assert_eq!(
        Value::Object(rows[0].clone()),
        json!({"list": [1, 2.5, "x", null, true], "map": {"a": 1, "b": {"c": "d"}}})
    );
    let rows = store
        .read_query("RETURN date('2024-01-02') AS d, localdatetime('2024-01-02T03:04:05') AS l", 10)
        .await
        .unwrap();
    assert_eq!(Value::Object(rows[0].clone()), json!({"d": "2024-01-02", "l": "2024-01-02T03:04:05"}), "ISO text");

    let query = format!("MATCH (e:Entity) WHERE e.key STARTS WITH '{ns}:' RETURN e.key AS key ORDER BY key");
    let rows = store.read_query(&query, 2).await.unwrap();
    assert_eq!(rows.iter().map(|r| r["key"].clone()).collect::<Vec<_>>(), [json!(axum), json!(graph.key("hyper"))]);
    let rows = store.read_query("UNWIND range(1, 1000) AS n RETURN n", 7).await.unwrap();
    assert_eq!(rows.len(), 7, "rows beyond the limit are not read");

    // Straight to read_query, no service guard in front: ArcadeDB runs writes sent in read mode,
    // so the adapter's own guard refuses them.
    let entities = graph.sizes().await[0];
    for write in [
        "CREATE (n:BoltTestWrite) RETURN n".to_owned(),
        format!("MATCH (e:Entity) WHERE e.key STARTS WITH '{ns}:' DETACH DELETE e"),
        format!("MATCH (e:Entity) WHERE e.key STARTS WITH '{ns}:' SET e.name = 'x'"),
    ] {
        let refused = store.read_query(&write, 10).await;
        assert!(matches!(refused, Err(GraphError::Refused(_))), "{write}: {refused:?}");
    }
    assert_eq!(graph.sizes().await[0], entities);
    assert_eq!(store.entities(&graph.keys(&["tokio"])).await.unwrap()[0].name, "Tokio");

    let invalid = store.read_query("MATCH (n RETURN n", 10).await;
    assert!(matches!(invalid, Err(GraphError::Invalid(_))), "{invalid:?}");
    let unknown = store.read_query("RETURN nosuchfunction(1)", 10).await;
    assert!(matches!(unknown, Err(GraphError::Invalid(_))), "{unknown:?}");
    let empty = store.read_query("// nothing", 10).await;
    assert!(matches!(empty, Err(GraphError::Invalid(_))), "{empty:?}");
    graph.finish().await;
}

#[tokio::test]
async fn bolt_compatible_a_server_that_does_not_answer_is_unavailable() {
    // Port 1 on loopback: nothing listens there, so the connection is refused at once.
    let refused = BoltGraph::connect("bolt://127.0.0.1:1", "root", "unused", None).await;
    assert!(matches!(refused, Err(GraphError::Unavailable(_))), "{refused:?}");
    let invalid = BoltGraph::connect("http://127.0.0.1:1", "root", "unused", None).await;
    assert!(matches!(invalid, Err(GraphError::Unavailable(_))), "{invalid:?}");
    // A port that takes the connection and never answers the handshake: given up after 5 s.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let started = std::time::Instant::now();
    let uri = format!("bolt://{}", silent.local_addr().unwrap());
    let hung = BoltGraph::connect(&uri, "root", "unused", None).await;
    assert!(matches!(hung, Err(GraphError::Unavailable(_))), "{hung:?}");
    assert!(started.elapsed() < std::time::Duration::from_secs(15), "{:?}", started.elapsed());
    let Some(server) = bolt_server() else { return };
    let wrong = BoltGraph::connect(&server.uri, &server.user, "not-the-password", server.database.as_deref()).await;
    assert!(matches!(wrong, Err(GraphError::Unavailable(_))), "wrong credentials: {wrong:?}");
}

/// Writers in separate processes (here: separate connection pools) writing pages that share
/// entities at the same time: the server aborts some transactions as conflicts (a key created
/// twice, a record changed twice), and those are run again until every page is in.
#[tokio::test]
async fn bolt_compatible_concurrent_writers_sharing_entities_converge() {
    let Some(graph) = TestGraph::start("bolt_concurrent").await else { return };
    let mut writers = Vec::new();
    for _ in 0..4 {
        writers.push(connect(&graph.server).await);
    }
    let pages: Vec<Vec<Page>> = (0..writers.len())
        .map(|w| {
            (0..3)
                .map(|p| {
                    let own = format!("w{w}p{p}");
                    Page {
                        url: format!("https://{}/{own}", graph.s1()),
                        source: SourceId::from(graph.s1()),
                        title: "Page",
                        hash: "hash",
                        chunks: vec![vec![
                            graph.mention("tokio", "Tokio", 1),
                            graph.mention("axum", "Axum", 2),
                            graph.mention(&own, &own, 1),
                        ]],
                        relations: vec![
                            graph.relation("tokio", "axum", 0.5, 1),
                            graph.relation("tokio", &own, 0.25, 1),
                        ],
                        entities: vec![graph.facts("tokio"), graph.facts("axum"), graph.facts(&own)],
                        links: Vec::new(),
                    }
                })
                .collect()
        })
        .collect();
    let runs = writers.iter().zip(&pages).map(|(writer, pages)| async move {
        for page in pages {
            writer.replace_page(page.graph()).await?;
        }
        Ok::<(), GraphError>(())
    });
    for result in futures::future::join_all(runs).await {
        result.expect("every writer's pages get in");
    }
    let written = pages.len() * 3;
    let counts = graph.mention_counts(&["tokio", "axum"]).await;
    assert_eq!(counts, [("axum".to_owned(), 2 * written as i64), ("tokio".to_owned(), written as i64)]);
    assert_eq!(
        graph.sizes().await,
        [2 + written as i64, 3 * written as i64, 2 * written as i64, written as i64, written as i64]
    );
    assert_eq!(graph.vector_count().await, 2 + written as i64, "one vector per entity, however many wrote it");
    assert_eq!(graph.relations("tokio", None).await[0], rel("tokio", "axum", 0.5 * written as f64, written as i64));
    assert_eq!(graph.nearest(&[1.0, 0.0, 0.0]).await.len(), 2 + written, "every vector is found");
    graph.finish().await;
}
