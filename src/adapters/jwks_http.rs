//! `TokenKeys` over HTTP: the issuer's JWKS fetched with reqwest and cached. The set is kept for
//! its `Cache-Control: max-age` (5 min without one, clamped to 30 s..24 h). A `kid` the set does
//! not hold refetches it, but at most once per 30 s, so tokens with forged kids cannot turn this
//! server into an amplifier against the issuer. A failed refetch keeps serving the keys already
//! known. Responses are bounded (256 KiB, 5 s, no redirects).

use std::time::{Duration, Instant};

use async_trait::async_trait;
use reqwest::header::CACHE_CONTROL;
use tokio::sync::Mutex;
use url::Url;

use crate::domain::oauth::{PublicJwk, parse_key_set, select_key};
use crate::ports::{TokenKeys, TokenKeysError};

/// How long a key set is kept when the issuer says nothing.
pub const DEFAULT_KEY_SET_TTL: Duration = Duration::from_secs(300);
/// Least time between two fetches caused by unknown kids (or failures).
pub const MIN_REFETCH_INTERVAL: Duration = Duration::from_secs(30);
const MAX_KEY_SET_TTL: Duration = Duration::from_secs(24 * 3600);
const MAX_KEY_SET_BYTES: usize = 256 * 1024;
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, Default)]
struct Cached {
    keys: Vec<PublicJwk>,
    /// Until when the set is trusted without asking again; `None`: never fetched.
    fresh_until: Option<Instant>,
    /// The last fetch tried, successful or not.
    last_attempt: Option<Instant>,
}

/// The JWKS at one URL, cached.
#[derive(Debug)]
pub struct HttpJwks {
    url: Url,
    client: reqwest::Client,
    // A tokio mutex held across the fetch: concurrent requests for an unknown kid wait for one
    // fetch instead of starting one each.
    cached: Mutex<Cached>,
}

impl HttpJwks {
    /// # Errors
    /// When the HTTP client cannot be built.
    pub fn new(url: Url) -> Result<Self, TokenKeysError> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(FETCH_TIMEOUT)
            .connect_timeout(FETCH_TIMEOUT)
            .build()
            .map_err(|e| TokenKeysError::Unavailable(format!("HTTP client: {e}")))?;
        Ok(Self { url, client, cached: Mutex::default() })
    }

    /// Fetch the set: the keys and how long they may be kept.
    async fn fetch(&self) -> Result<(Vec<PublicJwk>, Duration), String> {
        let mut response = self.client.get(self.url.clone()).send().await.map_err(|e| e.to_string())?;
        if !response.status().is_success() {
            return Err(format!("HTTP {}", response.status()));
        }
        if response.content_length().is_some_and(|n| n > MAX_KEY_SET_BYTES as u64) {
            return Err(format!("key set larger than {MAX_KEY_SET_BYTES} bytes"));
        }
        let ttl = response
            .headers()
            .get(CACHE_CONTROL)
            .and_then(|v| v.to_str().ok())
            .and_then(max_age)
            .unwrap_or(DEFAULT_KEY_SET_TTL)
            .clamp(MIN_REFETCH_INTERVAL, MAX_KEY_SET_TTL);
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| e.to_string())? {
            if body.len() + chunk.len() > MAX_KEY_SET_BYTES {
                return Err(format!("key set larger than {MAX_KEY_SET_BYTES} bytes"));
            }
            body.extend_from_slice(&chunk);
        }
        Ok((parse_key_set(&body)?, ttl))
    }
}

#[async_trait]
impl TokenKeys for HttpJwks {
    #[tracing::instrument(skip(self), fields(jwks = %self.url))]
    async fn key(&self, kid: Option<&str>, alg: &str) -> Result<Option<PublicJwk>, TokenKeysError> {
        let mut cached = self.cached.lock().await;
        let now = Instant::now();
        let fresh = cached.fresh_until.is_some_and(|until| now < until);
        if fresh && let Some(key) = select_key(&cached.keys, kid, alg) {
            return Ok(Some(key.clone()));
        }
        // Stale, never fetched, or an unknown kid: fetch again unless one was tried too recently.
        let may_fetch = cached.last_attempt.is_none_or(|at| now.duration_since(at) >= MIN_REFETCH_INTERVAL);
        if may_fetch {
            cached.last_attempt = Some(now);
            match self.fetch().await {
                Ok((keys, ttl)) => {
                    tracing::debug!(keys = keys.len(), ttl_secs = ttl.as_secs(), "fetched the issuer's key set");
                    cached.keys = keys;
                    cached.fresh_until = Some(Instant::now() + ttl);
                }
                Err(error) => tracing::warn!(%error, "could not fetch the issuer's key set"),
            }
        }
        if cached.fresh_until.is_none() {
            return Err(TokenKeysError::Unavailable(format!("{} could not be fetched", self.url)));
        }
        Ok(select_key(&cached.keys, kid, alg).cloned())
    }
}

/// `max-age` of a `Cache-Control` value; `no-store`/`no-cache` count as zero (then clamped up).
fn max_age(value: &str) -> Option<Duration> {
    let mut age = None;
    for directive in value.split(',').map(str::trim) {
        let lower = directive.to_ascii_lowercase();
        if lower == "no-store" || lower == "no-cache" {
            return Some(Duration::ZERO);
        }
        if let Some(secs) = lower.strip_prefix("max-age=") {
            age = secs.trim_matches('"').parse().ok().map(Duration::from_secs);
        }
    }
    age
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_control_max_age() {
        assert_eq!(max_age("public, max-age=600"), Some(Duration::from_secs(600)));
        assert_eq!(max_age("Max-Age=\"60\", must-revalidate"), Some(Duration::from_secs(60)));
        assert_eq!(max_age("no-store"), Some(Duration::ZERO));
        assert_eq!(max_age("public"), None);
        assert_eq!(max_age("max-age=soon"), None);
    }
}
