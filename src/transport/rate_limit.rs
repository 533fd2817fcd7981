//! Rate limits on HTTP, two axum middlewares around authentication:
//! - [`limit_by_ip`], outside auth: every request counts against its client address, so
//!   requests refused with 401 (key guessing) are limited too. The client is the socket's peer;
//!   when that peer is a trusted proxy (`CRAWLRAG_TRUSTED_PROXIES`), it is the right-most
//!   `X-Forwarded-For` hop that is not a trusted proxy (hops to its left are client-written and
//!   could be forged). IPv6 clients count per /64, the block one host usually holds.
//! - [`limit_by_caller`], inside auth: an authenticated [`Caller`] counts against its own quota,
//!   and gets its [`JobOwner`] (id and crawl cap) put in the request for the jobs service.
//!   Requests without a caller (auth not enforced) are limited by address only.
//!
//! `/health` and `/ready` are never limited (probes). A refusal is 429 with `Retry-After` and
//! `RateLimit-*` headers and a JSON body naming the limit. The limiter is shared by every
//! replica when Redis is configured; when it cannot answer, requests pass (fail open, a warning
//! and `crawlrag_rate_limit_errors_total`) unless `CRAWLRAG_RATE_LIMIT_FAIL_OPEN=false`, which
//! answers 503 instead.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Json, Response};
use ipnet::IpNet;
use serde_json::json;

use super::auth::Caller;
use crate::domain::Secret;
use crate::domain::gcra::{Decision, Quota, QuotaError, ceil_secs, parse_quota};
use crate::jobs::JobOwner;
use crate::ports::RateLimiter;

/// Requests per client address by default.
pub const DEFAULT_IP_LIMIT: &str = "300/min";
/// Requests per authenticated caller by default.
pub const DEFAULT_CALLER_LIMIT: &str = "120/min";
/// Jobs one caller may have queued or running at once by default.
pub const DEFAULT_MAX_CRAWLS_PER_CALLER: u32 = 4;

const LIMIT: HeaderName = HeaderName::from_static("ratelimit-limit");
const REMAINING: HeaderName = HeaderName::from_static("ratelimit-remaining");
const RESET: HeaderName = HeaderName::from_static("ratelimit-reset");

/// A quota setting: `N/UNIT[,burst=B]`, or `0` / `off` for none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit(pub Option<Quota>);

impl FromStr for Limit {
    type Err = QuotaError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_quota(s).map(Self)
    }
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Some(quota) => quota.fmt(f),
            None => f.write_str("off"),
        }
    }
}

/// A trusted proxy: an address or a CIDR block (`10.0.0.0/8`, `::1`).
///
/// # Errors
/// A message naming the entry that is neither.
pub fn parse_trusted_proxy(text: &str) -> Result<IpNet, String> {
    let text = text.trim();
    text.parse::<IpNet>()
        .or_else(|_| text.parse::<IpAddr>().map(IpNet::from))
        .map_err(|_| format!("trusted proxy {text:?}: expected an IP address or a CIDR block such as 10.0.0.0/8"))
}

/// Settings of the HTTP rate limits.
#[derive(Debug, Clone)]
pub struct RateLimitOptions {
    /// Per client address, before authentication.
    pub per_ip: Option<Quota>,
    /// Per authenticated caller.
    pub per_caller: Option<Quota>,
    /// Peers whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<IpNet>,
    /// Let requests through when the limiter's store cannot answer.
    pub fail_open: bool,
    /// Jobs one caller may have queued or running at once; `None`: no cap.
    pub max_crawls_per_caller: Option<u32>,
    /// Share limits through this Redis (`REDIS_URL`); `None`: in this process.
    pub redis_url: Option<Secret>,
}

impl Default for RateLimitOptions {
    fn default() -> Self {
        Self {
            per_ip: parse_quota(DEFAULT_IP_LIMIT).ok().flatten(),
            per_caller: parse_quota(DEFAULT_CALLER_LIMIT).ok().flatten(),
            trusted_proxies: Vec::new(),
            fail_open: true,
            max_crawls_per_caller: Some(DEFAULT_MAX_CRAWLS_PER_CALLER),
            redis_url: None,
        }
    }
}

/// The middlewares' state.
#[derive(Debug, Clone)]
pub struct RateLimitState {
    limiter: Arc<dyn RateLimiter>,
    options: Arc<RateLimitOptions>,
}

impl RateLimitState {
    pub fn new(limiter: Arc<dyn RateLimiter>, options: RateLimitOptions) -> Self {
        Self { limiter, options: Arc::new(options) }
    }

    /// Check `key`; answers the refusal to send, if any, and the decision for the headers.
    async fn check(&self, which: &'static str, key: &str, quota: &Quota) -> Result<Option<Decision>, Response> {
        match self.limiter.check(key, quota).await {
            Ok(decision) if decision.allowed => Ok(Some(decision)),
            Ok(decision) => {
                metrics::counter!("crawlrag_rate_limited_total", "limit" => which).increment(1);
                Err(too_many(which, quota, &decision))
            }
            Err(e) => {
                metrics::counter!("crawlrag_rate_limit_errors_total", "limit" => which).increment(1);
                if self.options.fail_open {
                    tracing::warn!(limit = which, error = %e, "rate limiter unavailable; letting the request through");
                    Ok(None)
                } else {
                    tracing::warn!(limit = which, error = %e, "rate limiter unavailable; refusing the request");
                    Err(unavailable())
                }
            }
        }
    }
}

fn exempt(request: &Request) -> bool {
    matches!(request.uri().path(), "/health" | "/ready")
}

/// Per client address, outside authentication (see the module documentation).
pub async fn limit_by_ip(State(state): State<RateLimitState>, request: Request, next: Next) -> Response {
    let Some(quota) = state.options.per_ip else { return next.run(request).await };
    if exempt(&request) {
        return next.run(request).await;
    }
    let Some(ConnectInfo(peer)) = request.extensions().get::<ConnectInfo<SocketAddr>>().copied() else {
        // Only a router served without connect info (not `http::serve`) lands here.
        return next.run(request).await;
    };
    let client = client_ip(peer.ip(), request.headers(), &state.options.trusted_proxies);
    match state.check("ip", &ip_key(client), &quota).await {
        Ok(decision) => with_headers(next.run(request).await, decision.as_ref(), false),
        Err(refusal) => refusal,
    }
}

/// Per authenticated caller, inside authentication; also hands the jobs service the caller's
/// [`JobOwner`].
pub async fn limit_by_caller(State(state): State<RateLimitState>, mut request: Request, next: Next) -> Response {
    let Some(caller) = request.extensions().get::<Caller>().cloned() else { return next.run(request).await };
    request
        .extensions_mut()
        .insert(JobOwner { id: caller.id.clone(), max_active: state.options.max_crawls_per_caller });
    let Some(quota) = state.options.per_caller else { return next.run(request).await };
    match state.check("caller", &format!("caller:{}", caller.id), &quota).await {
        // The caller's headers win over the address's (set by the outer layer only if absent).
        Ok(decision) => with_headers(next.run(request).await, decision.as_ref(), true),
        Err(refusal) => refusal,
    }
}

/// The client's address: the peer, or behind trusted proxies the right-most untrusted
/// `X-Forwarded-For` hop. A hop that does not parse ends the walk at the last trusted one.
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(&canonical(*ip)));
    if !is_trusted(&peer) {
        return canonical(peer);
    }
    // Several header lines read as one comma-separated list, in order.
    let hops = headers.get_all("x-forwarded-for").iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(','));
    let hops: Vec<&str> = hops.map(str::trim).filter(|h| !h.is_empty()).collect();
    let mut client = peer;
    for hop in hops.iter().rev() {
        let Ok(ip) = hop.parse::<IpAddr>() else { break };
        client = ip;
        if !is_trusted(&ip) {
            break;
        }
    }
    canonical(client)
}

/// IPv4-mapped IPv6 addresses are their IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    }
}

/// The limiter key of an address: IPv4 as is, IPv6 by its /64.
fn ip_key(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => format!("ip:{v4}"),
        IpAddr::V6(v6) => {
            let net = ipnet::Ipv6Net::new(v6, 64).map(|n| n.trunc()).map_or_else(|_| v6.to_string(), |n| n.to_string());
            format!("ip:{net}")
        }
    }
}

fn number(value: u64) -> HeaderValue {
    HeaderValue::from(value)
}

/// Add `RateLimit-*` headers; `replace`: overwrite the ones an inner layer set.
fn with_headers(mut response: Response, decision: Option<&Decision>, replace: bool) -> Response {
    let Some(decision) = decision else { return response };
    let headers = response.headers_mut();
    if !replace && headers.contains_key(LIMIT) {
        return response;
    }
    headers.insert(LIMIT, number(u64::from(decision.limit)));
    headers.insert(REMAINING, number(u64::from(decision.remaining)));
    headers.insert(RESET, number(ceil_secs(decision.reset)));
    response
}

fn too_many(which: &'static str, quota: &Quota, decision: &Decision) -> Response {
    let retry_after = ceil_secs(decision.retry_after).max(1);
    let whose = if which == "ip" { "this client address" } else { "this API key" };
    let message = format!("rate limit of {quota} for {whose} exceeded; retry after {retry_after} s");
    let body =
        json!({ "error": "rate_limited", "limit": which, "message": message, "retry_after_seconds": retry_after });
    let mut response = (StatusCode::TOO_MANY_REQUESTS, Json(body)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::RETRY_AFTER, number(retry_after));
    headers.insert(LIMIT, number(u64::from(decision.limit)));
    headers.insert(REMAINING, number(0));
    headers.insert(RESET, number(ceil_secs(decision.reset).max(1)));
    response
}

fn unavailable() -> Response {
    let body = json!({ "error": "unavailable", "message": "rate limiter unavailable; retry shortly" });
    let mut response = (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response();
    response.headers_mut().insert(header::RETRY_AFTER, number(1));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn xff(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", HeaderValue::from_str(value).unwrap());
        headers
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn an_untrusted_peers_forwarded_for_is_ignored() {
        let trusted = [parse_trusted_proxy("10.0.0.0/8").unwrap()];
        assert_eq!(client_ip(ip("203.0.113.9"), &xff("1.2.3.4"), &trusted), ip("203.0.113.9"));
    }

    #[test]
    fn behind_trusted_proxies_the_rightmost_untrusted_hop_is_the_client() {
        let trusted = [parse_trusted_proxy("10.0.0.0/8").unwrap(), parse_trusted_proxy("192.0.2.1").unwrap()];
        // The client wrote "6.6.6.6" itself; the first proxy appended the address it saw.
        let headers = xff("6.6.6.6, 198.51.100.7, 10.1.1.1");
        assert_eq!(client_ip(ip("192.0.2.1"), &headers, &trusted), ip("198.51.100.7"));
        // Only proxies in the chain: the left-most hop.
        assert_eq!(client_ip(ip("10.0.0.1"), &xff("10.2.2.2"), &trusted), ip("10.2.2.2"));
        // No header: the proxy itself.
        assert_eq!(client_ip(ip("10.0.0.1"), &HeaderMap::new(), &trusted), ip("10.0.0.1"));
        // Garbage stops the walk at the last trusted hop.
        assert_eq!(client_ip(ip("10.0.0.1"), &xff("1.1.1.1, nonsense, 10.3.3.3"), &trusted), ip("10.3.3.3"));
    }

    #[test]
    fn several_header_lines_are_one_list() {
        let trusted = [parse_trusted_proxy("127.0.0.1").unwrap()];
        let mut headers = HeaderMap::new();
        headers.append("x-forwarded-for", HeaderValue::from_static("9.9.9.9"));
        headers.append("x-forwarded-for", HeaderValue::from_static("8.8.8.8"));
        assert_eq!(client_ip(ip("127.0.0.1"), &headers, &trusted), ip("8.8.8.8"));
    }

    #[test]
    fn ipv6_clients_count_per_64_and_mapped_ipv4_is_ipv4() {
        assert_eq!(ip_key(ip("2001:db8:1:2:aaaa::1")), ip_key(ip("2001:db8:1:2:bbbb::9")));
        assert_ne!(ip_key(ip("2001:db8:1:2::1")), ip_key(ip("2001:db8:1:3::1")));
        assert_eq!(client_ip(ip("::ffff:203.0.113.9"), &HeaderMap::new(), &[]), ip("203.0.113.9"));
        assert_eq!(ip_key(ip("203.0.113.9")), "ip:203.0.113.9");
    }

    #[test]
    fn settings_parse() {
        assert_eq!("off".parse::<Limit>().unwrap(), Limit(None));
        assert_eq!("0".parse::<Limit>().unwrap(), Limit(None));
        assert_eq!("10/s".parse::<Limit>().unwrap().to_string(), "10/s");
        assert!("ten/s".parse::<Limit>().is_err());
        assert!(parse_trusted_proxy("10.0.0.0/33").is_err());
        assert!(parse_trusted_proxy("::1").unwrap().contains(&ip("::1")));
    }
}
