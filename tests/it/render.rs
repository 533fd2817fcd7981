//! JavaScript rendering in real headless Chromium: script-only pages are detected and rendered
//! (including content added by timers), plain HTTP mode refuses to pretend, and the SSRF guard
//! applies to browser targets too.

use std::sync::Arc;
use std::time::Duration;

use crawlrag::adapters::chromium::{ChromiumConfig, ChromiumRenderer};
use crawlrag::app::ServiceSettings;
use crawlrag::crawl::site::CrawlRequest;
use crawlrag::crawl::{PagePlan, Render};
use crawlrag::domain::target::TrustedHosts;
use crawlrag::ports::{RenderOptions, Renderer};
use crawlrag::progress::NoProgress;

use crate::common::site::Site;
use crate::common::{self, Backend};

fn chromium_renderer(executable: std::path::PathBuf, allow_private_networks: bool) -> ChromiumRenderer {
    ChromiumRenderer::new(ChromiumConfig {
        executable,
        tabs: 2,
        timeout: Duration::from_secs(30),
        allow_private_networks,
        trusted_hosts: TrustedHosts::default(),
    })
}

fn renderer(executable: std::path::PathBuf, allow_private_networks: bool) -> Arc<dyn Renderer> {
    Arc::new(chromium_renderer(executable, allow_private_networks))
}

#[tokio::test]
async fn script_only_pages_are_rendered_in_chromium_and_http_mode_does_not_pretend() {
    let Some(services) = common::services() else { return };
    let Some(chromium) = common::chromium(&services) else { return };
    let site = Site::start().await;
    let settings = ServiceSettings { renderer: Some(renderer(chromium, true)), ..Default::default() };
    let (app, db) = common::app_with(&services, Backend::Sqlite, "render_auto", settings).await;
    let url = site.url("/js/app.html");

    let err = app.crawler.crawl_single_page(&url, None, &PagePlan::new(Render::Http), &NoProgress).await.unwrap_err();
    assert!(err.to_string().contains("no text content"), "{err}");

    let report = app.crawler.crawl_single_page(&url, None, &PagePlan::new(Render::Auto), &NoProgress).await.unwrap();
    assert_eq!(report.title.as_deref(), Some("Quantum widget manual"), "the JS-set title");
    let stored: String = db.chunks(&url).await.iter().map(|c| c.content.clone()).collect();
    assert!(stored.contains("entangle telemetry streams"), "{stored}");
    assert!(stored.contains("calibrate the flux capacitor"), "content added by a timer after load: {stored}");

    // A normal page forced through the browser, inside a site crawl.
    let request =
        CrawlRequest { max_depth: 1, render: Render::Browser, ..CrawlRequest::new(site.url("/docs/install.html")) };
    let crawled = app.crawler.smart_crawl(&request, &NoProgress).await.unwrap();
    assert_eq!(crawled.pages_crawled, 1, "{crawled:?}");
    assert!(db.chunks(&site.url("/docs/install.html")).await[0].content.contains("cargo install frobnicator"));
}

#[tokio::test]
async fn the_browser_refuses_private_targets_by_default() {
    let Some(services) = common::services() else { return };
    let Some(chromium) = common::chromium(&services) else { return };
    let site = Site::start().await;
    let guarded = renderer(chromium, false);
    let url = url::Url::parse(&site.url("/js/app.html")).unwrap();
    let err = guarded.render(&url, &RenderOptions::default()).await.unwrap_err().to_string();
    assert!(err.contains("refused") && err.contains("loopback"), "{err}");
    let by_name = url::Url::parse(&format!("http://localhost:{}/js/app.html", site.addr.port())).unwrap();
    let err = guarded.render(&by_name, &RenderOptions::default()).await.unwrap_err().to_string();
    assert!(err.contains("resolves to"), "{err}");
}

#[tokio::test]
async fn stealth_renders_pass_bot_checks_and_wait_for_late_content() {
    let Some(services) = common::services() else { return };
    let Some(chromium) = common::chromium(&services) else { return };
    let site = Site::start().await;
    let browser = chromium_renderer(chromium, true);
    let url = url::Url::parse(&site.url("/js/plans.html")).unwrap();

    let plain = browser.render(&url, &RenderOptions::default()).await.unwrap();
    assert!(plain.text.contains("automated browser detected"), "headless Chromium is detected as a bot");

    let stealth = RenderOptions { stealth: true, ..RenderOptions::default() };
    let hidden = browser.render(&url, &stealth).await.unwrap();
    assert!(hidden.text.contains("42 euros per seat"), "{}", hidden.text);

    let waiting = RenderOptions { wait_for_selector: Some("#late".into()), ..stealth.clone() };
    let full = browser.render(&url, &waiting).await.unwrap();
    assert!(full.text.contains("Enterprise plans are negotiated"), "{}", full.text);

    let never = RenderOptions { wait_for_selector: Some("#never".into()), ..stealth.clone() };
    let quick = ChromiumRenderer::new(ChromiumConfig {
        executable: common::chromium(&services).unwrap(),
        tabs: 1,
        timeout: Duration::from_secs(3),
        allow_private_networks: true,
        trusted_hosts: TrustedHosts::default(),
    });
    let err = quick.render(&url, &never).await.unwrap_err().to_string();
    assert!(err.contains("wait_for_selector '#never' matched nothing"), "{err}");
    let invalid = RenderOptions { wait_for_selector: Some("div[".into()), ..stealth };
    let err = quick.render(&url, &invalid).await.unwrap_err().to_string();
    assert!(err.contains("not a valid CSS selector"), "{err}");

    // A plain render after stealth ones is plain again: stealth tabs are never pooled.
    let again = browser.render(&url, &RenderOptions::default()).await.unwrap();
    assert!(again.text.contains("automated browser detected"));
}

#[tokio::test]
async fn browser_tabs_are_pooled_and_reused_across_pages() {
    let Some(services) = common::services() else { return };
    let Some(chromium) = common::chromium(&services) else { return };
    let site = Site::start().await;
    let browser = chromium_renderer(chromium, true);
    let pages = ["/js/app.html", "/docs/install.html", "/docs/config.html", "/blog/pasta.html"];
    let renders = pages.iter().cycle().take(8).map(|path| {
        let url = url::Url::parse(&site.url(path)).unwrap();
        let browser = &browser;
        async move { browser.render(&url, &RenderOptions::default()).await.map(|b| b.text.len()) }
    });
    let rendered = futures::future::join_all(renders).await;
    assert!(rendered.iter().all(|r| r.as_ref().is_ok_and(|len| *len > 100)), "{rendered:?}");
    assert_eq!(browser.tabs_opened(), 2, "8 pages through a pool of 2 tabs");
}

#[tokio::test]
async fn pages_that_navigate_on_their_own_are_read_after_they_land_and_a_bad_page_keeps_the_browser() {
    let Some(services) = common::services() else { return };
    let Some(chromium) = common::chromium(&services) else { return };
    let site = Site::start().await;
    let browser = chromium_renderer(chromium, true);
    let render = |path: &str| {
        let url = url::Url::parse(&site.url(path)).unwrap();
        let browser = &browser;
        async move { browser.render(&url, &RenderOptions::default()).await }
    };
    let install = render("/docs/install.html").await.unwrap();
    for (path, lands_on) in
        [("/js/refresh.html", "/docs/install.html"), ("/js/script-redirect.html", "/docs/config.html")]
    {
        let body = render(path).await.unwrap_or_else(|e| panic!("{path}: {e}"));
        assert_eq!(body.final_url.path(), lands_on, "{path}");
        if lands_on == "/docs/install.html" {
            assert_eq!(body.text.len(), install.text.len(), "the target's own document: {}", body.text);
        }
    }
    // A page that cannot load fails alone: the healthy browser is not relaunched.
    let unreachable = url::Url::parse("http://127.0.0.1:9/").unwrap();
    assert!(browser.render(&unreachable, &RenderOptions::default()).await.is_err());
    assert!(render("/docs/config.html").await.is_ok());
    assert_eq!(browser.launches(), 1, "one browser for every render, failed ones included");
}

#[tokio::test]
async fn a_page_script_cannot_read_a_private_service_through_the_browser() {
    let Some(services) = common::services() else { return };
    let Some(chromium) = common::chromium(&services) else { return };
    let site = Site::start().await;
    let url = url::Url::parse(&site.url("/js/ssrf.html")).unwrap();

    // Without the guard the page's script reads the "internal" service: the premise holds.
    let open = chromium_renderer(chromium.clone(), true).render(&url, &RenderOptions::default()).await.unwrap();
    assert!(open.text.contains("LEAKED metadata-token-1234"), "{}", open.text);

    // The operator trusts the docs host (127.0.0.1) only; the script's request to `localhost`
    // resolves to loopback and is refused inside the browser.
    let guarded = ChromiumRenderer::new(ChromiumConfig {
        executable: chromium,
        tabs: 1,
        timeout: Duration::from_secs(30),
        allow_private_networks: false,
        trusted_hosts: TrustedHosts::new(["127.0.0.1".to_owned()]),
    });
    let page = guarded.render(&url, &RenderOptions::default()).await.unwrap();
    assert!(page.text.contains("request refused"), "{}", page.text);
    assert!(!page.text.contains("metadata-token"), "{}", page.text);
}
