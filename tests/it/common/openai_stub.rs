//! A local stand-in for paid model APIs speaking their real wire formats: OpenAI-compatible
//! `/v1/embeddings` (deterministic vectors, out-of-order `data`) and `/v1/chat/completions`
//! (deterministic answers by prompt kind), and a Cohere/TEI-style `/v1/rerank` (scores by query-word
//! overlap). Each can answer 429 with Retry-After, 5xx, or malformed bodies, and counts requests so
//! tests can prove how many calls were made.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};

/// A local stand-in for an OpenAI-compatible embeddings API.
#[derive(Clone, Default)]
pub struct OpenAiStub {
    pub requests: Arc<AtomicUsize>,
    /// Texts embedded over all successful requests.
    pub inputs: Arc<AtomicUsize>,
    /// Answer the first N requests with 429 Retry-After: 0.
    pub throttle_first: usize,
    pub dimensions: usize,
    pub chat_requests: Arc<AtomicUsize>,
    pub rerank_requests: Arc<AtomicUsize>,
    /// Answer the first N chat and rerank requests with 429 Retry-After: 0.
    pub throttle_models_first: usize,
}

fn error(status: StatusCode, message: &str) -> Response {
    let body = json!({"error": {"message": message, "type": "server_error", "param": null, "code": null}});
    (status, [("retry-after", "0")], Json(body)).into_response()
}

async fn chat(State(api): State<OpenAiStub>, Json(req): Json<Value>) -> Response {
    let n = api.chat_requests.fetch_add(1, Ordering::SeqCst);
    if n < api.throttle_models_first {
        return error(StatusCode::TOO_MANY_REQUESTS, "slow down");
    }
    match req["model"].as_str() {
        Some("down-chat") => return error(StatusCode::SERVICE_UNAVAILABLE, "overloaded"),
        Some("garbled-chat") => return Json(json!({"id": "x", "object": "chat.completion"})).into_response(),
        Some("slow-chat") => tokio::time::sleep(std::time::Duration::from_secs(3)).await,
        _ => {}
    }
    let prompt = req["messages"][1]["content"].as_str().unwrap_or_default();
    let title = prompt.lines().find_map(|l| l.strip_prefix("# ")).unwrap_or("untitled").trim().to_owned();
    let answer = if prompt.contains("<document_chunk>") {
        graph_answer(prompt)
    } else if prompt.contains("<chunk>") {
        format!("Situated: this chunk belongs to the page titled {title}.")
    } else if prompt.contains("<code") {
        "Model summary: the example shows the public API in use.".to_owned()
    } else if prompt.contains("<source>") {
        format!("Model summary of the source: documentation titled {title}.")
    } else {
        "I do not know.".to_owned()
    };
    Json(json!({
        "id": "chatcmpl-stub", "object": "chat.completion", "model": req["model"],
        "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": answer}}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}
    }))
    .into_response()
}

/// An entity-extraction answer as a model gives it: fenced JSON naming the chunk's inline-code
/// spans and the fixture's proper names (Frobnicator, its product), related in a chain; a gleaning prompt gets one
/// entity the first pass "missed".
fn graph_answer(prompt: &str) -> String {
    if prompt.contains("already extracted") {
        return r#"{"entities": [{"name": "Gleaned Concept", "type": "Concept", "description": "Found on the second pass.", "mentions": 1}], "relationships": []}"#.to_owned();
    }
    let chunk = prompt.split("<document_chunk>").nth(1).unwrap_or_default();
    let mut names: Vec<String> = Vec::new();
    for known in ["Frobnicator", "Rust", "Linux", "macOS", "Windows", "PATH", "TOML"] {
        if chunk.contains(known) {
            names.push(known.into());
        }
    }
    for span in chunk.split('`').skip(1).step_by(2).take(6) {
        if !span.is_empty() && !span.contains('\n') && !names.iter().any(|n| n == span) {
            names.push(span.to_owned());
        }
    }
    let entities: Vec<Value> = names
        .iter()
        .map(|n| {
            let kind = if n == "Frobnicator" { "Product" } else { "Technology" };
            json!({"name": n, "type": kind, "description": format!("{n}, as the model describes it."), "mentions": 1})
        })
        .collect();
    let relationships: Vec<Value> = names
        .windows(2)
        .map(|w| json!({"from_entity": w[0], "to_entity": w[1], "relationship_type": "USES", "confidence": 0.9}))
        .collect();
    format!("```json\n{}\n```", json!({"entities": entities, "relationships": relationships}))
}

/// Share of the query's words that occur in `doc`.
fn overlap(query: &str, doc: &str) -> f64 {
    let doc = doc.to_lowercase();
    let words: Vec<String> =
        query.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_lowercase).collect();
    let hits = words.iter().filter(|w| doc.contains(w.as_str())).count();
    hits as f64 / words.len().max(1) as f64
}

async fn rerank(State(api): State<OpenAiStub>, Json(req): Json<Value>) -> Response {
    let n = api.rerank_requests.fetch_add(1, Ordering::SeqCst);
    if n < api.throttle_models_first {
        return error(StatusCode::TOO_MANY_REQUESTS, "slow down");
    }
    let query = req["query"].as_str().unwrap_or_default();
    let docs: Vec<&str> =
        req["documents"].as_array().map(|d| d.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
    let mut scored: Vec<(usize, f64)> = docs.iter().enumerate().map(|(i, d)| (i, overlap(query, d))).collect();
    scored.sort_by(|a, b| b.1.total_cmp(&a.1));
    match req["model"].as_str() {
        Some("tei") => Json(json!(scored.iter().map(|(i, s)| json!({"index": i, "score": s})).collect::<Vec<_>>())).into_response(),
        Some("garbled") => Json(json!({"results": "nope"})).into_response(),
        _ => Json(json!({"results": scored.iter().map(|(i, s)| json!({"index": i, "relevance_score": s})).collect::<Vec<_>>()}))
            .into_response(),
    }
}

async fn embeddings(State(api): State<OpenAiStub>, Json(req): Json<Value>) -> Response {
    let n = api.requests.fetch_add(1, Ordering::SeqCst);
    if n < api.throttle_first {
        return (
            StatusCode::TOO_MANY_REQUESTS,
            [("retry-after", "0")],
            Json(json!({"error": {"message": "slow down", "type": "rate_limit_error", "param": null, "code": null}})),
        )
            .into_response();
    }
    if req["model"] == "down-model" {
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(
                json!({"error": {"message": "upstream exploded", "type": "server_error", "param": null, "code": null}}),
            ),
        )
            .into_response();
    }
    if req["model"] == "bad-model" {
        return (StatusCode::BAD_REQUEST,
            Json(json!({"error": {"message": "model not found", "type": "invalid_request_error", "param": null, "code": null}}))).into_response();
    }
    let inputs = req["input"].as_array().cloned().unwrap_or_default();
    api.inputs.fetch_add(inputs.len(), Ordering::SeqCst);
    let data: Vec<Value> = inputs
        .iter()
        .enumerate()
        .map(|(i, text)| {
            let len = text.as_str().unwrap_or("").len() as f32;
            let mut v = vec![0.0f32; api.dimensions];
            v[i % api.dimensions] = 1.0;
            v[(i + 1) % api.dimensions] = len;
            json!({"object": "embedding", "index": i, "embedding": v})
        })
        .rev() // out of order on purpose: the client must sort by index
        .collect();
    Json(json!({"object": "list", "data": data, "model": req["model"], "usage": {"prompt_tokens": 1, "total_tokens": 1}})).into_response()
}

impl OpenAiStub {
    /// Serve on a free loopback port; returns the `/v1` base URL.
    pub async fn start(self) -> String {
        let api = self;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let router = axum::Router::new()
            .route("/v1/embeddings", post(embeddings))
            .route("/v1/chat/completions", post(chat))
            .route("/v1/rerank", post(rerank))
            .with_state(api);
        tokio::spawn(async move { axum::serve(listener, router).await });
        format!("http://{addr}/v1")
    }
}
