//! `Fetcher` over HTTP with reqwest: timeouts, a redirect limit with loop detection, a body size
//! cap enforced while streaming, a content-type check before the body is read, and the SSRF guard
//! applied after DNS resolution (custom resolver) and on every redirect hop.

use std::error::Error as StdError;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::header::{
    CONTENT_LENGTH, CONTENT_TYPE, ETAG, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED, RETRY_AFTER,
};
use tracing::{debug, instrument};
use url::Url;

use crate::domain::Validators;
use crate::domain::target::{TrustedHosts, forbidden_reason};
use crate::ports::{Accept, FetchError, Fetched, FetchedBody, Fetcher};

pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
pub use crate::domain::defaults::{DEFAULT_MAX_PAGE_BYTES, DEFAULT_MAX_REDIRECTS, DEFAULT_USER_AGENT};

/// Content types we turn into Markdown; everything else is refused before the body is read.
const TEXT_TYPES: &[&str] = &["text/html", "application/xhtml+xml", "text/plain", "text/markdown", "text/x-markdown"];
/// Content types of sitemaps and robots.txt (servers label gzip sitemaps many ways).
const RAW_TYPES: &[&str] = &[
    "application/xml",
    "text/xml",
    "application/gzip",
    "application/x-gzip",
    "application/octet-stream",
    "text/plain",
];

#[derive(Debug, Clone)]
pub struct HttpFetcherConfig {
    pub timeout: Duration,
    pub max_redirects: usize,
    pub max_page_bytes: usize,
    pub user_agent: String,
    /// Allow loopback/private/link-local targets (local use and tests only).
    pub allow_private_networks: bool,
    /// Private hosts let through anyway (`CRAWLRAG_TRUSTED_HOSTS`).
    pub trusted_hosts: TrustedHosts,
}

impl Default for HttpFetcherConfig {
    fn default() -> Self {
        Self {
            timeout: DEFAULT_TIMEOUT,
            max_redirects: DEFAULT_MAX_REDIRECTS,
            max_page_bytes: DEFAULT_MAX_PAGE_BYTES,
            user_agent: DEFAULT_USER_AGENT.to_owned(),
            allow_private_networks: false,
            trusted_hosts: TrustedHosts::default(),
        }
    }
}

#[derive(Debug)]
pub struct HttpFetcher {
    client: reqwest::Client,
    config: HttpFetcherConfig,
}

/// Why a redirect hop was refused; found again in reqwest's error chain.
#[derive(Debug, thiserror::Error)]
enum RedirectRefusal {
    #[error("redirect loop at {0}")]
    Loop(String),
    #[error("too many redirects")]
    TooMany,
    #[error("redirect to {url} refused: {reason}")]
    Blocked { url: String, reason: String },
}

/// A DNS answer containing a forbidden address.
#[derive(Debug, thiserror::Error)]
#[error("{host} resolves to {ip}, a {reason}")]
struct BlockedAddress {
    host: String,
    ip: IpAddr,
    reason: &'static str,
}

/// Resolves with the system resolver and refuses answers that contain any forbidden address, so
/// DNS names pointing at internal services are caught before a connection is made.
#[derive(Debug)]
struct GuardedResolver(TrustedHosts);

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        let trusted = self.0.contains(&host);
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if trusted {
                return Ok(Box::new(addrs.into_iter()) as Addrs);
            }
            if let Some((ip, reason)) = addrs.iter().find_map(|a| forbidden_reason(a.ip()).map(|r| (a.ip(), r))) {
                return Err(Box::new(BlockedAddress { host, ip, reason }) as Box<dyn StdError + Send + Sync>);
            }
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

impl HttpFetcher {
    /// # Errors
    /// When the TLS backend cannot be initialised.
    pub fn new(config: HttpFetcherConfig) -> Result<Self, FetchError> {
        let max_redirects = config.max_redirects;
        let allow_private = config.allow_private_networks;
        let trusted = config.trusted_hosts.clone();
        let policy = reqwest::redirect::Policy::custom(move |attempt| {
            let next = attempt.url().clone();
            if attempt.previous().iter().any(|u| u == &next) {
                return attempt.error(RedirectRefusal::Loop(next.to_string()));
            }
            if attempt.previous().len() > max_redirects {
                return attempt.error(RedirectRefusal::TooMany);
            }
            if !matches!(next.scheme(), "http" | "https") {
                let reason = format!("scheme '{}' is not allowed", next.scheme());
                return attempt.error(RedirectRefusal::Blocked { url: next.to_string(), reason });
            }
            if !allow_private && let Some(reason) = trusted.literal_refusal(&next) {
                return attempt.error(RedirectRefusal::Blocked { url: next.to_string(), reason: reason.to_owned() });
            }
            attempt.follow()
        });
        let mut builder = reqwest::Client::builder()
            .user_agent(config.user_agent.clone())
            .timeout(config.timeout)
            .connect_timeout(config.timeout.min(Duration::from_secs(10)))
            .redirect(policy);
        if !allow_private {
            builder = builder.dns_resolver(Arc::new(GuardedResolver(config.trusted_hosts.clone())));
        }
        let client = builder.build().map_err(|e| FetchError::Other { url: String::new(), reason: chain(&e) })?;
        Ok(Self { client, config })
    }

    fn classify(&self, url: &Url, err: &reqwest::Error) -> FetchError {
        let url_s = url.to_string();
        if let Some(refusal) = find_source::<RedirectRefusal>(err) {
            return match refusal {
                RedirectRefusal::Loop(at) => FetchError::RedirectLoop(at.clone()),
                RedirectRefusal::TooMany => FetchError::TooManyRedirects { url: url_s, max: self.config.max_redirects },
                RedirectRefusal::Blocked { url, reason } => {
                    FetchError::Blocked { url: url.clone(), reason: reason.clone() }
                }
            };
        }
        if let Some(blocked) = find_source::<BlockedAddress>(err) {
            return FetchError::Blocked { url: url_s, reason: blocked.to_string() };
        }
        if err.is_timeout() {
            return FetchError::Timeout(self.config.timeout, url_s);
        }
        if err.is_connect() {
            return FetchError::Unreachable { url: url_s, reason: root_cause(err) };
        }
        FetchError::Other { url: url_s, reason: chain(err) }
    }
}

#[async_trait]
impl Fetcher for HttpFetcher {
    async fn fetch(&self, url: &Url, accept: Accept) -> Result<FetchedBody, FetchError> {
        match self.fetch_with(url, accept, &Validators::default()).await? {
            Fetched::Body(body) => Ok(body),
            Fetched::NotModified => Err(FetchError::Other { url: url.to_string(), reason: "unexpected 304".into() }),
        }
    }

    async fn fetch_if_changed(&self, url: &Url, accept: Accept, known: &Validators) -> Result<Fetched, FetchError> {
        self.fetch_with(url, accept, known).await
    }
}

impl HttpFetcher {
    #[instrument(skip(self, known), fields(url = %url))]
    async fn fetch_with(&self, url: &Url, accept: Accept, known: &Validators) -> Result<Fetched, FetchError> {
        if !self.config.allow_private_networks
            && let Some(reason) = self.config.trusted_hosts.literal_refusal(url)
        {
            return Err(FetchError::Blocked { url: url.to_string(), reason: reason.to_owned() });
        }
        let mut request = self.client.get(url.clone());
        if let Some(etag) = &known.etag {
            request = request.header(IF_NONE_MATCH, etag);
        }
        if let Some(modified) = &known.last_modified {
            request = request.header(IF_MODIFIED_SINCE, modified);
        }
        let mut response = request.send().await.map_err(|e| self.classify(url, &e))?;
        let final_url = response.url().clone();
        let status = response.status();
        if status == reqwest::StatusCode::NOT_MODIFIED && !known.is_empty() {
            return Ok(Fetched::NotModified);
        }
        let header = |name| {
            response.headers().get(name).and_then(|v: &reqwest::header::HeaderValue| v.to_str().ok()).map(str::to_owned)
        };
        let validators = Validators { etag: header(ETAG), last_modified: header(LAST_MODIFIED) };
        if !status.is_success() {
            let retry_after = response
                .headers()
                .get(RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            return Err(FetchError::Status { url: final_url.to_string(), status: status.as_u16(), retry_after });
        }
        let (mime, charset) = content_type(response.headers().get(CONTENT_TYPE));
        let mime = mime.unwrap_or_else(|| "text/html".to_owned());
        let allowed = match accept {
            Accept::Page => TEXT_TYPES.contains(&mime.as_str()),
            Accept::Raw => {
                RAW_TYPES.contains(&mime.as_str()) || mime.ends_with("+xml") || TEXT_TYPES.contains(&mime.as_str())
            }
        };
        if !allowed {
            return Err(FetchError::UnsupportedContentType { url: final_url.to_string(), content_type: mime });
        }
        let cap = self.config.max_page_bytes;
        let declared =
            response.headers().get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<usize>().ok());
        if declared.is_some_and(|len| len > cap) {
            return Err(FetchError::TooLarge { url: final_url.to_string(), cap });
        }
        // Stream the body so a lying or absent Content-Length cannot make us buffer more than the cap.
        let mut body = Vec::with_capacity(declared.unwrap_or(64 * 1024).min(cap));
        while let Some(chunk) = response.chunk().await.map_err(|e| self.classify(&final_url, &e))? {
            if body.len() + chunk.len() > cap {
                return Err(FetchError::TooLarge { url: final_url.to_string(), cap });
            }
            body.extend_from_slice(&chunk);
        }
        debug!(bytes = body.len(), %mime, "fetched");
        if accept == Accept::Raw {
            return Ok(Fetched::Body(FetchedBody {
                final_url,
                content_type: mime,
                text: String::new(),
                bytes: body,
                validators,
            }));
        }
        if body.contains(&0) {
            return Err(FetchError::UnsupportedContentType {
                url: final_url.to_string(),
                content_type: format!("{mime} (binary data)"),
            });
        }
        let text = decode(&body, charset.as_deref());
        Ok(Fetched::Body(FetchedBody { final_url, content_type: mime, text, bytes: Vec::new(), validators }))
    }
}

/// (`type/subtype` lowercased, `charset` parameter) of a Content-Type header.
fn content_type(header: Option<&reqwest::header::HeaderValue>) -> (Option<String>, Option<String>) {
    let Some(raw) = header.and_then(|v| v.to_str().ok()) else { return (None, None) };
    let mut parts = raw.split(';');
    let mime = parts.next().map(|m| m.trim().to_ascii_lowercase()).filter(|m| !m.is_empty());
    let charset = parts
        .filter_map(|p| p.split_once('='))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("charset"))
        .map(|(_, v)| v.trim().trim_matches('"').to_owned());
    (mime, charset)
}

fn decode(body: &[u8], charset: Option<&str>) -> String {
    match charset.and_then(|c| encoding_rs::Encoding::for_label(c.as_bytes())) {
        Some(encoding) => encoding.decode(body).0.into_owned(),
        None => String::from_utf8_lossy(body).into_owned(),
    }
}

fn find_source<'a, T: StdError + 'static>(err: &'a (dyn StdError + 'static)) -> Option<&'a T> {
    let mut current: Option<&(dyn StdError + 'static)> = Some(err);
    while let Some(e) = current {
        if let Some(found) = e.downcast_ref::<T>() {
            return Some(found);
        }
        current = e.source();
    }
    None
}

fn chain(err: &(dyn StdError + 'static)) -> String {
    let mut parts = vec![err.to_string()];
    let mut current = err.source();
    while let Some(e) = current {
        parts.push(e.to_string());
        current = e.source();
    }
    parts.join(": ")
}

fn root_cause(err: &(dyn StdError + 'static)) -> String {
    let mut current: &(dyn StdError + 'static) = err;
    while let Some(next) = current.source() {
        current = next;
    }
    current.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_content_type() {
        let v = reqwest::header::HeaderValue::from_static("Text/HTML; Charset=\"ISO-8859-1\"");
        assert_eq!(content_type(Some(&v)), (Some("text/html".into()), Some("ISO-8859-1".into())));
        assert_eq!(content_type(None), (None, None));
        assert_eq!(decode(&[0x63, 0x61, 0x66, 0xe9], Some("iso-8859-1")), "café");
    }
}
