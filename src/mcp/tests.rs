//! The MCP surface in process, over a duplex pipe, on the in-memory ports: every tool is listed
//! with standard schemas, every tool a description names exists, and a crawl then a query work
//! end to end.

use std::collections::BTreeSet;
use std::sync::Arc;

use rmcp::ServiceExt;
use rmcp::model::CallToolRequestParams;
use serde_json::{Value, json};

use super::RagServer;
use crate::adapters::memory::{HashEmbedder, MemoryFetcher, MemoryStore};
use crate::app::{App, ServiceSettings};

const PAGE: &str = "<html><head><title>Tokio guide</title></head><body><main><h1>Runtime</h1>\
    <p>The tokio runtime schedules tasks on worker threads. Spawn a task with tokio::spawn.</p>\
    <h2>Timers</h2><p>Use tokio::time::sleep to wait without blocking a thread.</p></main></body></html>";

async fn client() -> rmcp::service::RunningService<rmcp::RoleClient, ()> {
    let fetcher = MemoryFetcher::new().with_page("https://docs.example/guide", "text/html", PAGE);
    let app = App::from_parts(
        Arc::new(MemoryStore::new()),
        Arc::new(HashEmbedder::new(256)),
        Arc::new(fetcher),
        ServiceSettings::default(),
    )
    .await
    .unwrap();
    let (server_end, client_end) = tokio::io::duplex(1 << 16);
    let server = RagServer::new(Arc::new(app));
    tokio::spawn(async move {
        if let Ok(running) = server.serve(server_end).await {
            let _ = running.waiting().await;
        }
    });
    ().serve(client_end).await.unwrap()
}

/// Every property name and enum value anywhere in a JSON schema.
fn schema_words(schema: &Value, into: &mut BTreeSet<String>) {
    match schema {
        Value::Object(map) => {
            if let Some(Value::Object(properties)) = map.get("properties") {
                into.extend(properties.keys().cloned());
            }
            if let Some(Value::Array(values)) = map.get("enum") {
                into.extend(values.iter().filter_map(|v| v.as_str().map(str::to_owned)));
            }
            if let Some(Value::String(constant)) = map.get("const") {
                into.insert(constant.clone());
            }
            map.values().for_each(|v| schema_words(v, into));
        }
        Value::Array(items) => items.iter().for_each(|v| schema_words(v, into)),
        Value::Null | Value::Bool(_) | Value::Number(_) | Value::String(_) => {}
    }
}

/// Lowercase `snake_case` words of a text (candidate tool names).
fn snake_words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !(c.is_ascii_lowercase() || c == '_'))
        .filter(|w| w.contains('_') && !w.starts_with('_') && !w.ends_with('_'))
}

#[tokio::test]
async fn every_tool_is_listed_and_every_name_a_description_mentions_exists() {
    let client = client().await;
    let tools = client.list_all_tools().await.unwrap();
    let names: BTreeSet<String> = tools.iter().map(|t| t.name.to_string()).collect();
    let expected = [
        "crawl_single_page",
        "smart_crawl_url",
        "crawl_with_stealth_mode",
        "crawl_with_multi_url_config",
        "crawl_with_memory_monitoring",
        "perform_rag_query",
        "search_code_examples",
        "graphrag_query",
        "get_entity_context",
        "query_document_graph",
        "crawl_with_graph_extraction",
        "get_available_sources",
        "delete_source",
        "get_crawl_job",
        "list_crawl_jobs",
        "cancel_crawl_job",
        "parse_github_repository",
        "parse_github_repositories_batch",
        "check_ai_script_hallucinations",
        "query_knowledge_graph",
    ];
    assert_eq!(names, expected.iter().map(|s| (*s).to_owned()).collect(), "the tool list");

    // Field and value names are not tool names; whatever snake_case word is left must be a tool.
    let mut fields = BTreeSet::new();
    for tool in &tools {
        let input = Value::Object((*tool.input_schema).clone());
        schema_words(&input, &mut fields);
        let output = tool.output_schema.as_ref().unwrap_or_else(|| panic!("{} has no output schema", tool.name));
        schema_words(&Value::Object((**output).clone()), &mut fields);
        let text = serde_json::to_string(&input).unwrap() + &serde_json::to_string(&tool.output_schema).unwrap();
        for format in ["\"uint", "\"int", "\"double\"", "\"float\""] {
            assert!(
                !text.contains(&format!("\"format\":{format}")),
                "{}: non-standard format {format}: {text}",
                tool.name
            );
        }
    }
    let instructions = client.peer_info().and_then(|i| i.instructions.clone()).unwrap_or_default();
    let descriptions = tools.iter().filter_map(|t| t.description.as_deref().map(str::to_owned));
    // Keys inside the free-form `metadata` objects, which no schema lists.
    fields.extend(
        ["chunk_index", "header_path", "context_before", "context_after", "example_index", "char_count"]
            .map(String::from),
    );
    let texts: Vec<String> = descriptions.chain(std::iter::once(instructions)).collect();
    let unknown: BTreeSet<&str> = texts
        .iter()
        .flat_map(|text| snake_words(text))
        .filter(|word| !names.contains(*word) && !fields.contains(*word))
        .collect();
    assert!(unknown.is_empty(), "named in descriptions but neither a tool nor a field: {unknown:?}");
    client.cancel().await.unwrap();
}

fn body(result: &rmcp::model::CallToolResult) -> Value {
    result.structured_content.clone().unwrap_or_else(|| {
        let text = result.content.iter().find_map(|c| c.as_text().map(|t| t.text.clone())).unwrap_or_default();
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    })
}

async fn call(client: &rmcp::service::RunningService<rmcp::RoleClient, ()>, tool: &'static str, args: Value) -> Value {
    let Value::Object(map) = args else { panic!("arguments must be an object") };
    body(&client.call_tool(CallToolRequestParams::new(tool).with_arguments(map)).await.unwrap())
}

#[tokio::test]
async fn a_crawl_then_a_query_work_end_to_end_in_process() {
    let client = client().await;
    let crawled = call(&client, "crawl_single_page", json!({"url": "https://docs.example/guide"})).await;
    assert_eq!(crawled["status"], "completed", "{crawled}");
    assert_eq!(crawled["title"], "Tokio guide", "{crawled}");
    assert!(crawled["chunks_stored"].as_u64().unwrap() >= 1, "{crawled}");
    let job = call(&client, "get_crawl_job", json!({"job_id": crawled["job_id"]})).await;
    assert_eq!(job["job"]["state"], "succeeded", "{job}");

    let found = call(&client, "perform_rag_query", json!({"query": "tokio sleep timers", "match_count": 3})).await;
    assert_eq!(found["results"][0]["url"], "https://docs.example/guide", "{found}");
    let sources = call(&client, "get_available_sources", json!({})).await;
    assert_eq!(sources["sources"][0]["source_id"], "docs.example", "{sources}");

    let refused = call(&client, "crawl_single_page", json!({"url": "ftp://docs.example/"})).await;
    assert_eq!(refused["success"], false, "{refused}");
    let missing = call(&client, "crawl_single_page", json!({"url": "https://docs.example/missing"})).await;
    assert!(missing["error"].as_str().unwrap().contains("404"), "{missing}");
    client.cancel().await.unwrap();
}
