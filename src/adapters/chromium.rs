//! `Renderer` on headless Chromium via chromiumoxide: one browser, launched on first use with the
//! flags this environment needs, a bounded pool of tabs reused across pages, a settle rule for
//! pages that keep building their DOM after `load`, and a restart (plus one retry) when the
//! browser crashes or hangs. The child is killed when the renderer is dropped, so no Chromium
//! outlives the server.
//!
//! Stealth renders hide common automation fingerprints (navigator.webdriver, the `HeadlessChrome`
//! user agent, empty languages and plugins, the WebGL vendor) with scripts that run before any
//! page script; such tabs are closed after use rather than pooled, so plain renders stay plain.
//!
//! SSRF: the page URL is checked after DNS resolution before Chromium is asked to load it, and
//! while the guard is on every request the page makes (redirects, scripts, `fetch()`) is paused
//! through the DevTools Fetch domain and let through only if its host is not private after
//! resolution — so a page's script cannot read an internal service into the stored text.
//!
//! Speed: images, media, fonts and stylesheets are never fetched (they carry no text and are
//! most of a page's bytes); each tab's request interception lives as long as the tab, so guarded
//! tabs are pooled too; every tab shares one renderer process so memory does not grow with the
//! tab count; and a page counts as settled as soon as an in-page `MutationObserver` has seen the
//! DOM quiet for [`SETTLE_STABLE`], one DevTools round trip instead of polling.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use chromiumoxide::cdp::browser_protocol::fetch::{self, EventRequestPaused, RequestPattern};
use chromiumoxide::cdp::browser_protocol::network::{ErrorReason, ResourceType};
use chromiumoxide::{Browser, BrowserConfig, Page};
use futures::StreamExt;
use tokio::sync::{Mutex, Semaphore};
use tokio::task::JoinHandle;
use tracing::{info, warn};
use url::Url;

use crate::domain::Validators;
use crate::domain::target::{TrustedHosts, forbidden_reason};
use crate::ports::{FetchError, FetchedBody, RenderOptions, Renderer};

pub use crate::domain::defaults::DEFAULT_BROWSER_TABS as DEFAULT_TABS;
const SETTLE_POLL: Duration = Duration::from_millis(100);
/// The DOM must stay unchanged for this long after `load` before the page counts as rendered
/// (a script's timer a few hundred milliseconds after load still gets its text in).
const SETTLE_STABLE: Duration = Duration::from_millis(400);
const SETTLE_MAX: Duration = Duration::from_secs(5);
/// Reads retried when the page navigated away under them (redirect chains of that length).
const NAVIGATION_RETRIES: usize = 3;
/// How long a liveness probe of the browser may take before it counts as hung.
const BROWSER_PROBE: Duration = Duration::from_secs(3);
/// Resource types a render never fetches: no text comes from them (the stored text is read from
/// the DOM, so styles do not change it) and they are most of a page's bytes and layout work.
const SKIPPED_RESOURCES: [ResourceType; 4] =
    [ResourceType::Image, ResourceType::Media, ResourceType::Font, ResourceType::Stylesheet];
/// Flags for running as root in a container (with `no_sandbox`, below) and on a closed network: no
/// GPU (its thread lives in the browser process rather than a process of its own), no QUIC, no
/// background calls home (component updates, sync), and `/tmp` instead of a container's small
/// `/dev/shm`. Then memory, measured on the browser bench: one renderer process for every tab
/// (each process costs its own V8 and Blink baseline: 260 MiB for the tree instead of 346 with
/// two, at the same pages/s; the price is that a renderer crash fails the pages in flight with
/// it, which are then retried), no zygote processes, no site isolation, and V8 tuned for size
/// (renderers a third smaller, about 10% slower). No images decoded.
const FLAGS: [&str; 13] = [
    "disable-gpu",
    "in-process-gpu",
    "disable-quic",
    "no-first-run",
    "disable-background-networking",
    "disable-component-update",
    "disable-sync",
    "disable-dev-shm-usage",
    "blink-settings=imagesEnabled=false",
    "renderer-process-limit=1",
    "no-zygote",
    "disable-site-isolation-trials",
    "js-flags=--optimize-for-size",
];
/// Features switched off, passed as one list so it merges with chromiumoxide's own
/// `--disable-features` (two such flags and Chromium keeps only one of them): no per-site
/// processes, no back/forward cache (it would keep every tab's previous page alive in memory).
const DISABLED_FEATURES: [&str; 6] =
    ["site-per-process", "IsolateOrigins", "BackForwardCache", "Translate", "MediaRouter", "OptimizationHints"];

#[derive(Debug, Clone)]
pub struct ChromiumConfig {
    pub executable: PathBuf,
    pub tabs: usize,
    pub timeout: Duration,
    pub allow_private_networks: bool,
    /// Private hosts let through anyway (`CRAWLRAG_TRUSTED_HOSTS`).
    pub trusted_hosts: TrustedHosts,
}

/// Find a Chromium-family browser on PATH. The headless shell comes first: built only for
/// automation, it renders the same pages in half the memory of the full browser (measured here).
pub fn find_chromium() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    [
        "chromium-headless-shell",
        "chrome-headless-shell",
        "chromium",
        "chromium-browser",
        "google-chrome",
        "google-chrome-stable",
    ]
    .iter()
    .flat_map(|name| std::env::split_paths(&path).map(move |dir| dir.join(name)))
    .find(|candidate| candidate.is_file())
}

/// A tab and its request interception, which lives as long as the tab.
struct Tab {
    page: Page,
    _interceptor: AbortOnDrop,
}

struct Running {
    browser: Arc<Browser>,
    handler: JoinHandle<()>,
    profile: PathBuf,
    /// Tabs parked on about:blank, ready for the next page.
    idle: std::sync::Mutex<Vec<Tab>>,
    /// Which launch this is: a failed render restarts only the browser it failed on.
    generation: usize,
    /// The browser process, whose children are killed with it.
    pid: Option<u32>,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.handler.abort();
        // chromiumoxide kills only the browser process (SIGKILL on drop); its renderer and
        // utility children then linger, re-parented to init. Kill the whole tree.
        if let Some(pid) = self.pid {
            kill_tree(pid);
        }
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// SIGKILL `pid` and every process whose parent it is (Chromium's children, with `--no-zygote`).
fn kill_tree(pid: u32) {
    let mut pids: Vec<String> = children(pid).into_iter().map(|p| p.to_string()).collect();
    pids.push(pid.to_string());
    let _ = std::process::Command::new("kill")
        .arg("-KILL")
        .args(&pids)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status();
}

/// Processes whose parent is `pid`, from `/proc/*/stat` (the field after the command name).
fn children(pid: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    entries
        .flatten()
        .filter_map(|entry| {
            let child: u32 = entry.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(entry.path().join("stat")).ok()?;
            // "pid (comm) state ppid ...": comm may hold spaces and parentheses.
            let ppid: u32 = stat.rsplit_once(')')?.1.split_whitespace().nth(1)?.parse().ok()?;
            (ppid == pid).then_some(child)
        })
        .collect()
}

pub struct ChromiumRenderer {
    config: ChromiumConfig,
    running: Mutex<Option<Running>>,
    tabs: Semaphore,
    launches: AtomicUsize,
    tabs_opened: AtomicUsize,
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
        Self {
            config,
            running: Mutex::new(None),
            tabs,
            launches: AtomicUsize::new(0),
            tabs_opened: AtomicUsize::new(0),
        }
    }

    /// Tabs opened since start (pooled tabs are reused, so this stays near the pool size).
    pub fn tabs_opened(&self) -> usize {
        self.tabs_opened.load(Ordering::Relaxed)
    }

    /// A tab for one page: a parked one, or a new one (stealth tabs are always new).
    async fn take_tab(&self, stealth: bool, generation: &mut Option<usize>) -> Result<Tab, String> {
        let (browser, current) = self.browser().await?;
        *generation = Some(current);
        if !stealth {
            let parked = self
                .running
                .lock()
                .await
                .as_ref()
                .filter(|r| r.generation == current)
                .and_then(|r| r.idle.lock().ok()?.pop());
            if let Some(page) = parked {
                return Ok(page);
            }
        }
        self.tabs_opened.fetch_add(1, Ordering::Relaxed);
        let page = browser.new_page("about:blank").await.map_err(|e| e.to_string())?;
        let guard = (!self.config.allow_private_networks).then(|| self.config.trusted_hosts.clone());
        let interceptor = intercept_requests(&page, guard).await?;
        Ok(Tab { page, _interceptor: interceptor })
    }

    /// Park a plain tab for reuse, or close it (stealth tab, pool full, failed page).
    async fn return_tab(&self, tab: Tab, reusable: bool) {
        if reusable && tab.page.goto("about:blank").await.is_ok() {
            let running = self.running.lock().await;
            if let Some(r) = running.as_ref()
                && let Ok(mut idle) = r.idle.lock()
                && idle.len() < self.config.tabs.max(1)
            {
                idle.push(tab);
                return;
            }
        }
        let _ = tab.page.close().await;
    }

    async fn browser(&self) -> Result<(Arc<Browser>, usize), String> {
        let mut running = self.running.lock().await;
        if let Some(r) = running.as_ref() {
            return Ok((Arc::clone(&r.browser), r.generation));
        }
        let n = self.launches.fetch_add(1, Ordering::Relaxed);
        // Unique per launch, not per renderer: two renderers in one process must never share a
        // profile (Chromium refuses a locked one and the first to exit takes the other down).
        let profile = std::env::temp_dir().join(format!("crawlrag-chromium-{}", uuid::Uuid::new_v4()));
        let config = BrowserConfig::builder()
            .chrome_executable(&self.config.executable)
            .no_sandbox()
            .user_data_dir(&profile)
            .args(FLAGS)
            .arg(("disable-features", DISABLED_FEATURES.as_slice()))
            .request_timeout(self.config.timeout)
            .launch_timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| format!("invalid browser configuration: {e}"))?;
        let (mut browser, mut handler) = Browser::launch(config)
            .await
            .map_err(|e| format!("cannot launch {}: {e}", self.config.executable.display()))?;
        let pid = browser.get_mut_child().and_then(|child| child.as_mut_inner().id());
        // The handler drives the DevTools websocket; it must be polled for the browser to work.
        let handler = tokio::spawn(async move { while handler.next().await.is_some() {} });
        info!(executable = %self.config.executable.display(), "chromium launched");
        let browser = Arc::new(browser);
        let idle = std::sync::Mutex::default();
        *running = Some(Running { browser: Arc::clone(&browser), handler, profile, idle, generation: n, pid });
        Ok((browser, n))
    }

    /// Drop the browser a render failed on so the next use relaunches — only when the browser
    /// itself no longer answers: a page that failed (unreachable, timed out, crashed its tab)
    /// must not take down every render in flight. A browser another render already relaunched is
    /// left alone too.
    async fn restart(&self, failed_on: Option<usize>) {
        let browser = {
            let running = self.running.lock().await;
            match running.as_ref().filter(|r| Some(r.generation) == failed_on) {
                Some(r) => Arc::clone(&r.browser),
                None => return,
            }
        };
        if matches!(tokio::time::timeout(BROWSER_PROBE, browser.version()).await, Ok(Ok(_))) {
            return;
        }
        let mut running = self.running.lock().await;
        if running.as_ref().is_some_and(|r| Some(r.generation) == failed_on) {
            warn!("chromium does not answer; restarting it");
            running.take();
        }
    }

    /// Browsers launched since start (a failed page does not relaunch a healthy browser).
    pub fn launches(&self) -> usize {
        self.launches.load(Ordering::Relaxed)
    }

    async fn render_once(
        &self,
        url: &Url,
        options: &RenderOptions,
        generation: &mut Option<usize>,
    ) -> Result<(Url, String), String> {
        let tab = self.take_tab(options.stealth, generation).await?;
        let page = &tab.page;
        let outcome = async {
            if options.stealth {
                hide_automation(page).await?;
            }
            page.goto(url.as_str()).await.map_err(|e| e.to_string())?;
            settle(page).await;
            if let Some(selector) = &options.wait_for_selector {
                wait_for_selector(page, selector, self.config.timeout).await?;
            }
            tokio::time::sleep(options.extra_wait).await;
            let html = read_content(page).await?;
            let final_url =
                page.url().await.ok().flatten().and_then(|u| Url::parse(&u).ok()).unwrap_or_else(|| url.clone());
            Ok((final_url, html))
        }
        .await;
        let reusable = outcome.is_ok() && !options.stealth;
        self.return_tab(tab, reusable).await;
        outcome
    }

    async fn check_target(&self, url: &Url) -> Result<(), FetchError> {
        if self.config.allow_private_networks {
            return Ok(());
        }
        request_refusal(url, &self.config.trusted_hosts)
            .await
            .map_err(|reason| FetchError::Blocked { url: url.to_string(), reason })
    }
}

/// Why the guard refuses a request to `url` (`Err(reason)`), checked after DNS resolution.
async fn request_refusal(url: &Url, trusted: &TrustedHosts) -> Result<(), String> {
    let host = url.host_str().unwrap_or_default();
    if !matches!(url.scheme(), "http" | "https" | "ws" | "wss") || trusted.contains(host) {
        return Ok(()); // data:, blob: and the like never leave the browser
    }
    if let Some(reason) = trusted.literal_refusal(url) {
        return Err(reason.to_owned());
    }
    let port = url.port_or_known_default().unwrap_or(80);
    let addrs = tokio::net::lookup_host((host, port)).await.map_err(|e| format!("cannot resolve {host}: {e}"))?;
    for addr in addrs {
        if let Some(reason) = forbidden_reason(addr.ip()) {
            return Err(format!("{host} resolves to {}, a {reason}", addr.ip()));
        }
    }
    Ok(())
}

/// Intercept `page`'s requests for as long as the returned task lives (it is aborted on drop):
/// images, media, fonts and stylesheets are failed at once; with the SSRF guard on (`guard` holds the trusted
/// hosts) every other request is paused and let through only if the guard allows it, without it
/// only the skipped types are intercepted at all.
async fn intercept_requests(page: &Page, guard: Option<TrustedHosts>) -> Result<AbortOnDrop, String> {
    let mut paused = page.event_listener::<EventRequestPaused>().await.map_err(|e| e.to_string())?;
    let patterns = match guard {
        Some(_) => vec![RequestPattern::default()],
        None => SKIPPED_RESOURCES
            .iter()
            .map(|kind| RequestPattern { resource_type: Some(kind.clone()), ..RequestPattern::default() })
            .collect(),
    };
    let enable = fetch::EnableParams { patterns: Some(patterns), ..fetch::EnableParams::default() };
    page.execute(enable).await.map_err(|e| e.to_string())?;
    let page = page.clone();
    let task = tokio::spawn(async move {
        while let Some(event) = paused.next().await {
            let verdict = if SKIPPED_RESOURCES.contains(&event.resource_type) {
                Err(String::new())
            } else {
                match (&guard, Url::parse(&event.request.url)) {
                    (Some(trusted), Ok(url)) => request_refusal(&url, trusted).await,
                    (None, Ok(_)) => Ok(()),
                    (_, Err(e)) => Err(format!("invalid URL: {e}")),
                }
            };
            let id = event.request_id.clone();
            let answered = match verdict {
                Ok(()) => page.execute(fetch::ContinueRequestParams::new(id)).await.map(|_| ()),
                Err(reason) => {
                    if !reason.is_empty() {
                        warn!(url = %event.request.url, %reason, "browser request refused");
                    }
                    page.execute(fetch::FailRequestParams::new(id, ErrorReason::BlockedByClient)).await.map(|_| ())
                }
            };
            if answered.is_err() {
                break; // the tab is gone
            }
        }
    });
    Ok(AbortOnDrop(task))
}

/// Aborts the task when dropped.
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Scripts that make a headless browser look like a desktop one, installed before page scripts.
const STEALTH_LANGUAGES: &str = "Object.defineProperty(Navigator.prototype, 'languages', \
     { get: () => ['en-US', 'en'] }); \
     Object.defineProperty(Navigator.prototype, 'webdriver', { get: () => false });";

async fn hide_automation(page: &Page) -> Result<(), String> {
    let agent = page.user_agent().await.map_err(|e| e.to_string())?.replace("HeadlessChrome", "Chrome");
    page.enable_stealth_mode_with_agent(&agent).await.map_err(|e| e.to_string())?;
    page.evaluate_on_new_document(STEALTH_LANGUAGES).await.map_err(|e| e.to_string())?;
    Ok(())
}

/// The page's HTML. A page that navigates on its own (a meta refresh, `location.replace`) destroys
/// the JavaScript context the read ran in: wait for the new document to settle and read that.
async fn read_content(page: &Page) -> Result<String, String> {
    let mut attempts = 0;
    loop {
        match page.content().await {
            Ok(html) => return Ok(html),
            Err(e) if attempts < NAVIGATION_RETRIES && is_navigation_race(&e.to_string()) => {
                attempts += 1;
                tokio::time::sleep(SETTLE_POLL * 2).await;
                settle(page).await;
            }
            Err(e) => return Err(e.to_string()),
        }
    }
}

/// DevTools errors that mean "the document went away under this call", not "the browser broke".
fn is_navigation_race(error: &str) -> bool {
    ["Cannot find context with specified id", "Execution context was destroyed", "Inspected target navigated"]
        .iter()
        .any(|marker| error.contains(marker))
}

/// Wait until `selector` matches an element, at most `limit`.
async fn wait_for_selector(page: &Page, selector: &str, limit: Duration) -> Result<(), String> {
    // The selector travels as a JSON string literal, so it cannot break out of the expression.
    let literal = serde_json::to_string(selector).map_err(|e| e.to_string())?;
    let probe = format!(
        "(() => {{ try {{ return document.querySelector({literal}) !== null; }} catch (e) {{ return 'invalid'; }} }})()"
    );
    let started = tokio::time::Instant::now();
    loop {
        let found = page.evaluate(probe.as_str()).await.map_err(|e| e.to_string())?.into_value::<serde_json::Value>();
        match found {
            Ok(serde_json::Value::Bool(true)) => return Ok(()),
            Ok(serde_json::Value::String(_)) => return Err(format!("'{selector}' is not a valid CSS selector")),
            _ if started.elapsed() >= limit => {
                return Err(format!("wait_for_selector '{selector}' matched nothing within {limit:?}"));
            }
            _ => tokio::time::sleep(SETTLE_POLL).await,
        }
    }
}

/// In the page: resolve once the DOM has not changed for `quiet` ms after `load` (and the body
/// has text), or after `max` ms whatever happens. A `MutationObserver` re-arms the timer on every
/// change, so nothing forces a layout while waiting.
const SETTLE_SCRIPT: &str = "((quiet, max) => new Promise((resolve) => {
  const start = performance.now();
  let timer = null;
  const observer = new MutationObserver(() => arm());
  const finish = () => { observer.disconnect(); clearTimeout(timer); resolve(true); };
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      const empty = !document.body || document.body.innerText.trim().length === 0;
      if (empty && performance.now() - start < max) { arm(); } else { finish(); }
    }, quiet);
  };
  const begin = () => {
    observer.observe(document.documentElement, { subtree: true, childList: true, characterData: true });
    arm();
  };
  setTimeout(finish, max);
  if (document.readyState === 'complete') { begin(); } else { addEventListener('load', begin, { once: true }); }
}))";

/// Wait until the page's DOM is quiet (scripts and timers done), at most `SETTLE_MAX`.
async fn settle(page: &Page) {
    let script = format!("{SETTLE_SCRIPT}({}, {})", SETTLE_STABLE.as_millis(), SETTLE_MAX.as_millis());
    // A page that navigates away mid-wait loses the promise: the content read next is what counts.
    let _ = tokio::time::timeout(SETTLE_MAX + SETTLE_POLL * 10, page.evaluate(script.as_str())).await;
}

#[async_trait]
impl Renderer for ChromiumRenderer {
    async fn render(&self, url: &Url, options: &RenderOptions) -> Result<FetchedBody, FetchError> {
        self.check_target(url).await?;
        let _tab =
            self.tabs.acquire().await.map_err(|e| FetchError::Other { url: url.to_string(), reason: e.to_string() })?;
        let mut last_error = String::new();
        for attempt in 0..2 {
            // Room for the selector wait and the extra wait on top of loading.
            let limit = self.config.timeout * 2 + options.extra_wait;
            let mut generation = None;
            // Launching (slow on a busy machine) does not count against the page's time.
            if let Err(e) = self.browser().await {
                last_error = e;
                continue;
            }
            match tokio::time::timeout(limit, self.render_once(url, options, &mut generation)).await {
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
            if last_error.contains("wait_for_selector") || last_error.contains("not a valid CSS selector") {
                break; // the page rendered; the selector is what failed, and would again
            }
            self.restart(generation).await;
        }
        Err(FetchError::Other { url: url.to_string(), reason: format!("browser rendering failed: {last_error}") })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn children_are_found_by_their_parent_pid() {
        let mut sleeper = std::process::Command::new("sleep").arg("30").spawn().unwrap();
        let found = children(std::process::id());
        sleeper.kill().unwrap();
        let _ = sleeper.wait();
        assert!(found.contains(&sleeper.id()), "{found:?}");
    }
}
