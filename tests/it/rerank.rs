//! Reranking: a /rerank service over real HTTP (a local stand-in for the paid API, both wire
//! shapes, throttling, malformed answers, outage), the real cross-encoder where its weights exist
//! locally, and a plain error when reranking is asked for with no reranker.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use crawlrag::adapters::cross_encoder::CrossEncoder;
use crawlrag::adapters::http_reranker::HttpReranker;
use crawlrag::adapters::provider_http::ProviderConfig;
use crawlrag::app::ServiceSettings;
use crawlrag::crawl::PagePlan;
use crawlrag::ports::Reranker;
use crawlrag::progress::NoProgress;
use crawlrag::retrieve::{RagQuery, SearchMode};

use serde_json::json;

use crate::common::binary::{self, StoreTarget};
use crate::common::openai_stub::OpenAiStub;
use crate::common::site::{ERROR_CODES, Site};
use crate::common::{self, Backend};

fn provider(base_url: &str) -> ProviderConfig {
    ProviderConfig {
        base_url: base_url.to_owned(),
        api_key: Some("test-key".into()),
        timeout: Duration::from_secs(5),
        max_in_flight: 2,
    }
}

fn query(text: &str, rerank: Option<bool>) -> RagQuery {
    RagQuery { query: text.into(), source: None, match_count: 3, offset: 0, mode: Some(SearchMode::Vector), rerank }
}

#[tokio::test]
async fn a_rerank_service_reorders_candidates_and_reports_its_scores() {
    let Some(services) = common::services() else { return };
    let site = Site::start().await;
    let api = OpenAiStub { throttle_models_first: 1, ..OpenAiStub::default() };
    let base = api.clone().start().await;
    let reranker: Arc<dyn Reranker> = Arc::new(HttpReranker::new(provider(&base), "rerank-english-v3.0").unwrap());
    let settings = ServiceSettings { reranker: Some(Arc::clone(&reranker)), ..ServiceSettings::default() };
    let (app, _db) = common::app_with(&services, Backend::Sqlite, "rerank_http", settings).await;
    for code in ERROR_CODES {
        let url = site.url(&format!("/errors/{code}.html"));
        app.crawler.crawl_single_page(&url, None, &PagePlan::default(), &NoProgress).await.unwrap();
    }

    // Twelve pages differing only in the digit order of their code: embeddings cannot tell them
    // apart, the reranker (which reads the words) can.
    let wanted = ERROR_CODES[7];
    let plain = app.retriever.search(&query(&format!("error {wanted}"), Some(false))).await.unwrap();
    assert!(plain.iter().all(|h| h.rerank_score.is_none()));
    let reranked = app.retriever.search(&query(&format!("error {wanted}"), Some(true))).await.unwrap();
    assert_eq!(reranked.len(), 3);
    assert!(reranked[0].url.ends_with(&format!("/errors/{wanted}.html")), "{:?}", reranked[0].url);
    let scores: Vec<f64> = reranked.iter().map(|h| h.rerank_score.unwrap()).collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]) && scores[0] > scores[1], "{scores:?}");
    assert!(api.rerank_requests.load(Ordering::SeqCst) >= 2, "the 429 was retried");

    // TEI's answer shape reads the same; a garbled answer is a precise error.
    let tei = HttpReranker::new(provider(&base), "tei").unwrap();
    let docs = vec!["nothing here".to_owned(), "error QX1 here".to_owned()];
    assert_eq!(tei.rerank("error QX1", &docs).await.unwrap(), vec![0.0, 1.0]);
    let garbled = HttpReranker::new(provider(&base), "garbled").unwrap();
    let err = garbled.rerank("q", &docs).await.unwrap_err().to_string();
    assert!(err.contains("unexpected shape"), "{err}");

    // A provider that is down: retried, then reported, then the circuit fails fast.
    let dead = HttpReranker::new(provider("http://127.0.0.1:9/v1"), "any").unwrap();
    for _ in 0..3 {
        let err = dead.rerank("q", &docs).await.unwrap_err().to_string();
        assert!(err.contains("failed after 4 attempts"), "{err}");
    }
    let started = std::time::Instant::now();
    let err = dead.rerank("q", &docs).await.unwrap_err().to_string();
    assert!(err.contains("circuit open") && started.elapsed() < Duration::from_millis(100), "{err}");
}

#[tokio::test]
async fn asking_for_reranking_without_a_reranker_says_so() {
    let Some(services) = common::services() else { return };
    let (app, _db) = common::app(&services, Backend::Sqlite, "rerank_none").await;
    let err = app.retriever.search(&query("anything", Some(true))).await.unwrap_err().to_string();
    assert!(err.contains("no reranker is available") && err.contains("CRAWLRAG_RERANK_MODEL_PATH"), "{err}");
}

#[tokio::test]
async fn the_local_cross_encoder_ranks_the_answer_first_where_its_weights_exist() {
    let Some(dir) = std::env::var_os("CRAWLRAG_RERANK_MODEL_PATH") else {
        // No cross-encoder weights ship with any package this machine can install offline.
        eprintln!(
            "SKIPPED: cross-encoder test: CRAWLRAG_RERANK_MODEL_PATH is not set (no ms-marco-MiniLM-L-6-v2 weights \
             available offline)"
        );
        return;
    };
    let encoder = CrossEncoder::load(std::path::Path::new(&dir), "cross-encoder").expect("load cross-encoder");
    let docs = vec![
        "Cook pasta in salted boiling water for nine minutes.".to_owned(),
        "Install Frobnicator with cargo install frobnicator --locked.".to_owned(),
        "The weather in Lisbon is mild in winter.".to_owned(),
    ];
    let scores = encoder.rerank("how do I install frobnicator", &docs).await.unwrap();
    let best = scores.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).unwrap().0;
    assert_eq!(best, 1, "{scores:?}");
}

#[tokio::test]
async fn the_server_reranks_through_a_configured_rerank_service() {
    let Some(services) = common::services() else { return };
    let site = Site::start().await;
    let base = OpenAiStub::default().start().await;
    let store = StoreTarget::fresh(&services, Backend::Sqlite, "rerank_mcp");
    let env = [("CRAWLRAG_RERANK_URL", base.as_str()), ("CRAWLRAG_RERANK_MODEL", "rerank-stub")];
    let client = binary::stdio_client_env(&services, &store, (), &env).await;
    for path in ["/docs/install.html", "/docs/config.html", "/blog/pasta.html"] {
        binary::call(&client, "crawl_single_page", json!({"url": site.url(path)})).await.unwrap();
    }
    let args = json!({"query": "compression level key", "rerank": true, "match_count": 2});
    let body = binary::body(&binary::call(&client, "perform_rag_query", args).await.unwrap());
    assert_eq!(body["reranked_by"], format!("http:rerank-stub@{base}"), "{body}");
    assert!(body["results"][0]["url"].as_str().unwrap().ends_with("/docs/config.html"), "{body}");
    assert!(
        body["results"][0]["rerank_score"].as_f64().unwrap() >= body["results"][1]["rerank_score"].as_f64().unwrap()
    );
    let plain =
        binary::body(&binary::call(&client, "perform_rag_query", json!({"query": "compression level"})).await.unwrap());
    assert!(plain.get("reranked_by").is_none() && plain["results"][0].get("rerank_score").is_none(), "{plain}");
    client.cancel().await.unwrap();
}
