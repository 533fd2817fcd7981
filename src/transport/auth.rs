//! HTTP authentication by API key or OAuth access token: an axum middleware in front of every
//! route but `/health`, `/ready` and the RFC 9728 metadata. The key comes as
//! `Authorization: Bearer <key>` or `X-API-Key`; a bearer that does not start with `crk_` is a JWT
//! when OAuth is configured (checked by `transport::bearer`). A key is looked up by the
//! SHA-256 digest of the secret (the stored and computed digests compared in constant time), and
//! the answer is cached in process for a TTL (`CRAWLRAG_AUTH_CACHE_SECS`, 30 s by default), so a
//! revocation takes effect within that TTL. The scope a request needs comes from the route
//! (`/metrics`: `admin`) or, for a JSON-RPC body on `/mcp` or `/messages`, from the tool called
//! (`crate::domain::api_key::scope_for_tool`; a batch needs its strictest call). Missing, unknown
//! or revoked keys and refused tokens answer 401 with `WWW-Authenticate` (pointing at the resource
//! metadata when `CRAWLRAG_PUBLIC_URL` is set); a caller without the scope answers 403 naming it.
//! A key's `last_used_at` is written at most once a minute per key and process, off the request
//! path. Keys and tokens are never logged. stdio never passes through here.

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

use super::bearer::{BearerFailure, BearerVerifier};
use crate::domain::api_key::{KEY_PREFIX, Scope, allows, digest, digests_equal, parse_key, scope_for_tool};
use crate::domain::oauth::{METADATA_PATH, TokenRejection, challenge};
use crate::domain::webhook::hex;
use crate::ports::ApiKeys;

/// Default lifetime of a cached key lookup.
pub const DEFAULT_CACHE_TTL: Duration = Duration::from_secs(30);
/// Least time between two `last_used_at` writes of one key by one process.
pub const TOUCH_INTERVAL: Duration = Duration::from_secs(60);
/// Cached lookups kept at most (the cache is emptied past this: random keys cannot grow it).
const CACHE_CAP: usize = 10_000;

/// Settings of authentication on HTTP.
#[derive(Debug, Clone)]
pub struct AuthOptions {
    /// Serve off loopback without any key (`--insecure-no-auth`).
    pub insecure_no_auth: bool,
    /// How long a key lookup is trusted; zero: every request asks the store.
    pub cache_ttl: Duration,
    /// OAuth access tokens, when an issuer is configured (`CRAWLRAG_OAUTH_JWKS_URL`).
    pub bearer: Option<BearerVerifier>,
    /// This server as an RFC 9728 protected resource (`CRAWLRAG_PUBLIC_URL`).
    pub resource: Option<super::resource_metadata::ProtectedResource>,
}

impl Default for AuthOptions {
    fn default() -> Self {
        Self { insecure_no_auth: false, cache_ttl: DEFAULT_CACHE_TTL, bearer: None, resource: None }
    }
}

/// When requests must carry a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enforcement {
    /// Always (served off loopback with keys, or OAuth configured).
    Always,
    /// Only while some key that is not revoked exists (loopback, or `--insecure-no-auth`).
    WhenKeysExist,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AuthError {
    #[error(
        "refusing to serve HTTP on {0} (not a loopback address) without API keys or OAuth: create a \
         key with `crawlrag keys create --name NAME --scopes read`, configure an issuer \
         (CRAWLRAG_OAUTH_JWKS_URL, CRAWLRAG_OAUTH_ISSUER, CRAWLRAG_PUBLIC_URL), or pass --insecure-no-auth \
         (CRAWLRAG_INSECURE_NO_AUTH=true) to serve without authentication"
    )]
    NoKeysOffLoopback(SocketAddr),
}

/// The start-up rule: with OAuth configured, credentials are always required (an operator who
/// set up an issuer never means to serve open); otherwise off loopback serving needs a key or an
/// explicit `--insecure-no-auth`.
///
/// # Errors
/// [`AuthError::NoKeysOffLoopback`] when `addr` is not loopback, no key exists, OAuth is not
/// configured and the server was not told to run open.
pub fn start_rule(
    addr: SocketAddr,
    insecure_no_auth: bool,
    any_key: bool,
    oauth: bool,
) -> Result<Enforcement, AuthError> {
    if oauth {
        return Ok(Enforcement::Always);
    }
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
    /// A stable id: the API key's id (`key:<id>`), or a token's issuer and subject
    /// (`jwt:<iss>#<sub>`); never a secret.
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
    bearer: Option<Arc<BearerVerifier>>,
    metadata_url: Option<String>,
    /// When each key's `last_used_at` was last written by this process.
    touched: Arc<Mutex<HashMap<String, Instant>>>,
}

impl AuthState {
    pub fn new(keys: Arc<dyn ApiKeys>, enforcement: Enforcement, ttl: Duration) -> Self {
        Self {
            keys,
            enforcement,
            ttl,
            cache: Arc::default(),
            any_key: Arc::default(),
            bearer: None,
            metadata_url: None,
            touched: Arc::default(),
        }
    }

    /// Accept OAuth access tokens checked by `bearer`.
    #[must_use]
    pub fn with_bearer(mut self, bearer: BearerVerifier) -> Self {
        self.bearer = Some(Arc::new(bearer));
        self
    }

    /// Name the RFC 9728 metadata URL in every 401's challenge.
    #[must_use]
    pub fn with_metadata_url(mut self, url: String) -> Self {
        self.metadata_url = Some(url);
        self
    }

    /// Write `last_used_at` of key `id` unless this process did within [`TOUCH_INTERVAL`]. The
    /// write runs in its own task: a slow or failing store never delays or fails the request.
    fn touch(&self, id: &str) {
        let now = Instant::now();
        {
            let mut touched = self.touched.lock().unwrap_or_else(PoisonError::into_inner);
            if touched.get(id).is_some_and(|at| now.duration_since(*at) < TOUCH_INTERVAL) {
                return;
            }
            if touched.len() >= CACHE_CAP {
                touched.clear();
            }
            touched.insert(id.to_owned(), now);
        }
        let (keys, id) = (Arc::clone(&self.keys), id.to_owned());
        tokio::spawn(async move {
            if let Err(error) = keys.touch_key(&id).await {
                tracing::warn!(key_id = %id, %error, "could not record the key's last use");
            }
        });
    }

    /// A 401: `reason` counts in the metric; `refused` (a presented credential's fault) adds
    /// `error="invalid_token"` to the challenge.
    fn unauthorized(&self, reason: &'static str, message: &str, refused: Option<&str>) -> Response {
        failure(reason);
        let error = if refused.is_some() { "invalid_token" } else { "unauthorized" };
        let mut response =
            (StatusCode::UNAUTHORIZED, Json(json!({ "error": error, "message": message }))).into_response();
        if let Ok(value) = HeaderValue::from_str(&challenge(self.metadata_url.as_deref(), refused)) {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, value);
        }
        response
    }

    fn missing(&self) -> Response {
        let message = if self.bearer.is_some() {
            "an API key or an OAuth access token is required: Authorization: Bearer <token> (or X-API-Key)"
        } else {
            "an API key is required: Authorization: Bearer <key> or X-API-Key"
        };
        self.unauthorized("missing", message, None)
    }

    fn refused_key(&self, reason: &'static str) -> Response {
        let message = if reason == "revoked" { "this API key was revoked" } else { "unknown API key" };
        self.unauthorized(reason, message, Some(message))
    }

    fn refused_token(&self, rejection: TokenRejection) -> Response {
        self.unauthorized(rejection.reason(), rejection.description(), Some(rejection.description()))
    }

    /// Who a presented credential belongs to, or the response refusing it.
    async fn authenticate(&self, credential: Credential<'_>) -> Result<Caller, Response> {
        match credential {
            Credential::ApiKey(key) => match self.caller(key).await? {
                Ok(caller) => {
                    if let Some(id) = caller.id.strip_prefix("key:") {
                        self.touch(id);
                    }
                    Ok(caller)
                }
                Err(reason) => Err(self.refused_key(reason)),
            },
            Credential::Token(token) => {
                let Some(bearer) = &self.bearer else { return Err(self.refused_key("unknown")) };
                match bearer.verify(token).await {
                    Ok(caller) => Ok(caller),
                    Err(BearerFailure::Refused(rejection)) => Err(self.refused_token(rejection)),
                    Err(BearerFailure::Unavailable(reason)) => {
                        failure("jwks_unavailable");
                        Err(unavailable(TOKEN_KEYS, &reason))
                    }
                }
            }
        }
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
        let any = self.keys.any_active_key().await.map_err(|e| unavailable(KEY_STORE, &e.to_string()))?;
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
        let found = self.keys.find_key(&computed).await.map_err(|e| unavailable(KEY_STORE, &e.to_string()))?;
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

/// What a request presents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Credential<'a> {
    ApiKey(&'a str),
    /// A bearer that is not an API key, while OAuth is configured.
    Token(&'a str),
}

/// The credential a request carries: `Authorization: Bearer <key or token>`, else `X-API-Key`.
/// A bearer is an API key when it has the key prefix or when no OAuth issuer is configured.
fn presented(headers: &HeaderMap, tokens: bool) -> Option<Credential<'_>> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(str::trim);
    if let Some(bearer) = bearer {
        let token = tokens && !bearer.starts_with(KEY_PREFIX);
        return Some(if token { Credential::Token(bearer) } else { Credential::ApiKey(bearer) });
    }
    headers.get("x-api-key").and_then(|v| v.to_str().ok()).map(str::trim).map(Credential::ApiKey)
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

fn forbidden(required: Scope) -> Response {
    failure("insufficient_scope");
    let mut response =
        (StatusCode::FORBIDDEN, Json(json!({ "error": "insufficient_scope", "required_scope": required.as_str() })))
            .into_response();
    let challenge = format!("{}, error=\"insufficient_scope\", scope=\"{required}\"", challenge(None, None));
    if let Ok(value) = HeaderValue::from_str(&challenge) {
        response.headers_mut().insert(header::WWW_AUTHENTICATE, value);
    }
    response
}

/// The credential stores a 503 may name.
const KEY_STORE: &str = "key store";
const TOKEN_KEYS: &str = "token keys";

/// A 503: `what` (one of the stores above) could not answer; not the caller's fault.
fn unavailable(what: &'static str, error: &str) -> Response {
    tracing::warn!(error, "{what} unavailable");
    let message = format!("{what} unavailable");
    (StatusCode::SERVICE_UNAVAILABLE, Json(json!({ "error": "unavailable", "message": message }))).into_response()
}

/// The middleware: see the module documentation.
pub async fn require_key(State(auth): State<AuthState>, mut request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    if path == "/health" || path == "/ready" || path.starts_with(METADATA_PATH) {
        return next.run(request).await;
    }
    match auth.enforced().await {
        Ok(true) => {}
        Ok(false) => return next.run(request).await,
        Err(response) => return response,
    }
    let Some(credential) = presented(request.headers(), auth.bearer.is_some()) else { return auth.missing() };
    let caller = match auth.authenticate(credential).await {
        Ok(caller) => caller,
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
        assert_eq!(start_rule(local, false, false, false), Ok(Enforcement::WhenKeysExist));
        assert_eq!(start_rule(v6, false, false, false), Ok(Enforcement::WhenKeysExist));
        assert_eq!(start_rule(open, false, false, false), Err(AuthError::NoKeysOffLoopback(open)));
        assert_eq!(start_rule(open, true, false, false), Ok(Enforcement::WhenKeysExist));
        assert_eq!(start_rule(open, false, true, false), Ok(Enforcement::Always));
        // OAuth alone lets it start off loopback, and always enforces (on loopback too).
        assert_eq!(start_rule(open, false, false, true), Ok(Enforcement::Always));
        assert_eq!(start_rule(local, false, false, true), Ok(Enforcement::Always));
    }

    #[test]
    fn keys_are_read_from_either_header() {
        let mut headers = HeaderMap::new();
        assert_eq!(presented(&headers, true), None);
        headers.insert("x-api-key", HeaderValue::from_static("crk_b"));
        assert_eq!(presented(&headers, true), Some(Credential::ApiKey("crk_b")));
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer crk_a"));
        assert_eq!(presented(&headers, true), Some(Credential::ApiKey("crk_a")));
    }

    #[test]
    fn other_bearers_are_tokens_only_when_oauth_is_configured() {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer eyJ.x.y"));
        assert_eq!(presented(&headers, true), Some(Credential::Token("eyJ.x.y")));
        assert_eq!(presented(&headers, false), Some(Credential::ApiKey("eyJ.x.y")));
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer crk_a"));
        assert_eq!(presented(&headers, true), Some(Credential::ApiKey("crk_a")));
    }
}
