//! OAuth 2.1 access tokens (JWT, RFC 9068) on the HTTP transport: a token is checked against the
//! issuer's key set ([`TokenKeys`]) with `jsonwebtoken`. The header's `alg` must be on the
//! allow-list (asymmetric only: `none` and HS* can never be configured, so a public key can never
//! serve as an HMAC secret), the key is the JWK with the token's `kid` and must fit that
//! algorithm, then `iss` must equal the issuer, `aud` must contain this server's canonical URL
//! (RFC 8707, the MCP authorization spec), `exp` is required, and `nbf`/`iat` are honoured with a
//! leeway of at most 60 s. The rules a token is refused by are `domain::oauth`'s.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::Value;

use super::auth::Caller;
use crate::domain::oauth::{
    MAX_LEEWAY_SECS, MAX_TOKEN_BYTES, PublicJwk, TokenRejection, caller_id, issued_in_future, token_scopes,
};
use crate::ports::{TokenKeys, TokenKeysError};

/// Algorithms accepted when `CRAWLRAG_OAUTH_ALGORITHMS` is not set.
pub const DEFAULT_ALGORITHMS: &str = "RS256,ES256";

/// The asymmetric JWS algorithms that may be allowed, by their JWS names (HMAC and `none` are
/// absent: they can never be configured).
const ASYMMETRIC: [(&str, Algorithm); 9] = [
    ("RS256", Algorithm::RS256),
    ("RS384", Algorithm::RS384),
    ("RS512", Algorithm::RS512),
    ("PS256", Algorithm::PS256),
    ("PS384", Algorithm::PS384),
    ("PS512", Algorithm::PS512),
    ("ES256", Algorithm::ES256),
    ("ES384", Algorithm::ES384),
    ("EdDSA", Algorithm::EdDSA),
];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OAuthConfigError {
    #[error("{0:?} is not an accepted token algorithm (use RS256/384/512, PS256/384/512, ES256/384 or EdDSA)")]
    Algorithm(String),
    #[error("no token algorithm is allowed")]
    NoAlgorithm,
}

/// Parse the allow-list: asymmetric JWS algorithms only.
///
/// # Errors
/// [`OAuthConfigError`] for `none`, any HS*, an unknown name or an empty list.
pub fn parse_algorithms(names: &[String]) -> Result<Vec<Algorithm>, OAuthConfigError> {
    let mut algorithms = Vec::new();
    for name in names.iter().map(|n| n.trim()).filter(|n| !n.is_empty()) {
        let algorithm = ASYMMETRIC
            .iter()
            .find_map(|(known, algorithm)| (*known == name).then_some(*algorithm))
            .ok_or_else(|| OAuthConfigError::Algorithm(name.to_owned()))?;
        if !algorithms.contains(&algorithm) {
            algorithms.push(algorithm);
        }
    }
    if algorithms.is_empty() {
        return Err(OAuthConfigError::NoAlgorithm);
    }
    Ok(algorithms)
}

/// What the issuer and this resource require of a token.
#[derive(Debug, Clone)]
pub struct TokenPolicy {
    /// `iss` must equal this.
    pub issuer: String,
    /// `aud` must contain this: the canonical resource URL.
    pub audience: String,
    pub algorithms: Vec<Algorithm>,
}

/// Why a bearer token did not authenticate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BearerFailure {
    /// The token is refused (401).
    Refused(TokenRejection),
    /// The key set cannot be had (503): not the caller's fault.
    Unavailable(String),
}

/// The claims read beside those `jsonwebtoken` validates (optional here, so a missing one is
/// told apart from a malformed token).
#[derive(Debug, Deserialize)]
struct Claims {
    iss: Option<String>,
    sub: Option<String>,
    iat: Option<u64>,
    scope: Option<Value>,
    scp: Option<Value>,
}

/// Checks bearer tokens against a policy and a key set.
#[derive(Debug, Clone)]
pub struct BearerVerifier {
    keys: Arc<dyn TokenKeys>,
    policy: TokenPolicy,
}

impl BearerVerifier {
    pub fn new(keys: Arc<dyn TokenKeys>, policy: TokenPolicy) -> Self {
        Self { keys, policy }
    }

    /// Who the token speaks for, or why it is refused.
    pub async fn verify(&self, token: &str) -> Result<Caller, BearerFailure> {
        use BearerFailure::Refused;
        if token.len() > MAX_TOKEN_BYTES {
            return Err(Refused(TokenRejection::Malformed));
        }
        // `alg: none` (and any name jsonwebtoken does not know) fails to parse here.
        let header = jsonwebtoken::decode_header(token).map_err(|_| Refused(TokenRejection::Malformed))?;
        if !self.policy.algorithms.contains(&header.alg) {
            return Err(Refused(TokenRejection::DisallowedAlgorithm));
        }
        let alg = algorithm_name(header.alg);
        let jwk = match self.keys.key(header.kid.as_deref(), alg).await {
            Ok(Some(jwk)) => jwk,
            Ok(None) => return Err(Refused(TokenRejection::UnknownKey)),
            Err(TokenKeysError::Unavailable(reason)) => return Err(BearerFailure::Unavailable(reason)),
        };
        if !jwk.fits(alg) {
            return Err(Refused(TokenRejection::KeyMismatch));
        }
        let key = decoding_key(&jwk).ok_or(Refused(TokenRejection::KeyMismatch))?;
        let data = jsonwebtoken::decode::<Claims>(token, &key, &self.validation(header.alg))
            .map_err(|e| Refused(rejection(e.kind())))?;
        let claims = data.claims;
        let (Some(issuer), Some(subject)) = (claims.iss.as_deref(), claims.sub.as_deref()) else {
            return Err(Refused(TokenRejection::MissingClaim));
        };
        if issued_in_future(claims.iat, now_secs(), MAX_LEEWAY_SECS) {
            return Err(Refused(TokenRejection::NotYetValid));
        }
        Ok(Caller { id: caller_id(issuer, subject), scopes: token_scopes(claims.scope.as_ref(), claims.scp.as_ref()) })
    }

    fn validation(&self, alg: Algorithm) -> Validation {
        let mut validation = Validation::new(alg);
        validation.leeway = MAX_LEEWAY_SECS;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.validate_aud = true;
        validation.set_issuer(&[&self.policy.issuer]);
        validation.set_audience(&[&self.policy.audience]);
        validation.required_spec_claims =
            ["exp", "iss", "aud", "sub"].into_iter().map(String::from).collect::<HashSet<_>>();
        validation
    }
}

/// The key `jwk` describes (its fit to the algorithm is checked before).
fn decoding_key(jwk: &PublicJwk) -> Option<DecodingKey> {
    match jwk.kty.as_str() {
        "RSA" => DecodingKey::from_rsa_components(jwk.n.as_deref()?, jwk.e.as_deref()?).ok(),
        "EC" => DecodingKey::from_ec_components(jwk.x.as_deref()?, jwk.y.as_deref()?).ok(),
        "OKP" => DecodingKey::from_ed_components(jwk.x.as_deref()?).ok(),
        _ => None,
    }
}

/// The JWS name of `alg`; HMAC (never on the allow-list) gets a name that fits no key.
fn algorithm_name(alg: Algorithm) -> &'static str {
    ASYMMETRIC.iter().find(|(_, known)| *known == alg).map_or("unsupported", |(name, _)| name)
}

/// The rejection a `jsonwebtoken` failure stands for.
#[allow(clippy::wildcard_enum_match_arm)] // ErrorKind is non-exhaustive
fn rejection(kind: &ErrorKind) -> TokenRejection {
    match kind {
        ErrorKind::ExpiredSignature => TokenRejection::Expired,
        ErrorKind::ImmatureSignature => TokenRejection::NotYetValid,
        ErrorKind::InvalidIssuer => TokenRejection::WrongIssuer,
        ErrorKind::InvalidAudience => TokenRejection::WrongAudience,
        ErrorKind::InvalidSignature => TokenRejection::BadSignature,
        ErrorKind::MissingRequiredClaim(_) => TokenRejection::MissingClaim,
        ErrorKind::InvalidAlgorithm => TokenRejection::KeyMismatch,
        ErrorKind::InvalidEcdsaKey | ErrorKind::InvalidEddsaKey | ErrorKind::InvalidRsaKey(_) => {
            TokenRejection::KeyMismatch
        }
        // Shape, encoding and claim-type failures (ErrorKind is non-exhaustive).
        _ => TokenRejection::Malformed,
    }
}

fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_allow_list_refuses_none_and_hmac() {
        let names = |s: &str| s.split(',').map(String::from).collect::<Vec<_>>();
        assert_eq!(parse_algorithms(&names(DEFAULT_ALGORITHMS)), Ok(vec![Algorithm::RS256, Algorithm::ES256]));
        assert_eq!(parse_algorithms(&names("RS256, RS256,EdDSA")), Ok(vec![Algorithm::RS256, Algorithm::EdDSA]));
        assert_eq!(parse_algorithms(&names("none")), Err(OAuthConfigError::Algorithm("none".into())));
        assert_eq!(parse_algorithms(&names("RS256,HS256")), Err(OAuthConfigError::Algorithm("HS256".into())));
        assert_eq!(parse_algorithms(&names(" , ")), Err(OAuthConfigError::NoAlgorithm));
    }

    #[test]
    fn library_failures_map_to_bounded_reasons() {
        assert_eq!(rejection(&ErrorKind::ExpiredSignature), TokenRejection::Expired);
        assert_eq!(rejection(&ErrorKind::InvalidAudience), TokenRejection::WrongAudience);
        assert_eq!(rejection(&ErrorKind::MissingRequiredClaim("sub".into())), TokenRejection::MissingClaim);
        assert_eq!(rejection(&ErrorKind::InvalidToken), TokenRejection::Malformed);
    }
}
