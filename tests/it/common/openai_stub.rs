//! A local stand-in for an OpenAI-compatible embeddings API speaking the real wire format:
//! deterministic vectors, out-of-order `data`, 429 with Retry-After, 400 for unknown models, and a
//! request counter so tests can prove how many calls were made.

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
        let router = axum::Router::new().route("/v1/embeddings", post(embeddings)).with_state(api);
        tokio::spawn(async move { axum::serve(listener, router).await });
        format!("http://{addr}/v1")
    }
}
