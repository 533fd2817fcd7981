//! The vertical slice through the library, on both stores: crawl fixture pages, check the rows,
//! and check that queries rank the answering page first and honour the source filter.

use crawlrag::app::App;
use crawlrag::crawl::site::CrawlRequest;
use crawlrag::domain::SourceId;
use crawlrag::progress::NoProgress;
use crawlrag::retrieve::RagQuery;

use crate::both_stores;
use crate::common::{self, Backend, site::Site};

async fn crawl(app: &App, url: &str) -> crawlrag::crawl::SinglePageReport {
    app.crawler
        .crawl_single_page(url, None, &crawlrag::crawl::PagePlan::default(), &NoProgress)
        .await
        .unwrap_or_else(|e| panic!("crawl {url}: {e}"))
}

fn query(text: &str, source: Option<&str>, count: usize) -> RagQuery {
    RagQuery {
        query: text.to_owned(),
        source: source.map(|s| SourceId::from(s.to_owned())),
        match_count: count,
        offset: 0,
        mode: None,
        rerank: None,
    }
}

both_stores!(crawl_single_page_stores_chunks_metadata_embeddings_and_source);
async fn crawl_single_page_stores_chunks_metadata_embeddings_and_source(backend: Backend) {
    let Some(services) = common::services() else { return };
    let site = Site::start().await;
    let (app, db) = common::app(&services, backend, "slice_rows").await;

    let url = site.url("/docs/install.html");
    let report = crawl(&app, &url).await;
    assert_eq!(report.url, url);
    assert_eq!(report.source_id.as_str(), site.source_id());
    assert_eq!(report.title.as_deref(), Some("Installing Frobnicator"));
    assert!(report.chunks_stored >= 1);
    assert_eq!(report.links.internal, vec![site.url("/docs/config.html"), site.url("/docs/install.html")]);
    assert_eq!(report.links.external, vec!["https://example.org/upstream".to_owned()]);

    let rows = db.chunks(&url).await;
    assert_eq!(rows.len(), report.chunks_stored);
    let all_content: String = rows.iter().map(|r| r.content.as_str()).collect();
    assert!(all_content.contains("```sh\ncargo install frobnicator --locked"), "code fence kept: {all_content}");
    assert!(!all_content.contains("Copyright"), "footer outside <main> is not content");
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(row.chunk_number, i as i64);
        assert_eq!(row.dims, 384);
        assert_eq!(row.source_id, site.source_id());
        assert_eq!(row.metadata["chunk_index"], i);
        assert_eq!(row.metadata["url"], url.as_str());
        assert!(row.metadata["char_count"].as_u64().unwrap() > 0);
        assert!(row.metadata["header_path"].is_array());
    }
    assert!(rows[0].metadata["headers"].as_str().unwrap().contains("# Installing Frobnicator"), "{}", rows[0].metadata);

    let (summary, total_words) = db.source(&site.source_id()).await;
    assert_eq!(total_words as usize, report.total_word_count);
    assert!(summary.contains("Frobnicator is a command-line tool"), "{summary}");

    let sources = app.sources.list().await.unwrap();
    assert_eq!(sources.len(), 1);
    assert_eq!((sources[0].pages, sources[0].chunks), (1, report.chunks_stored as i64));
}

both_stores!(long_pages_chunk_with_header_paths_and_recrawls_are_incremental);
async fn long_pages_chunk_with_header_paths_and_recrawls_are_incremental(backend: Backend) {
    let Some(services) = common::services() else { return };
    let site = Site::start().await;
    let (app, db) = common::app(&services, backend, "slice_long").await;
    let url = site.url("/docs/reference.html");

    let first = crawl(&app, &url).await;
    assert!(first.chunks_stored > 5, "a 12-section page at ~1000 chars per chunk: {}", first.chunks_stored);
    let before = db.chunks(&url).await;
    let paths: Vec<&serde_json::Value> = before.iter().map(|c| &c.metadata["header_path"]).collect();
    assert!(paths.iter().skip(1).all(|p| p[0] == "Reference"), "later chunks sit under the h1: {paths:?}");
    assert!(paths.iter().any(|p| p.as_array().is_some_and(|a| a.len() == 2)), "some chunk sits under an h2");

    let crawl_times = |rows: &[common::db::StoredChunk]| -> Vec<String> {
        rows.iter().map(|c| c.metadata["crawl_time"].as_str().unwrap().to_owned()).collect()
    };

    // Unchanged content: nothing is re-chunked, re-embedded or rewritten.
    let second = crawl(&app, &url).await;
    assert!(second.unchanged);
    assert_eq!(crawl_times(&db.chunks(&url).await), crawl_times(&before), "unchanged page left as is");

    // An explicit chunk size re-chunks the page: all of its chunks are replaced, none duplicated.
    let rechunked = app
        .crawler
        .crawl_single_page(&url, Some(500), &crawlrag::crawl::PagePlan::default(), &NoProgress)
        .await
        .unwrap();
    assert!(!rechunked.unchanged && rechunked.chunks_stored > first.chunks_stored);
    let after = db.chunks(&url).await;
    assert_eq!(after.len(), rechunked.chunks_stored, "re-crawl leaves no duplicates");
    assert!(crawl_times(&after).iter().all(|t| !crawl_times(&before).contains(t)), "every chunk was rewritten");
    assert_eq!(db.count("pages").await, 1);
    assert_eq!(db.count("crawled_pages").await as usize, rechunked.chunks_stored);

    // A changed page replaces exactly its own chunks.
    let changing = site.url("/docs/changing.html");
    crawl(&app, &changing).await;
    let v2 = crawl(&app, &changing).await;
    assert!(!v2.unchanged);
    let rows = db.chunks(&changing).await;
    assert!(rows.iter().all(|c| c.content.contains("version 2") && !c.content.contains("version 1")), "{rows:?}");
    assert_eq!(db.chunks(&url).await.len(), rechunked.chunks_stored, "other pages untouched");
}

both_stores!(queries_rank_the_answering_page_first_and_honour_the_source_filter);
async fn queries_rank_the_answering_page_first_and_honour_the_source_filter(backend: Backend) {
    let Some(services) = common::services() else { return };
    let (site_a, site_b) = (Site::start().await, Site::start().await);
    let (app, _db) = common::app(&services, backend, "slice_rank").await;
    for path in ["/docs/install.html", "/docs/config.html", "/blog/pasta.html"] {
        crawl(&app, &site_a.url(path)).await;
    }
    crawl(&app, &site_b.url("/blog/pasta.html")).await;

    let cases = [
        ("How do I install Frobnicator with cargo?", "/docs/install.html"),
        ("Which file holds Frobnicator's settings?", "/docs/config.html"),
        ("How much salt goes into the water for spaghetti?", "/blog/pasta.html"),
    ];
    for (question, expected) in cases {
        let hits = app.retriever.search(&query(question, Some(&site_a.source_id()), 3)).await.unwrap();
        assert_eq!(
            hits[0].url,
            site_a.url(expected),
            "{question}: {:?}",
            hits.iter().map(|h| &h.url).collect::<Vec<_>>()
        );
        assert!(hits.windows(2).all(|w| w[0].similarity >= w[1].similarity), "ranked best first");
    }

    let only_b = app.retriever.search(&query("cooking spaghetti", Some(&site_b.source_id()), 5)).await.unwrap();
    assert!(!only_b.is_empty());
    assert!(only_b.iter().all(|h| h.source_id.as_str() == site_b.source_id()), "source filter respected");

    let everywhere = app.retriever.search(&query("cooking spaghetti", None, 10)).await.unwrap();
    let sources: std::collections::BTreeSet<&str> = everywhere.iter().map(|h| h.source_id.as_str()).collect();
    assert_eq!(sources.len(), 2, "no filter searches both sources");

    let page_two = app.retriever.search(&RagQuery { offset: 1, ..query("cooking spaghetti", None, 1) }).await.unwrap();
    assert_eq!(page_two[0].url, everywhere[1].url, "offset skips the first result");
}

both_stores!(a_different_embedding_model_is_refused_and_data_stays_intact);
async fn a_different_embedding_model_is_refused_and_data_stays_intact(backend: Backend) {
    let Some(services) = common::services() else { return };
    let site = Site::start().await;
    let name = common::unique_schema("slice_meta");
    let (store, _) = common::open_store(&services, backend, &name).await;
    let app =
        App::from_parts(store.clone(), common::embedder(&services), common::loopback_fetcher(), Default::default())
            .await
            .unwrap();
    let report = crawl(&app, &site.url("/docs/install.html")).await;

    let err = store.ensure_embedding_space("openai:text-embedding-3-small", 1536).await.unwrap_err().to_string();
    assert!(err.contains("all-MiniLM-L6-v2") && err.contains("384") && err.contains("1536"), "{err}");
    let (_, reopened) = common::open_store(&services, backend, &name).await;
    assert_eq!(reopened.count("crawled_pages").await as usize, report.chunks_stored);
}

both_stores!(hybrid_search_beats_vector_search_on_exact_identifiers);
async fn hybrid_search_beats_vector_search_on_exact_identifiers(backend: Backend) {
    use crate::common::site::ERROR_CODES;
    use crawlrag::retrieve::SearchMode;

    let Some(services) = common::services() else { return };
    let site = Site::start().await;
    let (app, _db) = common::app(&services, backend, "slice_hybrid").await;
    for code in ERROR_CODES {
        crawl(&app, &site.url(&format!("/errors/{code}.html"))).await;
    }
    // Labelled keyword-heavy questions: each names one error code; the answer is that code's page.
    let mut recall = std::collections::BTreeMap::new();
    for mode in [SearchMode::Vector, SearchMode::Hybrid] {
        let (mut at1, mut at5) = (0, 0);
        for code in ERROR_CODES {
            let expected = site.url(&format!("/errors/{code}.html"));
            let q = RagQuery { mode: Some(mode), ..query(&format!("error {code}"), None, 5) };
            let hits = app.retriever.search(&q).await.unwrap();
            at1 += usize::from(hits.first().is_some_and(|h| h.url == expected));
            at5 += usize::from(hits.iter().any(|h| h.url == expected));
            if mode == SearchMode::Hybrid {
                assert!(hits.iter().all(|h| h.rrf_score.is_some()), "hybrid hits carry their fused score");
                assert!(hits[0].keyword_rank == Some(1), "the exact match is the best keyword hit: {:?}", hits[0]);
            }
        }
        let n = ERROR_CODES.len() as f64;
        recall.insert(format!("{mode:?}"), (at1 as f64 / n, at5 as f64 / n));
    }
    eprintln!("recall@1, recall@5 per mode ({backend:?}): {recall:?}");
    let (vector, hybrid) = (recall["Vector"], recall["Hybrid"]);
    assert_eq!(hybrid.0, 1.0, "hybrid finds every exact identifier first");
    assert!(hybrid.0 > vector.0, "hybrid beats vector on identifiers: {recall:?}");

    // The source filter applies to both sides of a hybrid query.
    let other = Site::start().await;
    crawl(&app, &other.url("/errors/QX7731.html")).await;
    let q = RagQuery { mode: Some(SearchMode::Hybrid), ..query("error QX7731", Some(&other.source_id()), 5) };
    let hits = app.retriever.search(&q).await.unwrap();
    assert!(!hits.is_empty() && hits.iter().all(|h| h.source_id.as_str() == other.source_id()));
}

both_stores!(code_examples_are_extracted_summarised_and_searchable);
async fn code_examples_are_extracted_summarised_and_searchable(backend: Backend) {
    use crawlrag::app::ServiceSettings;
    use crawlrag::ingest::IngestConfig;

    let Some(services) = common::services() else { return };
    let site = Site::start().await;
    let settings = ServiceSettings {
        ingest: IngestConfig { extract_code_examples: true, ..IngestConfig::default() },
        ..Default::default()
    };
    let (app, db) = common::app_with(&services, backend, "slice_code", settings).await;
    let report = crawl(&app, &site.url("/docs/examples.html")).await;
    assert_eq!(report.code_examples_stored, 2, "two long examples; the one-line snippet is not one");
    assert_eq!(db.count("code_examples").await, 2);
    assert_eq!(app.sources.list().await.unwrap()[0].code_examples, 2, "sources report code examples");

    let python =
        app.retriever.search_code(&query("load settings from a TOML config file in python", None, 2)).await.unwrap();
    assert_eq!(python.len(), 2);
    assert!(python[0].code.contains("def load_settings"), "{:?}", python[0]);
    assert_eq!(python[0].metadata["language"], "python");
    assert!(python[0].summary.starts_with("A python example: Load the TOML settings file"), "{}", python[0].summary);
    let rust = app.retriever.search_code(&query("compress files of a directory in rust", None, 1)).await.unwrap();
    assert!(rust[0].code.contains("fn compress_dir(dir: &str"), "entities decoded: {}", rust[0].code);
    assert!(python[0].similarity > python[1].similarity);

    let elsewhere = app.retriever.search_code(&query("compress", Some("nowhere.example"), 5)).await.unwrap();
    assert!(elsewhere.is_empty(), "source filter applies");
    crawl(&app, &site.url("/docs/install.html")).await;
    assert_eq!(db.count("code_examples").await, 2, "pages without long code add none");
}

#[tokio::test]
async fn sqlite_vector_cache_sees_writes_from_another_process() {
    let Some(services) = common::services() else { return };
    let site = Site::start().await;
    let name = common::unique_schema("slice_cache");
    // Two stores on one file stand for two processes (a server and a CLI crawl).
    let (reader_store, _) = common::open_store(&services, Backend::Sqlite, &name).await;
    let (writer_store, _) = common::open_store(&services, Backend::Sqlite, &name).await;
    let reader =
        App::from_parts(reader_store, common::embedder(&services), common::loopback_fetcher(), Default::default())
            .await
            .unwrap();
    let writer =
        App::from_parts(writer_store, common::embedder(&services), common::loopback_fetcher(), Default::default())
            .await
            .unwrap();

    crawl(&writer, &site.url("/docs/install.html")).await;
    let first = reader.retriever.search(&query("how much salt for pasta water", None, 5)).await.unwrap();
    assert!(first.iter().all(|h| !h.url.ends_with("pasta.html")), "not crawled yet");

    crawl(&writer, &site.url("/blog/pasta.html")).await;
    let second = reader.retriever.search(&query("how much salt for pasta water", None, 5)).await.unwrap();
    assert_eq!(
        second[0].url,
        site.url("/blog/pasta.html"),
        "the reader's cache reloaded after the other writer's commit"
    );

    writer.sources.delete(&SourceId::from(site.source_id())).await.unwrap();
    let third = reader.retriever.search(&query("how much salt for pasta water", None, 5)).await.unwrap();
    assert!(third.is_empty(), "deleted chunks are gone from the cache: {third:?}");
}

both_stores!(recrawls_send_validators_and_a_304_costs_no_download);
async fn recrawls_send_validators_and_a_304_costs_no_download(backend: Backend) {
    use std::sync::atomic::Ordering;

    let Some(services) = common::services() else { return };
    let site = Site::start().await;
    let (app, db) = common::app(&services, backend, "slice_etag").await;
    let url = site.url("/docs/etag.html");
    let first = crawl(&app, &url).await;
    assert!(!first.unchanged && first.chunks_stored == 1);
    let rows = db.chunks(&url).await;
    assert_eq!(site.state.etag_full_responses.load(Ordering::SeqCst), 1);

    let second = crawl(&app, &url).await;
    assert!(second.unchanged, "the server said 304");
    assert_eq!(site.state.etag_full_responses.load(Ordering::SeqCst), 1, "the re-crawl downloaded nothing");
    assert_eq!(db.chunks(&url).await, rows, "stored chunks kept");

    // The same through a site crawl whose links are not followed: counted as unchanged.
    let request = CrawlRequest { max_depth: 1, ..CrawlRequest::new(&url) };
    let report = app.crawler.smart_crawl(&request, &NoProgress).await.unwrap();
    assert_eq!((report.pages_crawled, report.pages_unchanged, report.chunks_stored), (1, 1, 0), "{report:?}");
    assert_eq!(site.state.etag_full_responses.load(Ordering::SeqCst), 1);
}

both_stores!(pages_gone_from_a_recrawled_sitemap_are_pruned);
async fn pages_gone_from_a_recrawled_sitemap_are_pruned(backend: Backend) {
    use std::sync::atomic::Ordering;

    let Some(services) = common::services() else { return };
    let site = Site::start().await;
    let (app, db) = common::app(&services, backend, "slice_prune").await;
    let request = CrawlRequest::new(site.url("/retire-sitemap.xml"));
    let first = app.crawler.smart_crawl(&request, &NoProgress).await.unwrap();
    assert_eq!(first.pages_crawled, 2, "{first:?}");
    let retired = site.url("/docs/retired.html");
    let install = site.url("/docs/install.html");
    assert!(!db.chunks(&retired).await.is_empty());
    let install_rows = db.chunks(&install).await;

    site.state.retired.store(true, Ordering::SeqCst);
    let second = app.crawler.smart_crawl(&request, &NoProgress).await.unwrap();
    assert_eq!(second.pages_pruned, 1, "{second:?}");
    assert!(second.failed.iter().any(|f| f.url == retired && f.error.contains("410")), "{second:?}");
    assert!(db.chunks(&retired).await.is_empty(), "the gone page's chunks are deleted");
    assert_eq!(db.chunks(&install).await, install_rows, "other pages untouched");
    let sources = app.sources.list().await.unwrap();
    let source = sources.iter().find(|s| s.source_id.as_str() == site.source_id()).unwrap();
    assert_eq!(source.pages, 1, "{source:?}");
}
