//! The document graph on the embedded backend, both stores: real documentation pages (two
//! chapters of the Rust book, served on 127.0.0.1) crawled with graph extraction, then the
//! entities, relations and mentions read back from the tables, rebuilt (idempotent), queried in
//! every mode, walked with 1 vs 2 hops, and deleted with their source.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::response::Html;
use axum::routing::get;
use crawlrag::crawl::site::CrawlRequest;
use crawlrag::domain::{GraphExtraction, IngestOptions, SourceId};
use crawlrag::error::Error;
use crawlrag::graphrag::{GraphMode, GraphQuery};
use crawlrag::progress::NoProgress;
use crawlrag::retrieve::RagQuery;

use crate::both_stores;
use crate::common::{self, Backend};

const WORKSPACES: &str = include_str!("../fixtures/rust_book/ch14-03-cargo-workspaces.html");
const THREADS: &str = include_str!("../fixtures/rust_book/ch16-01-threads.html");

const SUM_MENTIONS: &str = "select cast(coalesce(sum(mention_count), 0) as bigint) from graph_entities";

async fn book_site() -> SocketAddr {
    let app = Router::new()
        .route("/book/ch14-03-cargo-workspaces.html", get(|| async { Html(WORKSPACES) }))
        .route("/book/ch16-01-threads.html", get(|| async { Html(THREADS) }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

fn query(text: &str, mode: GraphMode) -> GraphQuery {
    GraphQuery {
        query: text.into(),
        mode,
        use_graph: true,
        max_entities: 15,
        source: None,
        offset: 0,
        max_documents: 5,
        max_content_length: 1000,
        max_response_tokens: 20_000,
    }
}

both_stores!(a_crawl_builds_an_entity_graph_that_rebuilds_idempotently_and_answers_queries);
async fn a_crawl_builds_an_entity_graph_that_rebuilds_idempotently_and_answers_queries(backend: Backend) {
    let Some(services) = common::services() else { return };
    let addr = book_site().await;
    let (app, db) = common::app(&services, backend, "graph_book").await;
    let graphrag = app.graphrag.as_ref().expect("the app has a graph");
    let urls = ["ch14-03-cargo-workspaces.html", "ch16-01-threads.html"].map(|p| format!("http://{addr}/book/{p}"));

    let mut entities_stored = 0;
    for url in &urls {
        let request =
            CrawlRequest { max_depth: 1, graph: Some(GraphExtraction::ALL), ..CrawlRequest::new(url.clone()) };
        let report = app.crawler.smart_crawl(&request, &NoProgress).await.unwrap();
        assert_eq!(report.pages_crawled, 1, "{report:?}");
        assert!(report.relations_stored > 0, "{report:?}");
        entities_stored += report.entities_stored;
    }
    let entities = db.count("graph_entities").await;
    assert!(entities >= 40, "two chapters name many things, got {entities}");
    assert!(i64::try_from(entities_stored).unwrap() >= entities, "entities are shared across pages");
    assert_eq!(db.count("graph_documents").await, 2);
    let relations = db.count("graph_relations").await;
    let mentions = db.integer(SUM_MENTIONS).await;

    // The expected entities of the chapters, typed and described from their own sentences.
    let cargo = graphrag.entity_context("Cargo", 1).await.unwrap();
    assert_eq!(cargo.entity.key, "cargo");
    assert!(cargo.documents.iter().any(|d| d.url == urls[0]), "{:?}", cargo.documents);
    for name in ["workspace", "Cargo.toml", "thread", "spawn"] {
        let found = graphrag.entity_context(name, 1).await.unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(!found.documents.is_empty(), "{name} is mentioned by a document");
    }
    let thread = graphrag.entity_context("threads", 1).await.unwrap();
    assert_eq!(thread.entity.key, "thread", "plural folded");
    assert!(!thread.entity.description.is_empty(), "a thread has a description sentence");

    // Rebuilding the same pages (an explicit chunk size re-chunks and rewrites) changes no count.
    let default_chunk = app.pipeline.default_chunk_size();
    for url in &urls {
        let request = CrawlRequest {
            max_depth: 1,
            chunk_size: Some(default_chunk),
            graph: Some(GraphExtraction::ALL),
            ..CrawlRequest::new(url.clone())
        };
        let report = app.crawler.smart_crawl(&request, &NoProgress).await.unwrap();
        assert!(report.entities_stored > 0 && report.pages_unchanged == 0, "{report:?}");
    }
    assert_eq!(db.count("graph_entities").await, entities, "re-crawls are idempotent");
    assert_eq!(db.count("graph_relations").await, relations);
    assert_eq!(db.integer(SUM_MENTIONS).await, mentions);
    // An unchanged re-crawl (no explicit chunk size) skips the page and its graph.
    let again = CrawlRequest { max_depth: 1, graph: Some(GraphExtraction::ALL), ..CrawlRequest::new(urls[0].clone()) };
    let report = app.crawler.smart_crawl(&again, &NoProgress).await.unwrap();
    assert_eq!((report.pages_unchanged, report.entities_stored), (1, 0), "{report:?}");

    // max_hops: two hops reach strictly more than one.
    let one = graphrag.entity_context("workspace", 1).await.unwrap();
    let two = graphrag.entity_context("workspace", 2).await.unwrap();
    assert!(!one.related.is_empty());
    assert!(one.related.iter().all(|(_, hops)| *hops == 1));
    assert!(two.related.iter().any(|(_, hops)| *hops == 2), "two hops reach further");
    let keys = |c: &crawlrag::graphrag::EntityContext| {
        c.related.iter().map(|(e, _)| e.key.clone()).collect::<std::collections::BTreeSet<_>>()
    };
    assert_ne!(keys(&one), keys(&two));
    assert!(matches!(graphrag.entity_context("workspace", 4).await, Err(Error::BadInput(_))));
    let missing = graphrag.entity_context("Kubernetes operator", 2).await.unwrap_err();
    assert!(matches!(missing, Error::NotFound(ref m) if m.contains("closest")), "{missing}");

    // Queries: every mode answers from the right chapter; mix keeps plain search's best chunk.
    let question = "How do I share one Cargo.lock between crates in a workspace?";
    for mode in [GraphMode::Naive, GraphMode::Local, GraphMode::Global, GraphMode::Hybrid, GraphMode::Mix] {
        let answer = graphrag.query(&query(question, mode)).await.unwrap();
        assert!(!answer.chunks.is_empty(), "{mode:?}");
        assert_eq!(answer.chunks[0].hit.url, urls[0], "{mode:?} answers from the workspaces chapter");
        assert_eq!(answer.graph_used, mode != GraphMode::Naive);
        if mode != GraphMode::Naive {
            assert!(!answer.entities.is_empty(), "{mode:?} found entities");
        }
        assert!(answer.answer.is_none(), "no chat model: the context is the answer");
    }
    let plain = app
        .retriever
        .search(&RagQuery { query: question.into(), source: None, match_count: 1, offset: 0, mode: None, rerank: None })
        .await
        .unwrap();
    let mix = graphrag.query(&query(question, GraphMode::Mix)).await.unwrap();
    let top_plain = (plain[0].url.clone(), plain[0].chunk_index);
    let mix_top3: Vec<(String, i32)> =
        mix.chunks.iter().take(3).map(|c| (c.hit.url.clone(), c.hit.chunk_index)).collect();
    assert!(mix_top3.contains(&top_plain), "mix keeps plain search's best chunk near the top: {mix_top3:?}");
    let local = graphrag.query(&query("spawn a thread and join it", GraphMode::Local)).await.unwrap();
    assert!(local.entities.iter().any(|e| e.entity.key == "thread"), "the query names `thread`");
    let tiny =
        graphrag.query(&GraphQuery { max_response_tokens: 300, ..query(question, GraphMode::Mix) }).await.unwrap();
    assert!(tiny.chunks.len() < mix.chunks.len(), "a small budget keeps fewer documents");

    // Cypher needs a server; writes are refused before any backend sees them.
    let refused = graphrag.read_query("MATCH (n) DETACH DELETE n", 10).await.unwrap_err();
    assert!(matches!(refused, Error::BadInput(ref m) if m.contains("refused")), "{refused}");
    let embedded = graphrag.read_query("MATCH (e:Entity) RETURN e.name LIMIT 3", 10).await.unwrap_err();
    assert!(matches!(embedded, Error::BadInput(ref m) if m.contains("FALKORDB_URL")), "{embedded}");
    assert_eq!(db.count("graph_entities").await, entities, "nothing was written");

    // Sources report their graph; deleting the source deletes its graph.
    let listed = app.sources.list_with_graph().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].entities, entities);
    assert!(listed[0].relations > 0);
    app.sources.delete(&SourceId::from(addr.to_string())).await.unwrap();
    for table in ["graph_entities", "graph_mentions", "graph_relations", "graph_documents", "graph_links"] {
        assert_eq!(db.count(table).await, 0, "{table} is empty after delete_source");
    }
}

both_stores!(a_page_crawled_without_graph_extraction_drops_its_stale_graph);
async fn a_page_crawled_without_graph_extraction_drops_its_stale_graph(backend: Backend) {
    let Some(services) = common::services() else { return };
    let addr = book_site().await;
    let (app, db) = common::app(&services, backend, "graph_stale").await;
    let url = format!("http://{addr}/book/ch16-01-threads.html");
    let page = |markdown: &str| crawlrag::domain::Page {
        url: url.parse().unwrap(),
        source_id: SourceId::from(addr.to_string()),
        title: Some("Threads".into()),
        markdown: markdown.into(),
        links: Default::default(),
        validators: Default::default(),
    };
    let graphed = IngestOptions { chunk_size: None, graph: Some(GraphExtraction::ALL) };
    let first = "# Threads\n\nA **thread** runs code concurrently. Use `thread::spawn` to start one and `join` to wait.\n\n\
        ## Channels\n\nA **channel** sends values between threads with `mpsc::channel`.\n";
    app.pipeline.ingest_page(&page(first), &graphed, &NoProgress).await.unwrap();
    assert!(db.count("graph_mentions").await > 0);
    // New content stored without extraction: the old graph no longer describes the page.
    app.pipeline
        .ingest_page(&page("# Threads\n\nRewritten without names.\n"), &IngestOptions::default(), &NoProgress)
        .await
        .unwrap();
    assert_eq!(db.count("graph_mentions").await, 0);
    assert_eq!(db.count("graph_entities").await, 0, "orphaned entities go");
}

#[tokio::test]
async fn a_chat_model_adds_typed_relations_and_a_rebuild_costs_no_calls() {
    use crawlrag::adapters::openai_chat::OpenAiChat;
    use crawlrag::adapters::provider_http::ProviderConfig;
    use crawlrag::app::ServiceSettings;
    use std::sync::atomic::Ordering;

    let Some(services) = common::services() else { return };
    let site = crate::common::site::Site::start().await;
    let api = crate::common::openai_stub::OpenAiStub::default();
    let base = api.clone().start().await;
    let chat = |model: &str| {
        let provider = ProviderConfig {
            base_url: base.clone(),
            api_key: None,
            timeout: std::time::Duration::from_secs(5),
            max_in_flight: 4,
        };
        Some(Arc::new(OpenAiChat::new(provider, model).unwrap()) as Arc<dyn crawlrag::ports::ChatModel>)
    };
    let settings = ServiceSettings { chat: chat("gpt-test"), ..ServiceSettings::default() };
    let (app, db) = common::app_with(&services, Backend::Sqlite, "graph_llm", settings).await;
    let url = site.url("/docs/install.html");
    let graphed = |chunk_size| CrawlRequest {
        max_depth: 1,
        chunk_size,
        graph: Some(GraphExtraction::ALL),
        ..CrawlRequest::new(url.clone())
    };
    let report = app.crawler.smart_crawl(&graphed(None), &NoProgress).await.unwrap();
    assert_eq!(report.pages_crawled, 1, "{report:?}");
    let graphrag = app.graphrag.as_ref().unwrap();
    let product = graphrag.entity_context("Frobnicator", 1).await.unwrap();
    assert_eq!(product.entity.entity_type, "Product", "the model's type wins");
    assert_eq!(product.entity.description, "Frobnicator, as the model describes it.");
    assert!(product.relations.iter().any(|r| r.relation_type == "USES"), "{:?}", product.relations);
    graphrag.entity_context("Gleaned Concept", 1).await.expect("the gleaning pass added an entity");
    assert!(db.count("graph_entities").await >= 4);

    // A rebuild asks the model nothing: both passes are cached per chunk.
    let calls = api.chat_requests.load(Ordering::SeqCst);
    assert!(calls >= 2, "extraction and gleaning were asked");
    let report = app.crawler.smart_crawl(&graphed(Some(app.pipeline.default_chunk_size())), &NoProgress).await.unwrap();
    assert!(report.entities_stored > 0, "{report:?}");
    assert_eq!(api.chat_requests.load(Ordering::SeqCst), calls, "no new model calls");

    // A model answering garbage never fails the crawl: the structural graph stands alone.
    let settings = ServiceSettings { chat: chat("garbled-chat"), ..ServiceSettings::default() };
    let (app, db) = common::app_with(&services, Backend::Sqlite, "graph_llm_garbled", settings).await;
    let report = app.crawler.smart_crawl(&graphed(None), &NoProgress).await.unwrap();
    assert_eq!((report.pages_crawled, report.pages_failed), (1, 0), "{report:?}");
    assert!(db.count("graph_entities").await > 0);
    let uses = db.integer("select count(*) from graph_relations where relation_type = 'USES'").await;
    assert_eq!(uses, 0, "no typed relations without a valid model answer");
}

/// The same pages with the graph on a graph server (chunks in SQLite) through the whole app:
/// entities, hops, every query mode, idempotent rebuilds, and users' Cypher, where the guard
/// refuses every write form before the server and the server's own read-only path stands behind
/// it. Counts are scoped to the test's own source, as a Bolt test database is shared.
async fn graph_server_answers_the_tools_and_refuses_every_write(graph: Arc<dyn crawlrag::ports::GraphStore>) {
    let Some(services) = common::services() else { return };
    let backend = graph.backend();
    let settings = crawlrag::app::ServiceSettings { graph: Some(graph), ..Default::default() };
    let (app, _db) = common::app_with(&services, Backend::Sqlite, "graph_server_app", settings).await;
    let graphrag = app.graphrag.as_ref().unwrap();
    assert_eq!(graphrag.backend(), backend);
    let addr = book_site().await;
    let urls = ["ch14-03-cargo-workspaces.html", "ch16-01-threads.html"].map(|p| format!("http://{addr}/book/{p}"));
    let crawl = |url: &str, chunk_size| CrawlRequest {
        max_depth: 1,
        chunk_size,
        graph: Some(GraphExtraction::ALL),
        ..CrawlRequest::new(url.to_owned())
    };
    for url in &urls {
        app.crawler.smart_crawl(&crawl(url, None), &NoProgress).await.unwrap();
    }
    let counts = |listed: Vec<crawlrag::sources::SourceListing>| (listed[0].entities, listed[0].relations);
    let before = counts(app.sources.list_with_graph().await.unwrap());
    assert!(before.0 >= 40 && before.1 > 0, "{backend}: {before:?}");

    let cargo = graphrag.entity_context("Cargo", 1).await.unwrap();
    assert!(cargo.documents.iter().any(|d| d.url == urls[0]), "{backend}");
    let one = graphrag.entity_context("workspace", 1).await.unwrap();
    let two = graphrag.entity_context("workspace", 2).await.unwrap();
    assert!(two.related.len() > one.related.len() && two.related.iter().any(|(_, hops)| *hops == 2), "{backend}");
    let question = "How do I share one Cargo.lock between crates in a workspace?";
    for mode in [GraphMode::Local, GraphMode::Global, GraphMode::Hybrid, GraphMode::Mix] {
        let answer = graphrag.query(&query(question, mode)).await.unwrap();
        assert_eq!(answer.chunks[0].hit.url, urls[0], "{backend} {mode:?}");
        assert!(!answer.entities.is_empty(), "{backend} {mode:?}");
    }
    let size = app.pipeline.default_chunk_size();
    for url in &urls {
        app.crawler.smart_crawl(&crawl(url, Some(size)), &NoProgress).await.unwrap();
    }
    assert_eq!(counts(app.sources.list_with_graph().await.unwrap()), before, "{backend}: rebuilds are idempotent");

    let source = addr.to_string();
    let mine =
        format!("MATCH (c:Chunk)-[:MENTIONS]->(e:Entity) WHERE c.source_id = '{source}' RETURN count(DISTINCT e) AS n");
    let stored = graphrag.read_query(&mine, 10).await.unwrap()[0]["n"].clone();
    assert!(stored.as_i64().unwrap() >= 40, "{backend}: {stored}");
    let writes = [
        "CREATE (n:Entity {key: 'x'})",
        "match (e:Entity) set e.name = 'x'",
        "MATCH (e:Entity) DETACH DELETE e",
        "MATCH (e:Entity) // just reading\nREMOVE e.name RETURN e",
        "MATCH (e:Entity) /* read */ MeRgE (x:Entity {key: 'y'})",
        "MATCH (e:Entity) WHERE e.name = 'a' MERGE (n:X) RETURN n",
        "UNWIND [1] AS i FOREACH (x IN [1] | CREATE (:X))",
        "LOAD CSV FROM 'file:///etc/passwd' AS row RETURN row",
        "CALL db.idx.fulltext.createNodeIndex('Entity', 'name')",
        "CALL apoc.create.node(['X'], {}) YIELD node RETURN node",
        "MATCH (e:Entity) RETURN e; DROP INDEX ON :Entity(key)",
    ];
    for write in writes {
        let refused = graphrag.read_query(write, 10).await.unwrap_err();
        assert!(matches!(refused, Error::BadInput(ref m) if m.contains("refused")), "{backend} {write}: {refused}");
    }
    assert_eq!(graphrag.read_query(&mine, 10).await.unwrap()[0]["n"], stored, "{backend}: data intact");
    let rows = graphrag
        .read_query(
            &format!(
                "MATCH (c:Chunk)-[m:MENTIONS]->(e:Entity) WHERE c.source_id = '{source}' RETURN c, m, e.name AS name"
            ),
            3,
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 3, "{backend}: the row limit applies");
    assert!(rows[0]["c"]["labels"].as_array().unwrap().iter().any(|l| l == "Chunk"), "{backend}: {:?}", rows[0]);
    assert_eq!(rows[0]["m"]["type"], "MENTIONS", "{backend}");
    let strings =
        "MATCH (e:Entity) WHERE e.name = 'CREATE (x)' OR e.description CONTAINS 'DELETE' RETURN count(e) AS n";
    graphrag.read_query(strings, 10).await.expect("write words inside strings are only text");

    app.sources.delete(&SourceId::from(source.clone())).await.unwrap();
    assert!(app.sources.list_with_graph().await.unwrap().is_empty());
    assert_eq!(graphrag.read_query(&mine, 10).await.unwrap()[0]["n"], 0, "{backend}: the source's graph is gone");
}

#[tokio::test]
async fn the_graph_on_falkordb_answers_the_same_tools_and_refuses_every_write() {
    let Some(server) = crate::graph_falkordb::TestGraph::start("graph_app").await else { return };
    let graph = crawlrag::adapters::falkordb::FalkorGraph::connect(&server.url, &server.name).await.unwrap();
    graph_server_answers_the_tools_and_refuses_every_write(Arc::new(graph)).await;
    server.finish().await;
}

#[tokio::test]
async fn bolt_compatible_graph_answers_the_same_tools_and_refuses_every_write() {
    let Some(server) = crate::graph_bolt::bolt_server() else { return };
    let graph = crate::graph_bolt::connect(&server).await;
    graph_server_answers_the_tools_and_refuses_every_write(Arc::new(graph)).await;
}
