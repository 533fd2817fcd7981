//! `WebhookSender` over reqwest: the receiver's host is resolved here, every answer is checked
//! against the SSRF rule (`domain::target`; private, loopback, link-local and metadata addresses
//! are refused unless allowed or trusted), and the request is dialled at the checked address
//! (reqwest's `resolve` pins it, so a second DNS answer cannot differ). No redirects are
//! followed; each attempt has a 10 s timeout.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use reqwest::header::{CONTENT_TYPE, RETRY_AFTER, USER_AGENT};
use url::Url;

use crate::domain::defaults::DEFAULT_USER_AGENT;
use crate::domain::target::{TrustedHosts, forbidden_reason};
use crate::ports::{WebhookError, WebhookReply, WebhookRequest, WebhookSender};

/// How long one attempt may take, connect to last byte.
pub const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(10);

/// Who may receive webhooks.
#[derive(Debug, Clone, Default)]
pub struct WebhookSenderConfig {
    /// Allow loopback/private/link-local receivers (local use and tests only).
    pub allow_private_networks: bool,
    /// Private hosts let through anyway (`CRAWLRAG_TRUSTED_HOSTS`).
    pub trusted_hosts: TrustedHosts,
}

#[derive(Debug, Default)]
pub struct HttpWebhookSender {
    config: WebhookSenderConfig,
}

impl HttpWebhookSender {
    pub fn new(config: WebhookSenderConfig) -> Self {
        Self { config }
    }

    /// Resolve `url`'s host and pick the address to dial, refusing forbidden ones.
    async fn checked_address(&self, url: &Url) -> Result<(String, SocketAddr), WebhookError> {
        let host = url.host_str().ok_or_else(|| WebhookError::Refused(format!("{url} has no host")))?.to_owned();
        let port = url.port_or_known_default().unwrap_or(80);
        let bare = host.trim_matches(['[', ']']);
        let addrs: Vec<SocketAddr> = tokio::net::lookup_host((bare, port))
            .await
            .map_err(|e| WebhookError::Network(format!("cannot resolve {host}: {e}")))?
            .collect();
        let guarded = !self.config.allow_private_networks && !self.config.trusted_hosts.contains(&host);
        if guarded && let Some((ip, reason)) = addrs.iter().find_map(|a| forbidden_reason(a.ip()).map(|r| (a.ip(), r)))
        {
            return Err(WebhookError::Refused(format!("{host} resolves to {ip}, a {reason}")));
        }
        let addr = addrs.first().copied().ok_or_else(|| WebhookError::Network(format!("{host} has no address")))?;
        Ok((host, addr))
    }
}

#[async_trait]
impl WebhookSender for HttpWebhookSender {
    async fn send(&self, request: WebhookRequest<'_>) -> Result<WebhookReply, WebhookError> {
        let url = Url::parse(request.url).map_err(|e| WebhookError::Refused(format!("invalid URL: {e}")))?;
        let (host, addr) = self.checked_address(&url).await?;
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(WEBHOOK_TIMEOUT)
            .connect_timeout(WEBHOOK_TIMEOUT)
            .resolve(host.trim_matches(['[', ']']), addr)
            .build()
            .map_err(|e| WebhookError::Network(format!("HTTP client: {e}")))?;
        let mut builder = client
            .post(url)
            .header(CONTENT_TYPE, "application/json")
            .header(USER_AGENT, DEFAULT_USER_AGENT)
            .header("X-Crawlrag-Delivery", request.delivery_id)
            .header("X-Crawlrag-Event", request.event)
            .body(request.body.to_vec());
        if let Some(signature) = request.signature {
            builder = builder.header("X-Crawlrag-Signature", signature);
        }
        let started = Instant::now();
        let response = builder.send().await.map_err(|e| {
            let kind = if e.is_timeout() { "timed out" } else { "failed" };
            WebhookError::Network(format!("POST {kind} after {} ms: {e}", started.elapsed().as_millis()))
        })?;
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        Ok(WebhookReply { status: response.status().as_u16(), retry_after })
    }
}
