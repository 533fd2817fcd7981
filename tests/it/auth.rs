//! API keys on the HTTP transport, against the real binary on 127.0.0.1: keys made with
//! `crawlrag keys`, then plain HTTP requests and rmcp's streamable-HTTP client carrying them (401
//! without a valid key, 403 naming the scope a tool needs, `/health` open, `/metrics` for
//! `admin`, revocation), and the start-up rule off loopback.

use std::process::Stdio;
use std::time::Duration;

use reqwest::StatusCode;
use rmcp::ServiceExt;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use serde_json::{Value, json};

use crate::both_stores;
use crate::common::binary::{self, HttpServer, StoreTarget};
use crate::common::{self, Backend};

async fn create_key(services: &common::Services, store: &StoreTarget, name: &str, scopes: &str) -> (String, String) {
    let (code, out, err) =
        binary::run_cli(services, store, &["keys", "create", "--name", name, "--scopes", scopes, "--json"]).await;
    assert_eq!(code, 0, "{err}");
    let key = out["key"].as_str().expect("the secret, once").to_owned();
    assert!(key.starts_with("crk_"), "{out}");
    (out["id"].as_str().unwrap().to_owned(), key)
}

fn tool_call(tool: &str, arguments: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": tool, "arguments": arguments}})
}

async fn post_mcp(http: &reqwest::Client, base: &str, key: Option<&str>, body: &Value) -> reqwest::Response {
    let mut request = http
        .post(format!("{base}/mcp"))
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "application/json")
        .json(body);
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    request.send().await.unwrap()
}

async fn mcp_client(base: &str, key: &str) -> rmcp::service::RunningService<rmcp::RoleClient, ()> {
    let config = StreamableHttpClientTransportConfig::with_uri(format!("{base}/mcp")).auth_header(key);
    ().serve(StreamableHttpClientTransport::from_config(config)).await.expect("MCP initialize with a key")
}

both_stores!(api_keys_guard_http_by_scope);

async fn api_keys_guard_http_by_scope(backend: Backend) {
    let Some(services) = common::services() else { return };
    let store = StoreTarget::fresh(&services, backend, "auth_keys");
    let (read_id, read) = create_key(&services, &store, "reader", "read").await;
    let (_, crawl) = create_key(&services, &store, "crawler", "crawl").await;
    let (_, admin) = create_key(&services, &store, "admin", "admin").await;

    let (code, listed, err) = binary::run_cli(&services, &store, &["keys", "list", "--json"]).await;
    assert_eq!(code, 0, "{err}");
    let text = listed.to_string();
    assert_eq!(listed.as_array().map(Vec::len), Some(3), "{listed}");
    for secret in [&read, &crawl, &admin] {
        assert!(!text.contains(secret.as_str()), "keys list printed a secret: {text}");
    }
    assert!(listed.as_array().unwrap().iter().all(|k| k["prefix"].as_str().is_some_and(|p| p.len() == 8)));
    let mut table = tokio::process::Command::new(binary::BIN);
    table.args(["keys", "list"]);
    binary::configure(&mut table, &services, &store);
    let table = String::from_utf8(table.output().await.unwrap().stdout).unwrap();
    assert!(table.contains("reader") && table.contains("active"), "{table}");
    for secret in [&read, &crawl, &admin] {
        assert!(!table.contains(secret.as_str()), "keys list printed a secret: {table}");
    }

    let server = HttpServer::start_env(&services, &store, &[("CRAWLRAG_AUTH_CACHE_SECS", "0")]).await;
    let http = reqwest::Client::new();
    let base = server.base.as_str();

    let health = http.get(format!("{base}/health")).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);

    let list = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"});
    let missing = post_mcp(&http, base, None, &list).await;
    assert_eq!(missing.status(), StatusCode::UNAUTHORIZED);
    let challenge = missing.headers().get("www-authenticate").and_then(|v| v.to_str().ok()).unwrap_or_default();
    assert!(challenge.starts_with("Bearer realm=\"crawlrag\""), "{challenge}");
    let wrong = format!("{}{}", &read[..read.len() - 1], if read.ends_with('A') { 'B' } else { 'A' });
    assert_eq!(post_mcp(&http, base, Some(&wrong), &list).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(post_mcp(&http, base, Some("not-a-key"), &list).await.status(), StatusCode::UNAUTHORIZED);

    let crawl_call = tool_call("smart_crawl_url", json!({"url": "http://127.0.0.1:9/"}));
    let refused = post_mcp(&http, base, Some(&read), &crawl_call).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body, json!({"error": "insufficient_scope", "required_scope": "crawl"}));
    let delete = tool_call("delete_source", json!({"source_id": "nothing.example"}));
    let refused: Value = post_mcp(&http, base, Some(&crawl), &delete).await.json().await.unwrap();
    assert_eq!(refused["required_scope"], "admin", "{refused}");

    let reader = mcp_client(base, &read).await;
    let sources = binary::call(&reader, "get_available_sources", json!({})).await.expect("read may list sources");
    assert!(!binary::is_error(&sources), "{:?}", binary::body(&sources));
    reader.cancel().await.unwrap();

    // Any tool answer (here: a failed fetch) proves the crawl key passed authentication.
    let crawler = mcp_client(base, &crawl).await;
    let answered = binary::call(&crawler, "crawl_single_page", json!({"url": "http://127.0.0.1:9/nothing"})).await;
    assert!(answered.is_ok(), "{answered:?}");
    crawler.cancel().await.unwrap();
    let via_header = http.get(format!("{base}/metrics")).header("x-api-key", &admin).send().await.unwrap();
    assert_eq!(via_header.status(), StatusCode::OK);

    let metrics = |key: Option<&str>| {
        let mut request = http.get(format!("{base}/metrics"));
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        request.send()
    };
    assert_eq!(metrics(None).await.unwrap().status(), StatusCode::UNAUTHORIZED);
    assert_eq!(metrics(Some(&read)).await.unwrap().status(), StatusCode::FORBIDDEN);
    let text = metrics(Some(&admin)).await.unwrap().text().await.unwrap();
    assert!(
        text.lines()
            .any(|l| l.starts_with("crawlrag_auth_failures_total") && l.contains("reason=\"insufficient_scope\"")),
        "{text}"
    );

    let (code, revoked, err) = binary::run_cli(&services, &store, &["keys", "revoke", &read_id, "--json"]).await;
    assert_eq!(code, 0, "{err}");
    assert_eq!(revoked["revoked"], json!([read_id]));
    let mut status = StatusCode::OK;
    for _ in 0..50 {
        status = post_mcp(&http, base, Some(&read), &list).await.status();
        if status == StatusCode::UNAUTHORIZED {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status, StatusCode::UNAUTHORIZED, "a revoked key still passes");
}

#[tokio::test]
async fn serving_off_loopback_needs_a_key_or_the_insecure_flag() {
    let Some(services) = common::services() else { return };
    let store = StoreTarget::fresh(&services, Backend::Sqlite, "auth_open");
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let addr = format!("0.0.0.0:{port}");

    let mut cmd = tokio::process::Command::new(binary::BIN);
    cmd.args(["serve", "--http", &addr]).stdin(Stdio::null());
    binary::configure(&mut cmd, &services, &store);
    cmd.env_remove("CRAWLRAG_INSECURE_NO_AUTH");
    let out = tokio::time::timeout(Duration::from_secs(120), cmd.output()).await.expect("exits").unwrap();
    assert_eq!(out.status.code(), Some(2), "a configuration error");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("not a loopback address") && stderr.contains("--insecure-no-auth"), "{stderr}");

    let mut cmd = tokio::process::Command::new(binary::BIN);
    cmd.args(["serve", "--http", &addr, "--insecure-no-auth"]).stdin(Stdio::null());
    binary::configure(&mut cmd, &services, &store);
    let mut child = cmd.spawn().unwrap();
    let http = reqwest::Client::new();
    let mut up = false;
    for _ in 0..600 {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("serve --insecure-no-auth exited with {status}");
        }
        if let Ok(resp) = http.get(format!("http://127.0.0.1:{port}/health")).send().await
            && resp.status().is_success()
        {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(up, "serve --insecure-no-auth did not answer /health");
    let list = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"});
    let open = post_mcp(&http, &format!("http://127.0.0.1:{port}"), None, &list).await;
    assert_ne!(open.status(), StatusCode::UNAUTHORIZED);
    child.kill().await.unwrap();
}
