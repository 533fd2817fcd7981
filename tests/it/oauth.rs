//! OAuth 2.1 bearer tokens on the HTTP transport, against the real binary on 127.0.0.1: keys
//! generated here with the `openssl` CLI, a real JWKS server on a loopback port publishing their
//! public halves, and tokens signed with `jsonwebtoken`. Covers the RFC 9728 metadata, the 401
//! challenge, scopes from tokens, every kind of refused token (expired, forged, wrong audience or
//! issuer, `alg: none`, HS256), key rotation with its refetch limit, API keys beside OAuth, and
//! `last_used_at` of keys.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::StatusCode;
use rmcp::ServiceExt;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use serde_json::{Value, json};

use crate::both_stores;
use crate::common::binary::{self, HttpServer, StoreTarget};
use crate::common::{self, Backend};

const ISSUER: &str = "https://idp.test";
const RESOURCE: &str = "https://rag.test/mcp";
const METADATA: &str = "https://rag.test/.well-known/oauth-protected-resource/mcp";

/// A private key that signs tokens under a kid.
struct Signer {
    key: EncodingKey,
    alg: Algorithm,
    kid: String,
    /// The public JWK when jsonwebtoken cannot derive it (EC keys from openssl's PKCS#8).
    public: Option<Value>,
}

impl Signer {
    fn rsa(dir: &Path, kid: &str) -> Self {
        let pem = dir.join(format!("{kid}.pem"));
        let der = dir.join(format!("{kid}.der"));
        openssl(&["genrsa", "-out", pem.to_str().unwrap(), "2048"]);
        openssl(&[
            "rsa",
            "-in",
            pem.to_str().unwrap(),
            "-traditional",
            "-outform",
            "DER",
            "-out",
            der.to_str().unwrap(),
        ]);
        let key = EncodingKey::from_rsa_der(&std::fs::read(der).unwrap());
        Self { key, alg: Algorithm::RS256, kid: kid.into(), public: None }
    }

    fn ec(dir: &Path, kid: &str) -> Self {
        let (sec1, der, public) =
            (dir.join(format!("{kid}.pem")), dir.join(format!("{kid}.der")), dir.join(format!("{kid}.pub.der")));
        let (sec1_path, der_path, public_path) =
            (sec1.to_str().unwrap(), der.to_str().unwrap(), public.to_str().unwrap());
        openssl(&["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", sec1_path]);
        // PKCS#8 as the signer reads it (`genpkey -outform DER` would write SEC1).
        openssl(&["pkcs8", "-topk8", "-nocrypt", "-in", sec1_path, "-outform", "DER", "-out", der_path]);
        openssl(&["ec", "-in", sec1_path, "-pubout", "-outform", "DER", "-out", public_path]);
        // A P-256 SubjectPublicKeyInfo ends with the uncompressed point 04 || x || y.
        let spki = std::fs::read(public).unwrap();
        let point = &spki[spki.len() - 65..];
        assert_eq!(point[0], 4);
        let jwk = json!({"kty": "EC", "crv": "P-256", "alg": "ES256",
                         "x": URL_SAFE_NO_PAD.encode(&point[1..33]), "y": URL_SAFE_NO_PAD.encode(&point[33..])});
        let key = EncodingKey::from_ec_der(&std::fs::read(der).unwrap());
        Self { key, alg: Algorithm::ES256, kid: kid.into(), public: Some(jwk) }
    }

    /// The public half as a JWK with this signer's kid.
    fn jwk(&self) -> Value {
        let mut jwk = match &self.public {
            Some(jwk) => jwk.clone(),
            None => serde_json::to_value(Jwk::from_encoding_key(&self.key, self.alg).unwrap()).unwrap(),
        };
        jwk["kid"] = json!(self.kid);
        jwk["use"] = json!("sig");
        jwk
    }

    fn sign(&self, claims: &Value) -> String {
        self.sign_as(&self.kid, claims)
    }

    /// Sign under another kid (a forged or unknown one).
    fn sign_as(&self, kid: &str, claims: &Value) -> String {
        let mut header = Header::new(self.alg);
        header.kid = Some(kid.to_owned());
        jsonwebtoken::encode(&header, claims, &self.key).unwrap()
    }
}

fn openssl(args: &[&str]) {
    let out = std::process::Command::new("openssl").args(args).output().expect("the openssl CLI");
    assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

fn now() -> i64 {
    i64::try_from(SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()).unwrap()
}

/// Claims of a token valid for 10 minutes, with `scope`.
fn claims(scope: &str) -> Value {
    json!({"iss": ISSUER, "sub": "alice", "aud": [RESOURCE, "https://other.test"], "exp": now() + 600,
           "iat": now(), "nbf": now() - 5, "scope": scope})
}

/// A real JWKS endpoint on 127.0.0.1 that counts its fetches.
struct JwksServer {
    url: String,
    keys: Arc<Mutex<Vec<Value>>>,
    fetches: Arc<AtomicUsize>,
}

async fn jwks_server(keys: Vec<Value>) -> JwksServer {
    let keys = Arc::new(Mutex::new(keys));
    let fetches = Arc::new(AtomicUsize::new(0));
    let (served, counted) = (Arc::clone(&keys), Arc::clone(&fetches));
    let app = Router::new().route(
        "/jwks",
        get(move || {
            counted.fetch_add(1, Ordering::SeqCst);
            let body = json!({"keys": served.lock().unwrap().clone()});
            async move { ([("cache-control", "public, max-age=300")], axum::Json(body)) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/jwks", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    JwksServer { url, keys, fetches }
}

async fn start(services: &common::Services, store: &StoreTarget, jwks: &JwksServer) -> HttpServer {
    let env = [
        ("CRAWLRAG_AUTH_CACHE_SECS", "0"),
        ("CRAWLRAG_OAUTH_JWKS_URL", jwks.url.as_str()),
        ("CRAWLRAG_OAUTH_ISSUER", ISSUER),
        ("CRAWLRAG_PUBLIC_URL", RESOURCE),
    ];
    HttpServer::start_env(services, store, &env).await
}

async fn post_mcp(http: &reqwest::Client, base: &str, token: Option<&str>, body: &Value) -> reqwest::Response {
    let mut request = http
        .post(format!("{base}/mcp"))
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "application/json")
        .json(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}

fn challenge(response: &reqwest::Response) -> String {
    response.headers().get("www-authenticate").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned()
}

fn tool_call(tool: &str, arguments: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": tool, "arguments": arguments}})
}

const LIST: &str = r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#;

/// Assert `token` is refused with 401 `invalid_token` and a description containing `says`.
async fn assert_refused(http: &reqwest::Client, base: &str, token: &str, says: &str) {
    let list: Value = serde_json::from_str(LIST).unwrap();
    let response = post_mcp(http, base, Some(token), &list).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{says}");
    let challenge = challenge(&response);
    assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
    assert!(challenge.contains(&format!("resource_metadata=\"{METADATA}\"")), "{challenge}");
    assert!(challenge.contains(says), "expected {says:?}: {challenge}");
    assert!(!challenge.contains(token), "the token is echoed: {challenge}");
}

both_stores!(oauth_tokens_guard_http_beside_api_keys);

async fn oauth_tokens_guard_http_beside_api_keys(backend: Backend) {
    let Some(services) = common::services() else { return };
    let store = StoreTarget::fresh(&services, backend, "oauth");
    let dir = tempfile::tempdir().unwrap();
    let (rsa, ec, forger) = (Signer::rsa(dir.path(), "k1"), Signer::ec(dir.path(), "e1"), Signer::rsa(dir.path(), "x"));
    let jwks = jwks_server(vec![rsa.jwk(), ec.jwk()]).await;
    let (code, created, err) =
        binary::run_cli(&services, &store, &["keys", "create", "--name", "beside", "--scopes", "read", "--json"]).await;
    assert_eq!(code, 0, "{err}");
    let api_key = created["key"].as_str().unwrap().to_owned();

    let server = start(&services, &store, &jwks).await;
    let http = reqwest::Client::new();
    let base = server.base.as_str();
    let list: Value = serde_json::from_str(LIST).unwrap();

    // No credential: 401 pointing at the metadata, no error code (nothing was presented).
    let missing = post_mcp(&http, base, None, &list).await;
    assert_eq!(missing.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(challenge(&missing), format!("Bearer realm=\"crawlrag\", resource_metadata=\"{METADATA}\""));

    // The metadata is open, at both forms of its path.
    for path in ["/.well-known/oauth-protected-resource", "/.well-known/oauth-protected-resource/mcp"] {
        let response = http.get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let doc: Value = response.json().await.unwrap();
        assert_eq!(doc["resource"], RESOURCE);
        assert_eq!(doc["authorization_servers"], json!([ISSUER]));
        assert_eq!(doc["scopes_supported"], json!(["read", "crawl", "admin"]));
        assert_eq!(doc["bearer_methods_supported"], json!(["header"]));
        assert_eq!(doc["resource_name"], "crawlrag");
    }
    let elsewhere = http.get(format!("{base}/.well-known/oauth-protected-resource/other")).send().await.unwrap();
    assert_eq!(elsewhere.status(), StatusCode::NOT_FOUND);

    // A read token: a query tool answers, a crawl tool is refused naming `crawl`.
    let read = rsa.sign(&claims("openid read"));
    let config = StreamableHttpClientTransportConfig::with_uri(format!("{base}/mcp")).auth_header(read.clone());
    let reader = ().serve(StreamableHttpClientTransport::from_config(config)).await.expect("initialize with a JWT");
    let sources = binary::call(&reader, "get_available_sources", json!({})).await.expect("read may list sources");
    assert!(!binary::is_error(&sources), "{:?}", binary::body(&sources));
    reader.cancel().await.unwrap();
    let crawl_call = tool_call("smart_crawl_url", json!({"url": "http://127.0.0.1:9/"}));
    let refused = post_mcp(&http, base, Some(&read), &crawl_call).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert!(challenge(&refused).contains("error=\"insufficient_scope\", scope=\"crawl\""), "{}", challenge(&refused));
    assert_eq!(
        refused.json::<Value>().await.unwrap(),
        json!({"error": "insufficient_scope", "required_scope": "crawl"})
    );

    // ES256 with the scope as a prefixed `scp` array passes the crawl check.
    let mut crawl_claims = claims("");
    crawl_claims["scp"] = json!(["crawlrag:crawl"]);
    let passed = post_mcp(&http, base, Some(&ec.sign(&crawl_claims)), &crawl_call).await.status();
    assert!(passed != StatusCode::UNAUTHORIZED && passed != StatusCode::FORBIDDEN, "{passed}");

    // Refused tokens.
    let mut expired = claims("read");
    expired["exp"] = json!(now() - 120);
    expired["iat"] = json!(now() - 900);
    expired["nbf"] = json!(now() - 900);
    assert_refused(&http, base, &rsa.sign(&expired), "expired").await;
    // Signed by another key under the same kid.
    assert_refused(&http, base, &forger.sign_as("k1", &claims("admin")), "signature").await;
    let mut audience = claims("read");
    audience["aud"] = json!("https://other.test/mcp");
    assert_refused(&http, base, &rsa.sign(&audience), "not meant for this resource").await;
    let mut issuer = claims("read");
    issuer["iss"] = json!("https://evil.test");
    assert_refused(&http, base, &rsa.sign(&issuer), "another issuer").await;
    let mut future = claims("read");
    future["nbf"] = json!(now() + 600);
    assert_refused(&http, base, &rsa.sign(&future), "not valid yet").await;
    let mut no_sub = claims("read");
    no_sub.as_object_mut().unwrap().remove("sub");
    assert_refused(&http, base, &rsa.sign(&no_sub), "required claim").await;
    let b64 = |v: &Value| URL_SAFE_NO_PAD.encode(v.to_string());
    let unsigned = format!("{}.{}.", b64(&json!({"alg": "none", "typ": "JWT", "kid": "k1"})), b64(&claims("admin")));
    assert_refused(&http, base, &unsigned, "well-formed").await;
    let hmac = Signer {
        key: EncodingKey::from_secret(b"the public key as a secret").unwrap(),
        alg: Algorithm::HS256,
        kid: "k1".into(),
        public: None,
    };
    assert_refused(&http, base, &hmac.sign(&claims("admin")), "algorithm").await;
    assert_refused(&http, base, "not.a.jwt", "well-formed").await;

    // API keys keep working beside OAuth, and their use is recorded.
    let config = StreamableHttpClientTransportConfig::with_uri(format!("{base}/mcp")).auth_header(api_key.clone());
    let keyed = ().serve(StreamableHttpClientTransport::from_config(config)).await.expect("initialize with a key");
    let sources = binary::call(&keyed, "get_available_sources", json!({})).await.expect("a read key lists sources");
    assert!(!binary::is_error(&sources));
    keyed.cancel().await.unwrap();
    let mut last_used = Value::Null;
    for _ in 0..50 {
        let (code, listed, err) = binary::run_cli(&services, &store, &["keys", "list", "--json"]).await;
        assert_eq!(code, 0, "{err}");
        last_used = listed[0]["last_used_at"].clone();
        if !last_used.is_null() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(last_used.is_string(), "last_used_at was never written");

    // Failures by reason, read with an admin token.
    let admin = rsa.sign(&claims("crawlrag:admin"));
    let text = http.get(format!("{base}/metrics")).bearer_auth(&admin).send().await.unwrap().text().await.unwrap();
    for reason in ["missing", "expired", "bad_signature", "wrong_audience", "wrong_issuer", "disallowed_algorithm"] {
        let label = format!("reason=\"{reason}\"");
        assert!(
            text.lines().any(|l| l.starts_with("crawlrag_auth_failures_total") && l.contains(&label)),
            "{reason} not counted:\n{text}"
        );
    }
    assert_eq!(jwks.fetches.load(Ordering::SeqCst), 1, "one fetch serves every kid it holds");
}

/// A kid that appears in the JWKS after the server fetched it is accepted after a refetch, but
/// unknown kids refetch at most once per 30 s (forged kids cannot make the server hammer the
/// issuer).
#[tokio::test]
async fn rotated_keys_are_accepted_after_a_bounded_refetch() {
    let Some(services) = common::services() else { return };
    let store = StoreTarget::fresh(&services, Backend::Sqlite, "oauth_rotation");
    let dir = tempfile::tempdir().unwrap();
    let (old, new) = (Signer::rsa(dir.path(), "old"), Signer::rsa(dir.path(), "new"));
    let jwks = jwks_server(vec![old.jwk()]).await;
    let server = start(&services, &store, &jwks).await;
    let http = reqwest::Client::new();
    let base = server.base.as_str();
    let list: Value = serde_json::from_str(LIST).unwrap();

    let first = post_mcp(&http, base, Some(&old.sign(&claims("read"))), &list).await.status();
    let fetched_at = Instant::now();
    assert!(first != StatusCode::UNAUTHORIZED && first != StatusCode::FORBIDDEN, "{first}");
    assert_eq!(jwks.fetches.load(Ordering::SeqCst), 1);

    // The issuer rotates: the new kid is unknown to the cached set, and within 30 s of the last
    // fetch neither it nor a stream of forged kids makes the server fetch again.
    jwks.keys.lock().unwrap().push(new.jwk());
    let rotated = new.sign(&claims("read"));
    assert_refused(&http, base, &rotated, "kid").await;
    for i in 0..20 {
        assert_refused(&http, base, &new.sign_as(&format!("forged-{i}"), &claims("read")), "kid").await;
    }
    assert_eq!(jwks.fetches.load(Ordering::SeqCst), 1, "unknown kids refetch at most once per 30 s");
    let wait = Duration::from_secs(31).saturating_sub(fetched_at.elapsed());
    tokio::time::sleep(wait).await;
    let accepted = post_mcp(&http, base, Some(&rotated), &list).await.status();
    assert!(accepted != StatusCode::UNAUTHORIZED && accepted != StatusCode::FORBIDDEN, "{accepted}");
    assert_eq!(jwks.fetches.load(Ordering::SeqCst), 2, "one refetch found the new kid");
}
