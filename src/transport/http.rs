//! HTTP transport: streamable HTTP MCP at `/mcp`, legacy SSE at `/sse` + `/messages`, liveness
//! at `/health`, readiness at `/ready` (200 only when every dependency answers, else 503 naming
//! the failing one), and Prometheus text at `/metrics`. Every route but `/health` and `/ready`
//! passes the API key / OAuth token check of `transport::auth`, with rate limits around it
//! (`transport::rate_limit`: per client address outside, per caller inside); RFC 9728 metadata is
//! open at `/.well-known/oauth-protected-resource` when a public URL is configured. Stateless
//! apart from MCP sessions, so replicas can sit behind a load balancer with sticky sessions (or
//! stateless 2026-07-28 clients).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{get, post};
use axum::serve::ListenerExt;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use serde_json::json;
use tokio_util::sync::CancellationToken;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tower_http::trace::TraceLayer;
use tracing::info;

use super::auth::{AuthOptions, AuthState, start_rule};
use super::rate_limit::{RateLimitOptions, RateLimitState, limit_by_caller, limit_by_ip};
use super::sse::{self, SseSessions, SseState};
use crate::app::{App, metrics_handle};
use crate::mcp::RagServer;

/// Largest MCP request body accepted, in bytes.
pub const MAX_REQUEST_BYTES: usize = 4 * 1024 * 1024;
const TRANSPORT: &str = "http";

/// Settings of the HTTP transport.
#[derive(Debug, Clone, Default)]
pub struct HttpOptions {
    /// Host names accepted besides loopback (rmcp refuses others with 403: DNS rebinding).
    pub allowed_hosts: Vec<String>,
    /// API key authentication (see `transport::auth`).
    pub auth: AuthOptions,
    /// Rate limits and the per-caller crawl cap (see `transport::rate_limit`).
    pub rate_limit: RateLimitOptions,
}

/// Build the router serving every HTTP endpoint.
pub fn router(
    app: Arc<App>,
    options: &HttpOptions,
    auth: AuthState,
    limits: RateLimitState,
    shutdown: &CancellationToken,
) -> Router {
    // Install the recorder before the first tool call so no count is lost.
    let _ = metrics_handle();
    let mut hosts: Vec<String> = ["localhost", "127.0.0.1", "::1"].map(String::from).to_vec();
    hosts.extend(options.allowed_hosts.iter().cloned());
    let mcp_app = Arc::clone(&app);
    let mcp = StreamableHttpService::new(
        move || Ok(RagServer::new(Arc::clone(&mcp_app))),
        LocalSessionManager::default().into(),
        // Plain JSON answers (one write) for stateless 2026-07-28 calls that stream nothing; rmcp
        // falls back to SSE when a tool sends progress first, so no notification is lost.
        StreamableHttpServerConfig::default()
            .with_json_response(true)
            .with_allowed_hosts(hosts)
            .with_max_request_body_bytes(MAX_REQUEST_BYTES)
            .with_sse_keep_alive(Some(Duration::from_secs(15)))
            .with_cancellation_token(shutdown.child_token()),
    );
    let sse_state =
        SseState { app: Arc::clone(&app), sessions: SseSessions::default(), shutdown: shutdown.child_token() };
    let legacy = Router::new()
        .route("/sse", get(sse::open_stream))
        .route("/messages", post(sse::post_message))
        .layer(RequestBodyLimitLayer::new(MAX_REQUEST_BYTES))
        .with_state(sse_state);
    Router::new()
        .route("/health", get(health))
        .route("/ready", get(ready))
        .route("/metrics", get(metrics))
        .with_state(app)
        .nest_service("/mcp", mcp)
        .merge(legacy)
        .merge(super::resource_metadata::routes(options.auth.resource.clone()))
        // Innermost first: per caller (needs the Caller auth found), auth, then per address
        // (outside auth, so refused keys count too).
        .layer(axum::middleware::from_fn_with_state(limits.clone(), limit_by_caller))
        .layer(axum::middleware::from_fn_with_state(auth, super::auth::require_key))
        .layer(axum::middleware::from_fn_with_state(limits, limit_by_ip))
        .layer(CatchPanicLayer::new())
        .layer(TraceLayer::new_for_http())
        .layer(SetSensitiveRequestHeadersLayer::new([
            header::AUTHORIZATION,
            header::COOKIE,
            header::HeaderName::from_static("x-api-key"),
        ]))
}

/// Serve HTTP on `addr` until `shutdown` fires.
///
/// # Errors
/// When the address cannot be bound, or is off loopback with no API key, no OAuth and no
/// `--insecure-no-auth` ([`super::auth::AuthError`]).
pub async fn serve(
    app: Arc<App>,
    addr: SocketAddr,
    options: HttpOptions,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let keys = app.api_keys();
    let any_key = keys.any_active_key().await?;
    let oauth = options.auth.bearer.is_some();
    let enforcement = start_rule(addr, options.auth.insecure_no_auth, any_key, oauth)?;
    if !any_key && !oauth && !addr.ip().is_loopback() {
        tracing::warn!(%addr, "serving HTTP off loopback WITHOUT authentication (--insecure-no-auth)");
    }
    let mut auth = AuthState::new(keys, enforcement, options.auth.cache_ttl);
    if let Some(bearer) = options.auth.bearer.clone() {
        auth = auth.with_bearer(bearer);
    }
    if let Some(resource) = &options.auth.resource {
        auth = auth.with_metadata_url(resource.metadata_url());
    }
    let limiter = crate::app::rate_limiter(options.rate_limit.redis_url.as_ref()).await?;
    let limits = RateLimitState::new(limiter, options.rate_limit.clone());
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    // An SSE-framed answer is several small writes (priming event, data event, final chunk); with
    // Nagle's algorithm on, each later write waits for the client's delayed ACK (~40 ms) on a
    // kept-alive connection, so every tool call paid a fixed 44 ms. Write each at once.
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::warn!(error = %e, "could not set TCP_NODELAY on an accepted connection");
        }
    });
    info!(addr = %local, "serving MCP: streamable HTTP at /mcp, legacy SSE at /sse");
    let router = router(app, &options, auth, limits, &shutdown);
    // Connect info: the per-address limit needs the peer's address.
    let service = router.into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, service).with_graceful_shutdown(async move { shutdown.cancelled().await }).await?;
    Ok(())
}

/// A worker's own listener: `/health`, `/ready` and `/metrics` only (no MCP, so no
/// authentication: bind it where only probes and the metrics scraper reach it).
///
/// # Errors
/// When the address cannot be bound.
pub async fn serve_probes(app: Arc<App>, addr: SocketAddr, shutdown: CancellationToken) -> anyhow::Result<()> {
    let _ = metrics_handle();
    let router = Router::new()
        .route("/health", get(health))
        .route("/ready", get(ready))
        .route("/metrics", get(metrics))
        .with_state(app)
        .layer(CatchPanicLayer::new());
    let listener = tokio::net::TcpListener::bind(addr).await?;
    info!(addr = %listener.local_addr()?, "serving worker probes: /health, /ready, /metrics");
    axum::serve(listener, router).with_graceful_shutdown(async move { shutdown.cancelled().await }).await?;
    Ok(())
}

async fn health() -> Json<serde_json::Value> {
    Json(json!({ "status": "ok", "version": env!("CARGO_PKG_VERSION"), "transport": TRANSPORT }))
}

async fn ready(State(app): State<Arc<App>>) -> Response {
    let components = app.readiness().await;
    let failing: Vec<&str> = components.iter().filter(|c| !c.ok).map(|c| c.component).collect();
    let (status, label) =
        if failing.is_empty() { (StatusCode::OK, "ready") } else { (StatusCode::SERVICE_UNAVAILABLE, "unavailable") };
    (status, Json(json!({ "status": label, "failing": failing, "components": components }))).into_response()
}

async fn metrics() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], metrics_handle().render())
}
