//! HTTP authentication by API key: an axum middleware in front of every route but `/health` and
//! `/ready`. The key comes as `Authorization: Bearer <key>` or `X-API-Key`; it is looked up by the
//! SHA-256 digest of the secret (the stored and computed digests compared in constant time), and
//! the answer is cached in process for a TTL (`CRAWLRAG_AUTH_CACHE_SECS`, 30 s by default), so a
//! revocation takes effect within that TTL. The scope a request needs comes from the route
//! (`/metrics`: `admin`) or, for a JSON-RPC body on `/mcp` or `/messages`, from the tool called
//! (`crate::domain::api_key::scope_for_tool`; a batch needs its strictest call). Missing, unknown
//! or revoked keys answer 401 with `WWW-Authenticate`; a key without the scope answers 403 naming
//! it. Keys are never logged. stdio never passes through here.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Json, Response};
use serde_json::{Value, json};

use crate::domain::api_key::{Scope, allows, digest, digests_equal, parse_key, scope_for_tool};
use crate::domain::webhook::hex;
use crate::ports::ApiKeys;

/// Default lifetime of a cached key lookup.
pub const DEFAULT_CACHE_TTL: Duration = Duration::from_secs(30);
const REALM: &str = "Bearer realm=\"crawlrag\"";
/// Cached lookups kept at most (the cache is emptied past this: random keys cannot grow it).
const CACHE_CAP: usize = 10_000;

/// Settings of authentication on HTTP.
#[derive(Debug, Clone)]
pub struct AuthOptions {
    /// Serve off loopback without any key (`--insecure-no-auth`).
    pub insecure_no_auth: bool,
    /// How long a key lookup is trusted; zero: every request asks the store.
    pub cache_ttl: Duration,
}

impl Default for AuthOptions {
    fn default() -> Self {
        Self { insecure_no_auth: false, cache_ttl: DEFAULT_CACHE_TTL }
    }
}

/// When requests must carry a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enforcement {
    /// Always (served off loopback with keys).
    Always,
    /// Only while some key that is not revoked exists (loopback, or `--insecure-no-auth`).
    WhenKeysExist,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AuthError {
    #[error(
        "refusing to serve HTTP on {0} (not a loopback address) without API keys: create one with \
         `crawlrag keys create --name NAME --scopes read`, or pass --insecure-no-auth \
         (CRAWLRAG_INSECURE_NO_AUTH=true) to serve without authentication"
    )]
    NoKeysOffLoopback(SocketAddr),
}

/// The start-up rule: off loopback, serving needs a key or an explicit `--insecure-no-auth`.
///
/// # Errors
/// [`AuthError::NoKeysOffLoopback`] when `addr` is not loopback, no key exists and the server
/// was not told to run open.
pub fn start_rule(addr: SocketAddr, insecure_no_auth: bool, any_key: bool) -> Result<Enforcement, AuthError> {
    if addr.ip().is_loopback() || insecure_no_auth {
        return Ok(Enforcement::WhenKeysExist);
    }
    if any_key { Ok(Enforcement::Always) } else { Err(AuthError::NoKeysOffLoopback(addr)) }
}

type Cached = (Instant, Result<Caller, &'static str>);

/// Who an authenticated request comes from, put in the request's extensions for the layers
/// behind this one (per-caller rate limits, job ownership).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// A stable id: the API key's id (`key:<id>`).
    pub id: String,
    pub scopes: Vec<Scope>,
}

/// The middleware's state: the key store, the rule and the lookup cache.
#[derive(Debug, Clone)]
pub struct AuthState {
    keys: Arc<dyn ApiKeys>,
    enforcement: Enforcement,
    ttl: Duration,
    cache: Arc<Mutex<HashMap<String, Cached>>>,
    any_key: Arc<Mutex<Option<(Instant, bool)>>>,
}

impl AuthState {
    pub fn new(keys: Arc<dyn ApiKeys>, enforcement: Enforcement, ttl: Duration) -> Self {
        Self { keys, enforcement, ttl, cache: Arc::default(), any_key: Arc::default() }
    }

    async fn enforced(&self) -> Result<bool, Response> {
        if self.enforcement == Enforcement::Always {
            return Ok(true);
        }
        let cached = *self.any_key.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((at, any)) = cached
            && at.elapsed() < self.ttl
        {
            return Ok(any);
        }
        let any = self.keys.any_active_key().await.map_err(|e| unavailable(&e.to_string()))?;
        *self.any_key.lock().unwrap_or_else(PoisonError::into_inner) = Some((Instant::now(), any));
        Ok(any)
    }

    /// Who `key` is, or the reason it is refused.
    async fn caller(&self, key: &str) -> Result<Result<Caller, &'static str>, Response> {
        if parse_key(key).is_none() {
            return Ok(Err("unknown"));
        }
        let computed = hex(&digest(key));
        {
            let cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some((at, answer)) = cache.get(&computed)
                && at.elapsed() < self.ttl
            {
                return Ok(answer.clone());
            }
        }
        let found = self.keys.find_key(&computed).await.map_err(|e| unavailable(&e.to_string()))?;
        let Some(record) = found else { return Ok(Err("unknown")) };
        if !digests_equal(record.hash.as_bytes(), computed.as_bytes()) {
            return Ok(Err("unknown"));
        }
        let answer = if record.revoked_at.is_some() {
            Err("revoked")
        } else {
            // A scope this build does not know grants nothing.
            let scopes = record.scopes.split(',').filter_map(|s| Scope::parse(s).ok()).collect();
            Ok(Caller { id: format!("key:{}", record.id), scopes })
        };
        if !self.ttl.is_zero() {
            let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
            if cache.len() >= CACHE_CAP {
                cache.clear();
            }
            cache.insert(computed, (Instant::now(), answer.clone()));
        }
        Ok(answer)
    }
}

/// The key a request carries: `Authorization: Bearer <key>`, else `X-API-Key`.
fn presented_key(headers: &HeaderMap) -> Option<&str> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(str::trim);
    bearer.or_else(|| headers.get("x-api-key").and_then(|v| v.to_str().ok()).map(str::trim))
}

/// The scope a JSON-RPC body needs: `tools/call` the tool's, anything else `read`; a batch its
/// strictest. A body that is not JSON needs `read` (the MCP layer rejects it).
pub fn scope_for_body(body: &[u8]) -> Scope {
    fn one(message: &Value) -> Scope {
        if message.get("method").and_then(Value::as_str) == Some("tools/call") {
            let tool = message.pointer("/params/name").and_then(Value::as_str).unwrap_or_default();
            scope_for_tool(tool)
        } else {
            Scope::Read
        }
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Array(batch)) => batch.iter().map(one).max().unwrap_or(Scope::Read),
        Ok(message) => one(&message),
        Err(_) => Scope::Read,
    }
}

fn failure(reason: &'static str) {
    metrics::counter!("crawlrag_auth_failures_total", "reason" => reason).increment(1);
}

fn unauthorized(reason: &'static str) -> Response {
    failure(reason);
    let message = match reason {
        "missing" => "an API key is required: Authorization: Bearer <key> or X-API-Key",
        "revoked" => "this API key was revoked",
        _ => "unknown API key",
    };
    let mut response =
        (StatusCode::UNAUTHORIZED, Json(json!({ "error": "unauthorized", "message": message }))).into_response();
    response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(REALM));
    response
}

fn forbidden(required: Scope) -> Response {
    failure("insufficient_scope");
    let mut response =
        (StatusCode::FORBIDDEN, Json(json!({ "error": "insufficient_scope", "required_scope": required.as_str() })))
            .into_response();
    let challenge = format!("{REALM}, error=\"insufficient_scope\", scope=\"{required}\"");
    if let Ok(value) = HeaderValue::from_str(&challenge) {
        response.headers_mut().insert(header::WWW_AUTHENTICATE, value);
    }
    response
}

fn unavailable(error: &str) -> Response {
    tracing::warn!(error, "API key lookup failed");
    (StatusCode::SERVICE_UNAVAILABLE, Json(json!({ "error": "unavailable", "message": "key store unavailable" })))
        .into_response()
}

/// The middleware: see the module documentation.
pub async fn require_key(State(auth): State<AuthState>, mut request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    if path == "/health" || path == "/ready" {
        return next.run(request).await;
    }
    match auth.enforced().await {
        Ok(true) => {}
        Ok(false) => return next.run(request).await,
        Err(response) => return response,
    }
    let Some(key) = presented_key(request.headers()) else { return unauthorized("missing") };
    let caller = match auth.caller(key).await {
        Ok(Ok(caller)) => caller,
        Ok(Err(reason)) => return unauthorized(reason),
        Err(response) => return response,
    };
    let scopes = caller.scopes.clone();
    request.extensions_mut().insert(caller);
    if allows(&scopes, Scope::Admin) {
        return next.run(request).await;
    }
    let is_rpc = request.method() == Method::POST && (path.starts_with("/mcp") || path.starts_with("/messages"));
    let (required, request) = if path.starts_with("/metrics") {
        (Scope::Admin, request)
    } else if is_rpc {
        let (parts, body) = request.into_parts();
        let Ok(bytes) = axum::body::to_bytes(body, super::http::MAX_REQUEST_BYTES).await else {
            return StatusCode::PAYLOAD_TOO_LARGE.into_response();
        };
        (scope_for_body(&bytes), Request::from_parts(parts, Body::from(bytes)))
    } else {
        (Scope::Read, request)
    };
    if allows(&scopes, required) { next.run(request).await } else { forbidden(required) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_need_their_tools_scope() {
        let call = |tool: &str| json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": tool}});
        assert_eq!(scope_for_body(call("smart_crawl_url").to_string().as_bytes()), Scope::Crawl);
        assert_eq!(scope_for_body(call("get_available_sources").to_string().as_bytes()), Scope::Read);
        assert_eq!(scope_for_body(br#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#), Scope::Read);
        let batch = json!([call("perform_rag_query"), call("delete_source")]).to_string();
        assert_eq!(scope_for_body(batch.as_bytes()), Scope::Admin);
        assert_eq!(scope_for_body(b"not json"), Scope::Read);
    }

    #[test]
    fn off_loopback_needs_a_key_or_the_flag() {
        let local: SocketAddr = "127.0.0.1:8051".parse().unwrap();
        let open: SocketAddr = "0.0.0.0:8051".parse().unwrap();
        let v6: SocketAddr = "[::1]:8051".parse().unwrap();
        assert_eq!(start_rule(local, false, false), Ok(Enforcement::WhenKeysExist));
        assert_eq!(start_rule(v6, false, false), Ok(Enforcement::WhenKeysExist));
        assert_eq!(start_rule(open, false, false), Err(AuthError::NoKeysOffLoopback(open)));
        assert_eq!(start_rule(open, true, false), Ok(Enforcement::WhenKeysExist));
        assert_eq!(start_rule(open, false, true), Ok(Enforcement::Always));
    }

    #[test]
    fn keys_are_read_from_either_header() {
        let mut headers = HeaderMap::new();
        assert_eq!(presented_key(&headers), None);
        headers.insert("x-api-key", HeaderValue::from_static("crk_b"));
        assert_eq!(presented_key(&headers), Some("crk_b"));
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer crk_a"));
        assert_eq!(presented_key(&headers), Some("crk_a"));
    }
}
