//! OAuth 2.1 bearer tokens as pure rules: the public keys of a JWKS (RFC 7517), why a token is
//! refused (a fixed set, so the failure metric stays bounded), the scopes a token grants (`scope`
//! per RFC 8693/9068 or `scp`; `read`, `crawl`, `admin`, also prefixed `crawlrag:`), the stable
//! caller id of a token's principal, the RFC 9728 protected-resource metadata and its URL, and
//! the `WWW-Authenticate` challenge of RFC 6750 §3.

use serde::Deserialize;
use serde_json::{Value, json};
use url::Url;

use super::api_key::Scope;

/// Prefix a scope may carry in tokens shared with other resources (`crawlrag:read`).
pub const SCOPE_PREFIX: &str = "crawlrag:";
/// Greatest clock skew tolerated on `exp`, `nbf` and `iat`, in seconds.
pub const MAX_LEEWAY_SECS: u64 = 60;
/// Largest token looked at (bigger ones are refused before any parsing).
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;
/// Path of the RFC 9728 metadata document.
pub const METADATA_PATH: &str = "/.well-known/oauth-protected-resource";

/// One public key of a JWKS: only the members needed to verify a signature.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PublicJwk {
    pub kid: Option<String>,
    /// `RSA`, `EC` or `OKP`.
    pub kty: String,
    /// The one algorithm the key is for, when the issuer says.
    pub alg: Option<String>,
    /// `sig` or `enc`; keys for encryption never verify tokens.
    #[serde(rename = "use")]
    pub use_: Option<String>,
    /// RSA modulus and exponent (base64url).
    pub n: Option<String>,
    pub e: Option<String>,
    /// EC / OKP curve and coordinates (base64url).
    pub crv: Option<String>,
    pub x: Option<String>,
    pub y: Option<String>,
}

impl PublicJwk {
    /// Whether this key may verify a token signed with `alg` (a JWS name such as `RS256`): the key
    /// type and curve must fit the algorithm, and a key naming its algorithm allows only that one.
    /// This is what stops a key from being used with an algorithm its issuer never meant.
    pub fn fits(&self, alg: &str) -> bool {
        if self.use_.as_deref().is_some_and(|u| u != "sig") || self.alg.as_deref().is_some_and(|a| a != alg) {
            return false;
        }
        match alg {
            "RS256" | "RS384" | "RS512" | "PS256" | "PS384" | "PS512" => {
                self.kty == "RSA" && self.n.is_some() && self.e.is_some()
            }
            "ES256" => self.is_ec("P-256"),
            "ES384" => self.is_ec("P-384"),
            "EdDSA" => self.kty == "OKP" && self.crv.as_deref() == Some("Ed25519") && self.x.is_some(),
            _ => false,
        }
    }

    fn is_ec(&self, curve: &str) -> bool {
        self.kty == "EC" && self.crv.as_deref() == Some(curve) && self.x.is_some() && self.y.is_some()
    }
}

/// A JWKS document: `{"keys": [...]}`. Keys that do not parse are skipped, not fatal (issuers
/// publish key types this build cannot use).
pub fn parse_key_set(body: &[u8]) -> Result<Vec<PublicJwk>, String> {
    let doc: Value = serde_json::from_slice(body).map_err(|e| format!("not JSON: {e}"))?;
    let keys = doc.get("keys").and_then(Value::as_array).ok_or("no \"keys\" array")?;
    Ok(keys.iter().filter_map(|k| serde_json::from_value::<PublicJwk>(k.clone()).ok()).collect())
}

/// The key among `keys` for a token's `kid`; a token without `kid` may use the one key that
/// fits its algorithm when there is exactly one.
pub fn select_key<'a>(keys: &'a [PublicJwk], kid: Option<&str>, alg: &str) -> Option<&'a PublicJwk> {
    match kid {
        Some(kid) => keys.iter().find(|k| k.kid.as_deref() == Some(kid)),
        None => {
            let mut fitting = keys.iter().filter(|k| k.fits(alg));
            let one = fitting.next()?;
            fitting.next().is_none().then_some(one)
        }
    }
}

/// Why a presented JWT is refused. Each maps to one metric label and one fixed description
/// (never the token's contents).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenRejection {
    /// Not a JWT, too large, or claims of the wrong type.
    Malformed,
    /// Signed with an algorithm outside the allow-list (`none`, `HS256`, ...).
    DisallowedAlgorithm,
    /// No key of the issuer's set has the token's `kid`.
    UnknownKey,
    /// The key for the `kid` is of another type or algorithm than the token says.
    KeyMismatch,
    BadSignature,
    Expired,
    /// `nbf` or `iat` lies in the future (beyond the leeway).
    NotYetValid,
    WrongIssuer,
    WrongAudience,
    /// `exp`, `iss`, `aud` or `sub` is missing.
    MissingClaim,
}

impl TokenRejection {
    /// The label of `crawlrag_auth_failures_total{reason}`.
    pub fn reason(self) -> &'static str {
        match self {
            Self::Malformed => "invalid_token",
            Self::DisallowedAlgorithm => "disallowed_algorithm",
            Self::UnknownKey => "unknown_kid",
            Self::KeyMismatch => "key_mismatch",
            Self::BadSignature => "bad_signature",
            Self::Expired => "expired",
            Self::NotYetValid => "not_yet_valid",
            Self::WrongIssuer => "wrong_issuer",
            Self::WrongAudience => "wrong_audience",
            Self::MissingClaim => "missing_claim",
        }
    }

    /// `error_description` of the challenge (no quotes or backslashes: it is a quoted-string).
    pub fn description(self) -> &'static str {
        match self {
            Self::Malformed => "the token is not a well-formed JWT",
            Self::DisallowedAlgorithm => "the token's signing algorithm is not accepted",
            Self::UnknownKey => "no key of the issuer matches the token's kid",
            Self::KeyMismatch => "the issuer's key does not fit the token's algorithm",
            Self::BadSignature => "the token's signature does not verify",
            Self::Expired => "the token has expired",
            Self::NotYetValid => "the token is not valid yet",
            Self::WrongIssuer => "the token comes from another issuer",
            Self::WrongAudience => "the token is not meant for this resource",
            Self::MissingClaim => "the token lacks a required claim (exp, iss, aud, sub)",
        }
    }
}

/// The scopes a token grants, from `scope` (space-separated string) and `scp` (array, or a
/// space-separated string as some issuers send). Unknown names grant nothing.
pub fn token_scopes(scope: Option<&Value>, scp: Option<&Value>) -> Vec<Scope> {
    let mut names: Vec<&str> = Vec::new();
    for claim in [scope, scp].into_iter().flatten() {
        match claim {
            Value::String(s) => names.extend(s.split_whitespace()),
            Value::Array(items) => names.extend(items.iter().filter_map(Value::as_str)),
            Value::Null | Value::Bool(_) | Value::Number(_) | Value::Object(_) => {}
        }
    }
    let mut scopes: Vec<Scope> =
        names.into_iter().filter_map(|n| Scope::parse(n.strip_prefix(SCOPE_PREFIX).unwrap_or(n)).ok()).collect();
    scopes.sort();
    scopes.dedup();
    scopes
}

/// The stable id of a token's principal: issuer and subject, never the token.
pub fn caller_id(issuer: &str, subject: &str) -> String {
    format!("jwt:{issuer}#{subject}")
}

/// Whether `iat` (seconds since the epoch) lies further in the future than `leeway` at `now`.
pub fn issued_in_future(iat: Option<u64>, now: u64, leeway: u64) -> bool {
    iat.is_some_and(|iat| iat > now.saturating_add(leeway))
}

/// Whether `url` is https, or http to this machine (OAuth endpoints need TLS, but for an issuer
/// or a server on loopback).
pub fn tls_unless_loopback(url: &Url) -> bool {
    let loopback = matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    url.scheme() == "https" || (url.scheme() == "http" && loopback)
}

/// Check this server's canonical resource URL (`CRAWLRAG_PUBLIC_URL`): absolute http(s), no
/// query or fragment (RFC 8707 §2), https unless the host is loopback.
///
/// # Errors
/// A message saying what is wrong.
pub fn check_resource_url(text: &str) -> Result<Url, String> {
    let url = Url::parse(text).map_err(|e| format!("{text:?} is not an absolute URL: {e}"))?;
    if !tls_unless_loopback(&url) {
        return Err(format!("{text:?}: scheme {} (https is required off loopback)", url.scheme()));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!("{text:?}: a resource URL has no query or fragment"));
    }
    Ok(url)
}

/// The metadata URL of `resource` (RFC 9728 §3.1): the well-known path inserted between the
/// host and the resource's path (`https://h/mcp` -> `https://h/.well-known/oauth-protected-resource/mcp`).
pub fn metadata_url(resource: &Url) -> String {
    let mut origin = resource.origin().ascii_serialization();
    origin.push_str(METADATA_PATH);
    let path = resource.path().trim_end_matches('/');
    if !path.is_empty() {
        origin.push_str(path);
    }
    origin
}

/// The RFC 9728 protected-resource metadata document.
pub fn resource_metadata(resource: &str, authorization_servers: &[String]) -> Value {
    json!({
        "resource": resource,
        "authorization_servers": authorization_servers,
        "scopes_supported": [Scope::Read.as_str(), Scope::Crawl.as_str(), Scope::Admin.as_str()],
        "bearer_methods_supported": ["header"],
        "resource_name": "crawlrag",
    })
}

/// The `WWW-Authenticate` value of a 401: the realm, the metadata URL when one is configured,
/// and the error of a refused token (RFC 6750 §3).
pub fn challenge(metadata_url: Option<&str>, refused: Option<&str>) -> String {
    let mut value = String::from("Bearer realm=\"crawlrag\"");
    if let Some(url) = metadata_url {
        value.push_str(&format!(", resource_metadata=\"{url}\""));
    }
    if let Some(description) = refused {
        value.push_str(&format!(", error=\"invalid_token\", error_description=\"{description}\""));
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rsa(kid: &str) -> PublicJwk {
        PublicJwk {
            kid: Some(kid.into()),
            kty: "RSA".into(),
            alg: None,
            use_: None,
            n: Some("n".into()),
            e: Some("AQAB".into()),
            crv: None,
            x: None,
            y: None,
        }
    }

    #[test]
    fn scopes_come_from_scope_or_scp_with_or_without_prefix() {
        let scope = json!("openid crawlrag:crawl profile");
        assert_eq!(token_scopes(Some(&scope), None), vec![Scope::Crawl]);
        let scp = json!(["read", "admin", "write"]);
        assert_eq!(token_scopes(None, Some(&scp)), vec![Scope::Read, Scope::Admin]);
        assert_eq!(token_scopes(Some(&json!("read")), Some(&json!("crawlrag:read"))), vec![Scope::Read]);
        assert!(token_scopes(Some(&json!(42)), None).is_empty());
        assert!(token_scopes(Some(&json!("Read crawlrag:")), None).is_empty(), "names are exact");
    }

    #[test]
    fn keys_fit_only_their_algorithm_family() {
        let key = rsa("a");
        assert!(key.fits("RS256") && key.fits("PS384"));
        assert!(!key.fits("ES256") && !key.fits("HS256") && !key.fits("none"));
        let pinned = PublicJwk { alg: Some("RS256".into()), ..rsa("b") };
        assert!(pinned.fits("RS256") && !pinned.fits("RS512"));
        let enc = PublicJwk { use_: Some("enc".into()), ..rsa("c") };
        assert!(!enc.fits("RS256"));
        let ec = PublicJwk {
            kty: "EC".into(),
            crv: Some("P-256".into()),
            x: Some("x".into()),
            y: Some("y".into()),
            n: None,
            e: None,
            ..rsa("d")
        };
        assert!(ec.fits("ES256") && !ec.fits("ES384") && !ec.fits("RS256"));
    }

    #[test]
    fn keys_are_selected_by_kid_or_as_the_only_fitting_one() {
        let keys = vec![rsa("a"), rsa("b")];
        assert_eq!(select_key(&keys, Some("b"), "RS256"), Some(&keys[1]));
        assert_eq!(select_key(&keys, Some("z"), "RS256"), None);
        assert_eq!(select_key(&keys, None, "RS256"), None, "ambiguous without kid");
        assert_eq!(select_key(&keys[..1], None, "RS256"), Some(&keys[0]));
        assert_eq!(select_key(&keys[..1], None, "ES256"), None);
    }

    #[test]
    fn key_sets_skip_what_they_cannot_read() {
        let body = br#"{"keys":[{"kid":"a","kty":"RSA","n":"n","e":"AQAB"},{"kid":7},{"kty":"oct","k":"s"}]}"#;
        let keys = parse_key_set(body).unwrap();
        assert_eq!(keys.len(), 2);
        assert_eq!(keys[0].kid.as_deref(), Some("a"));
        assert!(parse_key_set(b"[]").is_err());
        assert!(parse_key_set(b"nope").is_err());
    }

    #[test]
    fn metadata_url_inserts_the_well_known_path() {
        let url = |s: &str| metadata_url(&Url::parse(s).unwrap());
        assert_eq!(
            url("https://rag.example.com/mcp"),
            "https://rag.example.com/.well-known/oauth-protected-resource/mcp"
        );
        assert_eq!(url("https://rag.example.com/"), "https://rag.example.com/.well-known/oauth-protected-resource");
        assert_eq!(
            url("http://127.0.0.1:8051/a/mcp/"),
            "http://127.0.0.1:8051/.well-known/oauth-protected-resource/a/mcp"
        );
    }

    #[test]
    fn resource_urls_must_be_https_off_loopback() {
        assert!(check_resource_url("https://rag.example.com/mcp").is_ok());
        assert!(check_resource_url("http://127.0.0.1:8051/mcp").is_ok());
        assert!(check_resource_url("http://rag.example.com/mcp").is_err());
        assert!(check_resource_url("https://rag.example.com/mcp?x=1").is_err());
        assert!(check_resource_url("https://rag.example.com/mcp#f").is_err());
        assert!(check_resource_url("/mcp").is_err());
    }

    #[test]
    fn challenges_and_time_rules() {
        assert_eq!(challenge(None, None), "Bearer realm=\"crawlrag\"");
        let refused =
            challenge(Some("https://h/.well-known/oauth-protected-resource/mcp"), Some("the token has expired"));
        assert_eq!(
            refused,
            "Bearer realm=\"crawlrag\", resource_metadata=\"https://h/.well-known/oauth-protected-resource/mcp\", \
             error=\"invalid_token\", error_description=\"the token has expired\""
        );
        assert!(!issued_in_future(None, 100, 60));
        assert!(!issued_in_future(Some(160), 100, 60));
        assert!(issued_in_future(Some(161), 100, 60));
        assert_eq!(caller_id("https://idp", "alice"), "jwt:https://idp#alice");
        for rejection in [TokenRejection::Expired, TokenRejection::WrongAudience, TokenRejection::MissingClaim] {
            assert!(!rejection.description().contains(['"', '\\']));
        }
    }

    #[test]
    fn metadata_document_names_the_resource_and_servers() {
        let doc = resource_metadata("https://h/mcp", &["https://idp".to_owned()]);
        assert_eq!(doc["resource"], "https://h/mcp");
        assert_eq!(doc["authorization_servers"], json!(["https://idp"]));
        assert_eq!(doc["scopes_supported"], json!(["read", "crawl", "admin"]));
        assert_eq!(doc["bearer_methods_supported"], json!(["header"]));
    }
}
