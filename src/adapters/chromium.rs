//! `Renderer` on headless Chromium via chromiumoxide: one browser, launched on first use with the
//! flags this environment needs, a bounded number of tabs at a time, a settle rule for pages that
//! keep building their DOM after `load`, and a restart (plus one retry) when the browser crashes
//! or hangs. The child is killed when the renderer is dropped, so no Chromium outlives the server.
//!
//! SSRF: the page URL is checked after DNS resolution before Chromium is asked to load it; the
//! browser's own subresource and redirect requests are not re-checked (documented limitation).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use chromiumoxide::{Browser, BrowserConfig};
use futures::StreamExt;
use tokio::sync::{Mutex, Semaphore};
use tokio::task::JoinHandle;
use tracing::{info, warn};
use url::Url;

use crate::domain::Validators;
use crate::domain::target::{forbidden_reason, literal_ip};
use crate::ports::{FetchError, FetchedBody, Renderer};

pub const DEFAULT_TABS: usize = 4;
const SETTLE_POLL: Duration = Duration::from_millis(100);
/// The DOM must stop growing for this long before the page counts as rendered.
const SETTLE_STABLE: Duration = Duration::from_millis(400);
const SETTLE_MAX: Duration = Duration::from_secs(5);
/// Flags that work here as root and on a closed network (services.md).
const FLAGS: [&str; 7] = [
    "disable-gpu",
    "disable-quic",
    "no-first-run",
    "disable-background-networking",
    "disable-component-update",
    "disable-sync",
    "disable-dev-shm-usage",
];

#[derive(Debug, Clone)]
pub struct ChromiumConfig {
    pub executable: PathBuf,
    pub tabs: usize,
    pub timeout: Duration,
    pub allow_private_networks: bool,
}

/// Find a Chromium-family browser on PATH.
pub fn find_chromium() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"]
        .iter()
        .flat_map(|name| std::env::split_paths(&path).map(move |dir| dir.join(name)))
        .find(|candidate| candidate.is_file())
}

struct Running {
    browser: Arc<Browser>,
    handler: JoinHandle<()>,
    profile: PathBuf,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.handler.abort();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

pub struct ChromiumRenderer {
    config: ChromiumConfig,
    running: Mutex<Option<Running>>,
    tabs: Semaphore,
    launches: AtomicUsize,
}

impl std::fmt::Debug for ChromiumRenderer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChromiumRenderer").field("config", &self.config).finish_non_exhaustive()
    }
}

impl ChromiumRenderer {
    /// A renderer that launches Chromium on first use.
    pub fn new(config: ChromiumConfig) -> Self {
        let tabs = Semaphore::new(config.tabs.max(1));
        Self { config, running: Mutex::new(None), tabs, launches: AtomicUsize::new(0) }
    }

    async fn browser(&self) -> Result<Arc<Browser>, String> {
        let mut running = self.running.lock().await;
        if let Some(r) = running.as_ref() {
            return Ok(Arc::clone(&r.browser));
        }
        let n = self.launches.fetch_add(1, Ordering::Relaxed);
        let profile = std::env::temp_dir().join(format!("crawlrag-chromium-{}-{n}", std::process::id()));
        let config = BrowserConfig::builder()
            .chrome_executable(&self.config.executable)
            .no_sandbox()
            .user_data_dir(&profile)
            .args(FLAGS)
            .request_timeout(self.config.timeout)
            .launch_timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| format!("invalid browser configuration: {e}"))?;
        let (browser, mut handler) = Browser::launch(config)
            .await
            .map_err(|e| format!("cannot launch {}: {e}", self.config.executable.display()))?;
        // The handler drives the DevTools websocket; it must be polled for the browser to work.
        let handler = tokio::spawn(async move { while handler.next().await.is_some() {} });
        info!(executable = %self.config.executable.display(), "chromium launched");
        let browser = Arc::new(browser);
        *running = Some(Running { browser: Arc::clone(&browser), handler, profile });
        Ok(browser)
    }

    /// Drop the current browser (killed once the last tab lets go) so the next use relaunches.
    async fn restart(&self) {
        warn!("restarting chromium");
        self.running.lock().await.take();
    }

    async fn render_once(browser: &Browser, url: &Url) -> Result<(Url, String), String> {
        let page = browser.new_page("about:blank").await.map_err(|e| e.to_string())?;
        let outcome = async {
            page.goto(url.as_str()).await.map_err(|e| e.to_string())?;
            settle(&page).await;
            let html = page.content().await.map_err(|e| e.to_string())?;
            let final_url =
                page.url().await.ok().flatten().and_then(|u| Url::parse(&u).ok()).unwrap_or_else(|| url.clone());
            Ok((final_url, html))
        }
        .await;
        let _ = page.close().await;
        outcome
    }

    async fn check_target(&self, url: &Url) -> Result<(), FetchError> {
        if self.config.allow_private_networks {
            return Ok(());
        }
        let blocked = |reason: String| FetchError::Blocked { url: url.to_string(), reason };
        if let Some(reason) = literal_ip(url).and_then(forbidden_reason) {
            return Err(blocked(reason.to_owned()));
        }
        let host = url.host_str().unwrap_or_default();
        let port = url.port_or_known_default().unwrap_or(80);
        let addrs = tokio::net::lookup_host((host, port))
            .await
            .map_err(|e| FetchError::Unreachable { url: url.to_string(), reason: e.to_string() })?;
        for addr in addrs {
            if let Some(reason) = forbidden_reason(addr.ip()) {
                return Err(blocked(format!("{host} resolves to {}, a {reason}", addr.ip())));
            }
        }
        Ok(())
    }
}

/// Wait until the visible text stops changing (scripts and timers done), at most `SETTLE_MAX`.
async fn settle(page: &chromiumoxide::Page) {
    let started = tokio::time::Instant::now();
    let mut last = -1i64;
    let mut stable_since = started;
    while started.elapsed() < SETTLE_MAX {
        let length = page
            .evaluate("document.body ? document.body.innerText.length : 0")
            .await
            .ok()
            .and_then(|v| v.into_value::<i64>().ok())
            .unwrap_or(-1);
        let now = tokio::time::Instant::now();
        if length != last {
            last = length;
            stable_since = now;
        } else if length > 0 && now - stable_since >= SETTLE_STABLE {
            return;
        }
        tokio::time::sleep(SETTLE_POLL).await;
    }
}

#[async_trait]
impl Renderer for ChromiumRenderer {
    async fn render(&self, url: &Url) -> Result<FetchedBody, FetchError> {
        self.check_target(url).await?;
        let _tab =
            self.tabs.acquire().await.map_err(|e| FetchError::Other { url: url.to_string(), reason: e.to_string() })?;
        let mut last_error = String::new();
        for attempt in 0..2 {
            let browser = self.browser().await.map_err(|reason| FetchError::Other { url: url.to_string(), reason })?;
            match tokio::time::timeout(self.config.timeout, Self::render_once(&browser, url)).await {
                Ok(Ok((final_url, html))) => {
                    return Ok(FetchedBody {
                        final_url,
                        content_type: "text/html".into(),
                        text: html,
                        bytes: Vec::new(),
                        validators: Validators::default(),
                    });
                }
                Ok(Err(e)) => last_error = e,
                Err(_) => last_error = format!("page did not finish within {:?}", self.config.timeout),
            }
            warn!(%url, attempt, error = %last_error, "browser render failed");
            drop(browser);
            self.restart().await;
        }
        Err(FetchError::Other { url: url.to_string(), reason: format!("browser rendering failed: {last_error}") })
    }
}
