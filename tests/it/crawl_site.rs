//! Whole-site crawls against the generated docs site: breadth-first with depth, scope, robots.txt
//! and traps; sitemaps (index, gzip, other hosts, broken, bombs); llms.txt; retries; budgets.
//! Checks stored rows and the fixture's request log, not just returned counts.

use crawlrag::crawl::site::{CrawlRequest, CrawlType};
use crawlrag::progress::NoProgress;

use crate::both_stores;
use crate::common::docs_site::DocsSite;
use crate::common::{self, Backend};

both_stores!(breadth_first_crawl_respects_depth_scope_robots_and_traps);
async fn breadth_first_crawl_respects_depth_scope_robots_and_traps(backend: Backend) {
    let Some(services) = common::services() else { return };
    let site = DocsSite::start().await;
    let (app, db) = common::app(&services, backend, "site_bfs").await;

    let report = app.crawler.smart_crawl(&CrawlRequest::new(site.url("/docs/index.html")), &NoProgress).await.unwrap();
    assert_eq!(report.crawl_type, CrawlType::Webpage);
    // depth 3 = index, its links (pages 0-9, calendar month 1), and their links (pages 1-19, month 2)
    let mut expected: Vec<String> = (0..20).map(|i| site.url(&format!("/docs/page-{i}.html"))).collect();
    expected.push(site.url("/docs/index.html"));
    expected.push(site.url("/docs/cal?month=1"));
    expected.push(site.url("/docs/cal?month=2"));
    expected.sort();
    let mut crawled = report.urls_crawled.clone();
    crawled.sort();
    assert_eq!(crawled, expected, "{report:#?}");
    assert_eq!(report.pages_crawled, expected.len());
    assert_eq!(report.pages_failed, 0, "{:?}", report.failed);
    assert_eq!(report.sources_updated.iter().cloned().collect::<Vec<_>>(), vec![site.source_id()]);

    assert_eq!(site.hits("/docs/private/secret.html"), 0, "robots.txt disallow is honoured");
    assert!(
        report.skipped.iter().any(|s| s.url.ends_with("/docs/private/secret.html") && s.error.contains("robots.txt"))
    );
    assert_eq!(site.hits("/blog/post.html"), 0, "prefix scope keeps the crawl in /docs/");
    assert_eq!(site.hits("/docs/page-20.html"), 0, "depth limit");
    assert_eq!(site.hits("/docs/index.html"), 1, "tracking parameters and fragments are deduplicated");
    assert_eq!(site.hits("/robots.txt"), 1, "robots.txt is read once per crawl");

    assert_eq!(db.count("pages").await as usize, expected.len());
    for url in &expected {
        assert!(!db.chunks(url).await.is_empty(), "{url} has stored chunks");
    }
    let question = crawlrag::retrieve::RagQuery {
        query: "how are the schedulers tuned?".into(),
        source: None,
        match_count: 1,
        offset: 0,
        mode: None,
        rerank: None,
    };
    let schedulers: Vec<String> = [2, 7, 12, 17].iter().map(|i| site.url(&format!("/docs/page-{i}.html"))).collect();
    let top = &app.retriever.search(&question).await.unwrap()[0].url;
    assert!(schedulers.contains(top), "a schedulers page answers first, got {top}");
}

#[tokio::test]
async fn generated_url_spaces_and_budgets_are_bounded() {
    let Some(services) = common::services() else { return };
    let site = DocsSite::start().await;
    let (app, _db) = common::app(&services, Backend::Sqlite, "site_trap").await;

    let calendar = CrawlRequest { max_depth: 1000, max_pages: 200, ..CrawlRequest::new(site.url("/docs/cal?month=1")) };
    let report = app.crawler.smart_crawl(&calendar, &NoProgress).await.unwrap();
    assert!(report.pages_crawled <= 26, "calendar trap bounded: {}", report.pages_crawled);
    assert!(report.skipped.iter().any(|s| s.error.contains("crawler trap")), "{:?}", report.skipped);

    let budget = CrawlRequest { max_depth: 10, max_pages: 5, ..CrawlRequest::new(site.url("/docs/index.html")) };
    let report = app.crawler.smart_crawl(&budget, &NoProgress).await.unwrap();
    assert_eq!(report.pages_crawled, 5);
    assert!(report.skipped.iter().any(|s| s.error.contains("page budget")), "{:?}", report.skipped);

    let only = CrawlRequest {
        max_depth: 2,
        include: vec!["*/page-1*".into()],
        exclude: vec!["page-12".into()],
        ..CrawlRequest::new(site.url("/docs/page-1.html"))
    };
    let report = app.crawler.smart_crawl(&only, &NoProgress).await.unwrap();
    let mut urls = report.urls_crawled.clone();
    urls.sort();
    assert_eq!(urls, vec![site.url("/docs/page-1.html"), site.url("/docs/page-11.html")], "{report:#?}");
}

#[tokio::test]
async fn sitemaps_indexes_and_gzip_are_followed_and_other_hosts_skipped() {
    let Some(services) = common::services() else { return };
    let site = DocsSite::start().await;
    let (app, db) = common::app(&services, Backend::Sqlite, "site_sitemap").await;

    let report =
        app.crawler.smart_crawl(&CrawlRequest::new(site.url("/sitemap_index.xml")), &NoProgress).await.unwrap();
    assert_eq!(report.crawl_type, CrawlType::Sitemap);
    assert_eq!(report.pages_crawled, 20, "10 from the plain child, 10 from the gzipped one: {report:#?}");
    assert_eq!(site.hits("/docs/page-35.html"), 1);
    assert_eq!(site.hits("/docs/page-19.html"), 0, "sitemap pages are not link-followed");

    let report = app.crawler.smart_crawl(&CrawlRequest::new(site.url("/sitemap.xml")), &NoProgress).await.unwrap();
    assert_eq!(report.pages_crawled, 20);
    assert!(report.skipped.iter().any(|s| s.url.contains("other.invalid") && s.error.contains("another host")));
    assert_eq!(db.count("pages").await, 40);
}

#[tokio::test]
async fn broken_sitemaps_text_files_and_flaky_pages() {
    let Some(services) = common::services() else { return };
    let site = DocsSite::start().await;
    let (app, db) = common::app(&services, Backend::Sqlite, "site_edges").await;

    let err =
        app.crawler.smart_crawl(&CrawlRequest::new(site.url("/broken-sitemap.xml")), &NoProgress).await.unwrap_err();
    assert!(err.to_string().contains("sitemap"), "{err}");
    let err =
        app.crawler.smart_crawl(&CrawlRequest::new(site.url("/bomb-sitemap.xml.gz")), &NoProgress).await.unwrap_err();
    assert!(err.to_string().contains("gzip bomb"), "{err}");

    let report = app.crawler.smart_crawl(&CrawlRequest::new(site.url("/llms.txt")), &NoProgress).await.unwrap();
    assert_eq!((report.crawl_type, report.pages_crawled), (CrawlType::TxtFile, 1));
    let stored = db.chunks(&site.url("/llms.txt")).await;
    assert!(stored[0].content.starts_with("# Widgets\n\n> Widgets compact telemetry."), "stored as-is");

    let flaky = CrawlRequest { max_depth: 1, ..CrawlRequest::new(site.url("/docs/flaky.html")) };
    let report = app.crawler.smart_crawl(&flaky, &NoProgress).await.unwrap();
    assert_eq!(report.pages_crawled, 1, "{report:#?}");
    assert_eq!(site.hits("/docs/flaky.html"), 2, "a 503 with Retry-After is retried");

    let missing = CrawlRequest { max_depth: 1, ..CrawlRequest::new(site.url("/docs/page-999.html")) };
    let err = app.crawler.smart_crawl(&missing, &NoProgress).await.unwrap_err();
    assert!(err.to_string().contains("HTTP 404"), "{err}");
    let bad = CrawlRequest { max_concurrent: 0, ..CrawlRequest::new(site.url("/docs/index.html")) };
    assert!(app.crawler.smart_crawl(&bad, &NoProgress).await.unwrap_err().to_string().contains("max_concurrent"));
}

#[tokio::test]
async fn recrawling_an_unchanged_site_makes_zero_embedding_calls() {
    use std::sync::atomic::Ordering;

    use crawlrag::adapters::openai_embedder::{OpenAiEmbedder, OpenAiEmbedderConfig};

    let Some(services) = common::services() else { return };
    let site = DocsSite::start().await;
    let api = crate::common::openai_stub::OpenAiStub { dimensions: 16, ..Default::default() };
    let base_url = api.clone().start().await;
    let embedder = std::sync::Arc::new(
        OpenAiEmbedder::new(OpenAiEmbedderConfig {
            base_url,
            api_key: "sk-test".into(),
            model: "text-embedding-3-small".into(),
            dimensions: 16,
            batch_size: 100,
            ..Default::default()
        })
        .unwrap(),
    );
    let (store, _db) = common::open_store(&services, Backend::Sqlite, &common::unique_schema("site_incremental")).await;
    let app =
        crawlrag::app::App::from_parts(store, embedder, common::loopback_fetcher(), Default::default()).await.unwrap();

    let request = CrawlRequest::new(site.url("/sitemap.xml"));
    let first = app.crawler.smart_crawl(&request, &NoProgress).await.unwrap();
    assert_eq!((first.pages_crawled, first.pages_unchanged), (20, 0));
    let calls = api.requests.load(Ordering::SeqCst);
    assert!(calls >= 20, "one request per page at least: {calls}");

    let second = app.crawler.smart_crawl(&request, &NoProgress).await.unwrap();
    assert_eq!((second.pages_crawled, second.pages_unchanged, second.chunks_stored), (20, 20, 0));
    assert_eq!(api.requests.load(Ordering::SeqCst), calls, "no embedding call for unchanged pages");
}

both_stores!(texts_embedded_once_are_served_from_the_embedding_cache);
async fn texts_embedded_once_are_served_from_the_embedding_cache(backend: Backend) {
    use std::sync::atomic::Ordering;

    use crawlrag::adapters::openai_embedder::{OpenAiEmbedder, OpenAiEmbedderConfig};

    let Some(services) = common::services() else { return };
    let site = crate::common::site::Site::start().await;
    let api = crate::common::openai_stub::OpenAiStub { dimensions: 16, ..Default::default() };
    let base_url = api.clone().start().await;
    let config = OpenAiEmbedderConfig {
        base_url,
        api_key: "sk-test".into(),
        model: "text-embedding-3-small".into(),
        dimensions: 16,
        batch_size: 100,
        ..Default::default()
    };
    let embedder = std::sync::Arc::new(OpenAiEmbedder::new(config).unwrap());
    let (store, db) = common::open_store(&services, backend, &common::unique_schema("embed_cache")).await;
    let app =
        crawlrag::app::App::from_parts(store, embedder, common::loopback_fetcher(), Default::default()).await.unwrap();
    let url = site.url("/docs/reference.html");

    let first = app
        .crawler
        .crawl_single_page(&url, Some(800), &crawlrag::crawl::PagePlan::default(), &NoProgress)
        .await
        .unwrap();
    let embedded = api.inputs.load(Ordering::SeqCst);
    assert_eq!(embedded, first.chunks_stored, "every new chunk embedded once");

    // Same chunking again (forced by an explicit chunk size): every text comes from the cache.
    let again = app
        .crawler
        .crawl_single_page(&url, Some(800), &crawlrag::crawl::PagePlan::default(), &NoProgress)
        .await
        .unwrap();
    assert!(!again.unchanged, "an explicit chunk size re-chunks");
    assert_eq!(api.inputs.load(Ordering::SeqCst), embedded, "no embedding call for cached texts");
    assert_eq!(db.chunks(&url).await.len(), again.chunks_stored);

    // Different chunking produces new texts: only those are embedded.
    let rechunked = app
        .crawler
        .crawl_single_page(&url, Some(300), &crawlrag::crawl::PagePlan::default(), &NoProgress)
        .await
        .unwrap();
    let now = api.inputs.load(Ordering::SeqCst);
    assert!(now > embedded && now - embedded <= rechunked.chunks_stored);
}
