//! A minimal legacy-SSE MCP client (protocol 2024-11-05) over plain HTTP: open `GET /sse`, read
//! the `endpoint` event, POST JSON-RPC to it, and read replies from the event stream.

use std::time::Duration;

use futures::StreamExt;
use serde_json::{Value, json};
use tokio::sync::mpsc;

pub struct SseClient {
    http: reqwest::Client,
    endpoint: String,
    events: mpsc::Receiver<(String, String)>,
    next_id: u64,
}

impl SseClient {
    /// Connect to `{base}/sse` and wait for the endpoint event.
    pub async fn connect(base: &str) -> Self {
        let http = reqwest::Client::new();
        let response = http.get(format!("{base}/sse")).send().await.expect("GET /sse");
        assert!(response.status().is_success(), "GET /sse answered {}", response.status());
        let (tx, mut events) = mpsc::channel(64);
        let mut bytes = response.bytes_stream();
        tokio::spawn(async move {
            let mut buffer = String::new();
            while let Some(Ok(chunk)) = bytes.next().await {
                buffer.push_str(&String::from_utf8_lossy(&chunk).replace("\r\n", "\n"));
                while let Some(end) = buffer.find("\n\n") {
                    let raw: String = buffer.drain(..end + 2).collect();
                    let mut event = "message".to_owned();
                    let mut data = Vec::new();
                    for line in raw.lines() {
                        if let Some(v) = line.strip_prefix("event:") {
                            event = v.trim().to_owned();
                        } else if let Some(v) = line.strip_prefix("data:") {
                            data.push(v.strip_prefix(' ').unwrap_or(v).to_owned());
                        }
                    }
                    if !data.is_empty() && tx.send((event, data.join("\n"))).await.is_err() {
                        return;
                    }
                }
            }
        });
        let (event, data) = tokio::time::timeout(Duration::from_secs(10), events.recv())
            .await
            .expect("endpoint event in time")
            .expect("stream open");
        assert_eq!(event, "endpoint");
        Self { http, endpoint: format!("{base}{data}"), events, next_id: 1 }
    }

    /// POST raw bytes to the session endpoint; returns the HTTP status and body.
    pub async fn post_raw(&self, body: &str) -> (u16, String) {
        let response = self
            .http
            .post(&self.endpoint)
            .header("content-type", "application/json")
            .body(body.to_owned())
            .send()
            .await
            .expect("POST /messages");
        let status = response.status().as_u16();
        (status, response.text().await.unwrap_or_default())
    }

    /// Send a request and wait for the response with the same id.
    pub async fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        let (status, text) =
            self.post_raw(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}).to_string()).await;
        assert_eq!(status, 202, "POST {method}: {text}");
        loop {
            let (event, data) = tokio::time::timeout(Duration::from_secs(120), self.events.recv())
                .await
                .expect("response in time")
                .expect("stream open");
            if event != "message" {
                continue;
            }
            let message: Value = serde_json::from_str(&data).expect("JSON message");
            if message.get("id") == Some(&json!(id)) {
                return message;
            }
        }
    }

    pub async fn notify(&self, method: &str) {
        let (status, text) = self.post_raw(&json!({"jsonrpc": "2.0", "method": method}).to_string()).await;
        assert_eq!(status, 202, "notify {method}: {text}");
    }

    /// The 2024-11-05 handshake.
    pub async fn initialize(&mut self) -> Value {
        let response = self
            .request(
                "initialize",
                json!({"protocolVersion": "2024-11-05", "capabilities": {}, "clientInfo": {"name": "it-sse", "version": "0"}}),
            )
            .await;
        self.notify("notifications/initialized").await;
        response
    }

    /// Call a tool; returns the JSON-RPC `result`.
    pub async fn call_tool(&mut self, name: &str, arguments: Value) -> Value {
        let response = self.request("tools/call", json!({"name": name, "arguments": arguments})).await;
        response.get("result").cloned().unwrap_or_else(|| panic!("no result: {response}"))
    }
}
