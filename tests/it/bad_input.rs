//! Bad input through the real stdio server: each case is a clear tool error, the server keeps
//! serving, and data already stored is intact.

use serde_json::json;

use crate::both_stores;
use crate::common::binary::StoreTarget;
use crate::common::{self, Backend, binary, site::Site};
use crawlrag::progress::NoProgress;

both_stores!(each_bad_url_is_a_clear_tool_error_and_the_server_keeps_serving);
async fn each_bad_url_is_a_clear_tool_error_and_the_server_keeps_serving(backend: Backend) {
    let Some(services) = common::services() else { return };
    let site = Site::start().await;
    let client = binary::stdio_client(&services, &StoreTarget::fresh(&services, backend, "bad_stdio")).await;

    let good =
        binary::call(&client, "crawl_single_page", json!({"url": site.url("/docs/install.html")})).await.unwrap();
    assert!(!binary::is_error(&good), "{:?}", binary::body(&good));
    let stored = binary::body(&good)["chunks_stored"].as_u64().unwrap();

    let cases = [
        ("not a url".to_owned(), "is not a valid absolute URL"),
        ("ftp://127.0.0.1/file.txt".to_owned(), "scheme 'ftp' is not supported"),
        ("http://127.0.0.1:1/".to_owned(), "could not connect"),
        (site.url("/missing"), "answered HTTP 404"),
        (site.url("/image.png"), "content type 'image/png'"),
        (site.url("/download.bin"), "content type 'application/octet-stream'"),
        (site.url("/mislabelled.html"), "binary data"),
        (site.url("/huge.html"), "larger than the page size cap"),
        (site.url("/loop/a"), "redirect loop"),
        (site.url("/empty.html"), "no text content"),
    ];
    for (url, expected) in cases {
        let result = binary::call(&client, "crawl_single_page", json!({"url": url}))
            .await
            .expect("a tool result, not a protocol error");
        assert!(binary::is_error(&result), "{url} should fail");
        let body = binary::body(&result);
        assert_eq!(body["success"], false);
        let message = body["error"].as_str().unwrap_or_default();
        assert!(message.contains(expected), "{url}: expected '{expected}' in '{message}'");
    }

    for (args, expected) in [
        (json!({"query": "   "}), "query is empty"),
        (json!({"query": "install", "match_count": 0}), "match_count must be between 1 and 100"),
        (json!({"query": "install", "match_count": 1000}), "match_count must be between 1 and 100"),
    ] {
        let result = binary::call(&client, "perform_rag_query", args).await.unwrap();
        assert!(binary::is_error(&result));
        assert!(binary::body(&result)["error"].as_str().unwrap().contains(expected));
    }
    let missing = binary::call(&client, "perform_rag_query", json!({})).await;
    match missing {
        Ok(result) => assert!(binary::is_error(&result)),
        Err(e) => assert!(e.to_string().contains("query"), "{e}"),
    }

    // Still serving, and the good page is intact.
    let sources = binary::call(&client, "get_available_sources", json!({})).await.unwrap();
    let sources = binary::body(&sources);
    assert_eq!(sources["count"], 1);
    assert_eq!(sources["sources"][0]["chunks"].as_u64(), Some(stored));
    let moved = binary::call(&client, "crawl_single_page", json!({"url": site.url("/moved")})).await.unwrap();
    assert_eq!(binary::body(&moved)["url"], site.url("/docs/install.html"), "redirects are followed to the final URL");
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn private_network_targets_are_refused_by_default() {
    let Some(services) = common::services() else { return };
    let site = Site::start().await;
    let (store, _) = common::open_store(&services, Backend::Sqlite, &common::unique_schema("bad_ssrf")).await;
    let fetcher = std::sync::Arc::new(crawlrag::adapters::http_fetcher::HttpFetcher::new(Default::default()).unwrap());
    let app =
        crawlrag::app::App::from_parts(store, common::embedder(&services), fetcher, Default::default()).await.unwrap();
    for (url, expected) in [
        (site.url("/docs/install.html"), "loopback address"),
        (format!("http://localhost:{}/docs/install.html", site.addr.port()), "resolves to"),
        ("http://169.254.169.254/latest/meta-data/".to_owned(), "cloud metadata address"),
        ("http://10.0.0.1/".to_owned(), "private network address"),
    ] {
        let err = app
            .crawler
            .crawl_single_page(&url, None, &crawlrag::crawl::PagePlan::default(), &NoProgress)
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("refused") && err.contains(expected), "{url}: {err}");
        assert!(err.contains("CRAWLRAG_ALLOW_PRIVATE_NETWORKS"), "says how to allow it: {err}");
    }
}

#[tokio::test]
async fn a_trusted_host_is_crawled_while_other_private_targets_stay_refused() {
    use crawlrag::adapters::http_fetcher::{HttpFetcher, HttpFetcherConfig};
    use crawlrag::domain::target::TrustedHosts;

    let Some(services) = common::services() else { return };
    let site = Site::start().await;
    let (store, _) = common::open_store(&services, Backend::Sqlite, &common::unique_schema("bad_trusted")).await;
    let config = HttpFetcherConfig { trusted_hosts: TrustedHosts::new(["127.0.0.1".to_owned()]), ..Default::default() };
    let fetcher = std::sync::Arc::new(HttpFetcher::new(config).unwrap());
    let app =
        crawlrag::app::App::from_parts(store, common::embedder(&services), fetcher, Default::default()).await.unwrap();
    let plan = crawlrag::crawl::PagePlan::default();
    let trusted = app.crawler.crawl_single_page(&site.url("/docs/install.html"), None, &plan, &NoProgress).await;
    assert!(trusted.is_ok_and(|r| r.chunks_stored >= 1), "the named host is crawled");
    let by_name = format!("http://localhost:{}/docs/config.html", site.addr.port());
    let err = app.crawler.crawl_single_page(&by_name, None, &plan, &NoProgress).await.unwrap_err().to_string();
    assert!(err.contains("resolves to"), "another name for a private address stays refused: {err}");
    // Another private address, not named, stays refused.
    let err =
        app.crawler.crawl_single_page("http://127.0.0.2/", None, &plan, &NoProgress).await.unwrap_err().to_string();
    assert!(err.contains("loopback address"), "{err}");
}
