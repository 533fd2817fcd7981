//! JavaScript rendering in real headless Chromium: script-only pages are detected and rendered
//! (including content added by timers), plain HTTP mode refuses to pretend, and the SSRF guard
//! applies to browser targets too.

use std::sync::Arc;
use std::time::Duration;

use crawlrag::adapters::chromium::{ChromiumConfig, ChromiumRenderer};
use crawlrag::app::ServiceSettings;
use crawlrag::crawl::Render;
use crawlrag::crawl::site::CrawlRequest;
use crawlrag::ports::Renderer;
use crawlrag::progress::NoProgress;

use crate::common::site::Site;
use crate::common::{self, Backend};

fn renderer(executable: std::path::PathBuf, allow_private_networks: bool) -> Arc<dyn Renderer> {
    Arc::new(ChromiumRenderer::new(ChromiumConfig {
        executable,
        tabs: 2,
        timeout: Duration::from_secs(30),
        allow_private_networks,
    }))
}

#[tokio::test]
async fn script_only_pages_are_rendered_in_chromium_and_http_mode_does_not_pretend() {
    let Some(services) = common::services() else { return };
    let Some(chromium) = common::chromium(&services) else { return };
    let site = Site::start().await;
    let settings = ServiceSettings { renderer: Some(renderer(chromium, true)), ..Default::default() };
    let (app, db) = common::app_with(&services, Backend::Sqlite, "render_auto", settings).await;
    let url = site.url("/js/app.html");

    let err = app.crawler.crawl_single_page(&url, None, Render::Http, &NoProgress).await.unwrap_err();
    assert!(err.to_string().contains("no text content"), "{err}");

    let report = app.crawler.crawl_single_page(&url, None, Render::Auto, &NoProgress).await.unwrap();
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
    let err = guarded.render(&url).await.unwrap_err().to_string();
    assert!(err.contains("refused") && err.contains("loopback"), "{err}");
    let by_name = url::Url::parse(&format!("http://localhost:{}/js/app.html", site.addr.port())).unwrap();
    let err = guarded.render(&by_name).await.unwrap_err().to_string();
    assert!(err.contains("resolves to"), "{err}");
}
