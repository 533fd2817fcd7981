//! RFC 9728 protected-resource metadata: `/.well-known/oauth-protected-resource`, and the same
//! document at the path-suffixed form for the resource's path (`.../oauth-protected-resource/mcp`),
//! open without credentials like `/health`. Served only when `CRAWLRAG_PUBLIC_URL` names this
//! server's canonical resource URL; 404 otherwise. An MCP client finds it through the
//! `resource_metadata` of a 401's challenge, then the authorization servers through it.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json, Response};
use axum::routing::get;
use url::Url;

use crate::domain::oauth::{METADATA_PATH, metadata_url, resource_metadata};

/// This server as a protected resource.
#[derive(Debug, Clone)]
pub struct ProtectedResource {
    /// The canonical resource URL, as configured (tokens' `aud` must contain it).
    pub url: Url,
    /// Its text exactly as configured (what `aud` is compared with).
    pub canonical: String,
    /// Issuers whose tokens this server accepts (default: the configured issuer).
    pub authorization_servers: Vec<String>,
}

impl ProtectedResource {
    /// Where the metadata document is published.
    pub fn metadata_url(&self) -> String {
        metadata_url(&self.url)
    }
}

type Shared = Option<Arc<ProtectedResource>>;

/// The metadata routes (answering 404 when `resource` is `None`).
pub fn routes(resource: Option<ProtectedResource>) -> Router {
    Router::new()
        .route(METADATA_PATH, get(document))
        .route(&format!("{METADATA_PATH}/{{*suffix}}"), get(suffixed))
        .with_state(resource.map(Arc::new))
}

async fn document(State(resource): State<Shared>) -> Response {
    match resource {
        Some(resource) => answer(&resource),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// The path-suffixed form: only the resource's own path (and `/mcp`, the route it serves).
async fn suffixed(State(resource): State<Shared>, Path(suffix): Path<String>) -> Response {
    let Some(resource) = resource else { return StatusCode::NOT_FOUND.into_response() };
    let own = resource.url.path().trim_matches('/');
    let suffix = suffix.trim_matches('/');
    if suffix == own || suffix == "mcp" { answer(&resource) } else { StatusCode::NOT_FOUND.into_response() }
}

fn answer(resource: &ProtectedResource) -> Response {
    Json(resource_metadata(&resource.canonical, &resource.authorization_servers)).into_response()
}
