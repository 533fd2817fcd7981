//! The same tools through real MCP clients against the built binary: rmcp's client over stdio
//! and streamable HTTP, and a hand-written legacy SSE client.

use rmcp::ServiceExt;
use rmcp::service::RunningService;
use rmcp::transport::StreamableHttpClientTransport;
use serde_json::{Value, json};

use crate::both_stores;
use crate::common::binary::StoreTarget;
use crate::common::sse_client::SseClient;
use crate::common::{self, Backend, binary, site::Site};

const TOOLS: [&str; 20] = [
    "cancel_crawl_job",
    "check_ai_script_hallucinations",
    "crawl_single_page",
    "crawl_with_graph_extraction",
    "crawl_with_memory_monitoring",
    "crawl_with_multi_url_config",
    "crawl_with_stealth_mode",
    "delete_source",
    "get_available_sources",
    "get_crawl_job",
    "get_entity_context",
    "graphrag_query",
    "list_crawl_jobs",
    "parse_github_repositories_batch",
    "parse_github_repository",
    "perform_rag_query",
    "query_document_graph",
    "query_knowledge_graph",
    "search_code_examples",
    "smart_crawl_url",
];

/// Crawl, query and list sources through an rmcp client; checks results, not just success.
async fn exercise(client: &RunningService<rmcp::RoleClient, ()>, site: &Site) {
    let mut names: Vec<String> =
        client.list_all_tools().await.unwrap().into_iter().map(|t| t.name.to_string()).collect();
    names.sort();
    assert_eq!(names, TOOLS);

    for path in ["/docs/install.html", "/docs/config.html"] {
        let result = binary::call(client, "crawl_single_page", json!({"url": site.url(path)})).await.unwrap();
        let body = binary::body(&result);
        assert_eq!(body["success"], true, "{body}");
        assert!(body["chunks_stored"].as_u64().unwrap() >= 1);
        assert!(body["links_count"]["internal"].as_u64().is_some());
    }
    let result = binary::call(
        client,
        "perform_rag_query",
        json!({"query": "what file does frobnicator read its settings from", "source": site.source_id(), "match_count": 2}),
    )
    .await
    .unwrap();
    let body = binary::body(&result);
    assert_eq!(body["success"], true, "{body}");
    assert_eq!(body["source_filter"], site.source_id());
    assert_eq!(body["results"][0]["url"], site.url("/docs/config.html"), "{body}");
    assert!(body["results"][0]["metadata"]["chunk_index"].is_number());
    assert_eq!(body["count"], 2);

    let hybrid = binary::call(
        client,
        "perform_rag_query",
        json!({"query": "frobnicator cargo install --locked", "mode": "hybrid"}),
    );
    let hybrid = binary::body(&hybrid.await.unwrap());
    assert_eq!(hybrid["search_mode"], "hybrid", "{hybrid}");
    assert_eq!(hybrid["results"][0]["url"], site.url("/docs/install.html"));
    assert!(hybrid["results"][0]["rrf_score"].as_f64().is_some() && hybrid["results"][0]["keyword_rank"] == 1);

    let budget =
        json!({"query": "frobnicator", "include_full_content": true, "max_response_tokens": 500, "match_count": 10});
    let budget = binary::body(&binary::call(client, "perform_rag_query", budget).await.unwrap());
    assert_eq!(budget["success"], true);
    let size: usize = budget["results"].as_array().unwrap().iter().map(|r| r.to_string().len()).sum();
    assert!(size <= 500 * 3, "results fit the token budget: {size}");
    assert_eq!(budget["response_truncated"], true, "and say they were trimmed");

    // The graph tools: graph a page, then query the graph it built.
    let graphed = json!({"url": site.url("/docs/install.html")});
    let graphed = binary::body(&binary::call(client, "crawl_with_graph_extraction", graphed).await.unwrap());
    assert_eq!(graphed["success"], true, "{graphed}");
    assert!(graphed["graph_extraction"]["entities_stored"].as_u64().unwrap() > 3, "{graphed}");
    assert_eq!(graphed["document_id"], site.url("/docs/install.html"));
    let question = json!({"query": "how do I install frobnicator with cargo", "max_documents": 3});
    let answer = binary::body(&binary::call(client, "graphrag_query", question).await.unwrap());
    assert_eq!(answer["mode"], "mix", "{answer}");
    assert_eq!(answer["results"][0]["url"], site.url("/docs/install.html"), "{answer}");
    assert!(answer["answer"].is_null() && answer["graph_enrichment_used"] == true);
    assert!(answer["entities"].as_array().unwrap().iter().any(|e| e["key"] == "frobnicator"), "{answer}");
    let context = json!({"entity_name": "frobnicators", "max_hops": 1});
    let context = binary::body(&binary::call(client, "get_entity_context", context).await.unwrap());
    assert_eq!(context["entity"]["key"], "frobnicator", "{context}");
    assert!(context["stats"]["documents_count"].as_u64().unwrap() >= 1);
    let write = json!({"cypher_query": "MATCH (n) // harmless\nSET n.x = 1 RETURN n"});
    let write = binary::call(client, "query_document_graph", write).await.unwrap();
    assert!(binary::is_error(&write));
    assert!(binary::body(&write)["error"].as_str().unwrap().contains("SET"), "{:?}", binary::body(&write));

    let sources = binary::body(&binary::call(client, "get_available_sources", json!({})).await.unwrap());
    assert_eq!(sources["sources"][0]["source_id"], site.source_id());
    assert_eq!(sources["sources"][0]["pages"], 2);
    assert!(sources["sources"][0]["entities"].as_u64().unwrap() > 3, "{sources}");

    let unknown = binary::call(client, "delete_source", json!({"source_id": "nowhere.example"})).await.unwrap();
    assert!(binary::is_error(&unknown));
    assert_eq!(binary::body(&unknown)["error_kind"], "not_found");
    let deleted =
        binary::body(&binary::call(client, "delete_source", json!({"source_id": site.source_id()})).await.unwrap());
    assert_eq!(deleted["pages_deleted"], 2, "{deleted}");
    let sources = binary::body(&binary::call(client, "get_available_sources", json!({})).await.unwrap());
    assert_eq!(sources["count"], 0);
}

both_stores!(stdio_serves_every_tool);
async fn stdio_serves_every_tool(backend: Backend) {
    let Some(services) = common::services() else { return };
    let site = Site::start().await;
    let client = binary::stdio_client(&services, &StoreTarget::fresh(&services, backend, "mcp_stdio")).await;
    exercise(&client, &site).await;
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn streamable_http_serves_every_tool_and_reports_health_and_metrics() {
    let Some(services) = common::services() else { return };
    let site = Site::start().await;
    let server =
        binary::HttpServer::start(&services, &StoreTarget::fresh(&services, Backend::Postgres, "mcp_http")).await;
    let http = reqwest::Client::new();

    let health: Value = http.get(format!("{}/health", server.base)).send().await.unwrap().json().await.unwrap();
    assert_eq!(health["status"], "ok");
    assert_eq!(health["version"], env!("CARGO_PKG_VERSION"));
    let ready = http.get(format!("{}/ready", server.base)).send().await.unwrap();
    assert_eq!(ready.status(), 200);

    let client = ().serve(StreamableHttpClientTransport::from_uri(format!("{}/mcp", server.base))).await.unwrap();
    exercise(&client, &site).await;
    client.cancel().await.unwrap();

    let metrics = http.get(format!("{}/metrics", server.base)).send().await.unwrap().text().await.unwrap();
    assert!(
        metrics.lines().any(|l| l.starts_with("crawlrag_tool_calls_total")
            && l.contains("tool=\"crawl_single_page\"")
            && l.contains("outcome=\"ok\"")),
        "{metrics}"
    );
    assert!(
        metrics.lines().any(|l| l.starts_with("crawlrag_jobs_total") && l.contains("state=\"succeeded\"")),
        "{metrics}"
    );
    assert!(metrics.lines().any(|l| l.starts_with("crawlrag_jobs_running ")), "{metrics}");

    // A foreign Host header is refused (DNS-rebinding guard), and the server keeps serving.
    let foreign =
        http.post(format!("{}/mcp", server.base)).header("host", "evil.example.com").body("{}").send().await.unwrap();
    assert_eq!(foreign.status(), 403);
    assert_eq!(http.get(format!("{}/health", server.base)).send().await.unwrap().status(), 200);
}

#[tokio::test]
async fn legacy_sse_serves_every_tool_and_survives_malformed_messages() {
    let Some(services) = common::services() else { return };
    let site = Site::start().await;
    let server = binary::HttpServer::start(&services, &StoreTarget::fresh(&services, Backend::Sqlite, "mcp_sse")).await;

    let mut client = SseClient::connect(&server.base).await;
    let init = client.initialize().await;
    assert_eq!(init["result"]["serverInfo"]["name"], "crawlrag", "{init}");

    let (status, text) = client.post_raw("{this is not json").await;
    assert_eq!(status, 400);
    assert!(text.contains("malformed JSON-RPC"), "{text}");

    let tools = client.request("tools/list", json!({})).await;
    let mut names: Vec<&str> =
        tools["result"]["tools"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    names.sort_unstable();
    assert_eq!(names, TOOLS);

    let crawled = client.call_tool("crawl_single_page", json!({"url": site.url("/docs/install.html")})).await;
    assert_eq!(crawled["isError"], false, "{crawled}");
    assert_eq!(crawled["structuredContent"]["success"], true);
    let found = client.call_tool("perform_rag_query", json!({"query": "install frobnicator with cargo"})).await;
    assert_eq!(found["structuredContent"]["results"][0]["url"], site.url("/docs/install.html"));
    let failed = client.call_tool("crawl_single_page", json!({"url": "gopher://x"})).await;
    assert_eq!(failed["isError"], true);

    let http = reqwest::Client::new();
    let unknown = http.post(format!("{}/messages?sessionId=nope", server.base)).body("{}").send().await.unwrap();
    assert_eq!(unknown.status(), 404);
    let sources = client.call_tool("get_available_sources", json!({})).await;
    assert_eq!(sources["structuredContent"]["count"], 1);
}

/// Counts the progress notifications the server sends.
#[derive(Clone, Default)]
struct ProgressCounter(std::sync::Arc<std::sync::atomic::AtomicUsize>);

impl rmcp::ClientHandler for ProgressCounter {
    async fn on_progress(
        &self,
        _params: rmcp::model::ProgressNotificationParam,
        _context: rmcp::service::NotificationContext<rmcp::RoleClient>,
    ) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}

#[tokio::test]
async fn smart_crawl_over_mcp_reports_progress_and_can_be_cancelled() {
    use rmcp::model::{CallToolRequestParams, ClientRequest, Request, ServerResult};
    use rmcp::service::PeerRequestOptions;

    let Some(services) = common::services() else { return };
    let site = crate::common::docs_site::DocsSite::start().await;
    let counter = ProgressCounter::default();
    let store = StoreTarget::fresh(&services, Backend::Sqlite, "mcp_progress");
    let client = binary::stdio_client_with(&services, &store, counter.clone()).await;
    let call = |args: Value| {
        let Value::Object(map) = args else { unreachable!() };
        ClientRequest::CallToolRequest(Request::new(CallToolRequestParams::new("smart_crawl_url").with_arguments(map)))
    };

    let handle = client
        .send_cancellable_request(
            call(json!({"url": site.url("/sitemap_index.xml")})),
            PeerRequestOptions::no_options(),
        )
        .await
        .unwrap();
    let ServerResult::CallToolResult(result) = handle.await_response().await.unwrap() else {
        panic!("not a tool result")
    };
    let body = binary::body(&result);
    assert_eq!(body["crawl_type"], "sitemap", "{body}");
    assert_eq!(body["pages_crawled"], 20);
    assert!(counter.0.load(std::sync::atomic::Ordering::SeqCst) >= 20, "one progress notification per stored page");

    // Cancel a long crawl: the server stops it and keeps serving.
    let long = call(json!({"url": site.url("/docs/cal?month=1"), "max_depth": 1000, "max_concurrent": 1}));
    let handle = client.send_cancellable_request(long, PeerRequestOptions::no_options()).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    handle.cancel(Some("test".into())).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let at_cancel = site.hits("/docs/cal");
    tokio::time::sleep(std::time::Duration::from_millis(800)).await;
    // The calendar goes on for 1,000 months; how many pages 400 ms fetch depends on the machine
    // and the embedder's speed, so "early" is a wide bound, and "stopped" is the check below.
    assert!(at_cancel < 200, "cancelled early: {at_cancel} calendar pages fetched");
    assert_eq!(site.hits("/docs/cal"), at_cancel, "no fetches after cancellation");
    let sources = binary::body(&binary::call(&client, "get_available_sources", json!({})).await.unwrap());
    assert_eq!(sources["success"], true);
    client.cancel().await.unwrap();
}
