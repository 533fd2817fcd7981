//! A chat model at ingest time, over real HTTP to a local stand-in for the paid API: contextual
//! embeddings (`context\n---\nchunk`), model-written code and source summaries, answers cached so
//! re-crawls cost no calls, and a garbled or throttled provider never failing a crawl.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use crawlrag::adapters::openai_chat::OpenAiChat;
use crawlrag::adapters::provider_http::ProviderConfig;
use crawlrag::app::ServiceSettings;
use crawlrag::crawl::PagePlan;
use crawlrag::ingest::IngestConfig;
use crawlrag::ports::ChatModel;
use crawlrag::progress::NoProgress;

use crate::common::db::Db;
use crate::common::openai_stub::OpenAiStub;
use crate::common::site::Site;
use crate::common::{self, Backend};

fn chat(base: &str, model: &str) -> Arc<dyn ChatModel> {
    let provider =
        ProviderConfig { base_url: base.to_owned(), api_key: None, timeout: Duration::from_secs(5), max_in_flight: 4 };
    Arc::new(OpenAiChat::new(provider, model).unwrap())
}

fn settings(chat: Arc<dyn ChatModel>) -> ServiceSettings {
    ServiceSettings {
        ingest: IngestConfig { contextual_embeddings: true, extract_code_examples: true, ..IngestConfig::default() },
        chat: Some(chat),
        ..ServiceSettings::default()
    }
}

async fn code_summaries(db: &Db) -> Vec<String> {
    let Db::Sqlite(pool) = db else { unreachable!("these tests run on SQLite") };
    sqlx::query_scalar("select summary from code_examples order by chunk_number").fetch_all(pool).await.unwrap()
}

#[tokio::test]
async fn contextual_embeddings_and_model_summaries_are_stored_and_cached() {
    let Some(services) = common::services() else { return };
    let site = Site::start().await;
    let api = OpenAiStub { throttle_models_first: 1, ..OpenAiStub::default() };
    let base = api.clone().start().await;
    let (app, db) = common::app_with(&services, Backend::Sqlite, "enrich", settings(chat(&base, "gpt-test"))).await;
    let url = site.url("/docs/examples.html");
    let plan = PagePlan::default();

    let report = app.crawler.crawl_single_page(&url, None, &plan, &NoProgress).await.unwrap();
    assert!(report.chunks_stored >= 1 && report.code_examples_stored >= 1, "{report:?}");
    let chunks = db.chunks(&url).await;
    for chunk in &chunks {
        assert!(
            chunk.content.starts_with("Situated: this chunk belongs to the page titled Examples.\n---\n"),
            "{}",
            chunk.content
        );
    }
    assert!(code_summaries(&db).await.iter().all(|s| s.starts_with("Model summary: ")));
    let (summary, _) = db.source(&site.source_id()).await;
    assert_eq!(summary, "Model summary of the source: documentation titled Examples.");
    let calls = api.chat_requests.load(Ordering::SeqCst);
    assert!(calls > chunks.len() + 2, "contexts, code and source summaries (plus one 429 retried): {calls}");

    // Unchanged page: nothing re-chunked, no calls. Forced re-chunk to the same chunks: cached.
    app.crawler.crawl_single_page(&url, None, &plan, &NoProgress).await.unwrap();
    let size = Some(app.pipeline.default_chunk_size());
    let again = app.crawler.crawl_single_page(&url, size, &plan, &NoProgress).await.unwrap();
    assert_eq!(again.chunks_stored, chunks.len());
    assert_eq!(api.chat_requests.load(Ordering::SeqCst), calls, "every answer came from the cache");
    let contents =
        |chunks: Vec<crate::common::db::StoredChunk>| chunks.into_iter().map(|c| c.content).collect::<Vec<_>>();
    assert_eq!(contents(db.chunks(&url).await), contents(chunks), "the same contexts, from the cache");
}

#[tokio::test]
async fn a_garbled_chat_provider_falls_back_without_failing_the_crawl() {
    let Some(services) = common::services() else { return };
    let site = Site::start().await;
    let base = OpenAiStub::default().start().await;
    let (app, db) =
        common::app_with(&services, Backend::Sqlite, "enrich_garbled", settings(chat(&base, "garbled-chat"))).await;
    let url = site.url("/docs/examples.html");
    let report = app.crawler.crawl_single_page(&url, None, &PagePlan::default(), &NoProgress).await.unwrap();
    assert!(report.chunks_stored >= 1);
    assert!(db.chunks(&url).await.iter().all(|c| !c.content.contains("\n---\n")), "plain chunks");
    assert!(code_summaries(&db).await.iter().all(|s| !s.starts_with("Model summary")), "extractive summaries");
    let err = chat(&base, "garbled-chat").complete("s", "u", 10).await.unwrap_err().to_string();
    assert!(err.contains("without choices[0].message.content"), "{err}");
}

#[tokio::test]
async fn chat_provider_failures_are_retried_then_reported_precisely() {
    let api = OpenAiStub::default();
    let base = api.clone().start().await;
    // 503 with Retry-After: 0, every time: four attempts, then a clear error.
    let err = chat(&base, "down-chat").complete("s", "u", 10).await.unwrap_err().to_string();
    assert!(err.contains("failed after 4 attempts") && err.contains("503"), "{err}");
    assert_eq!(api.chat_requests.load(Ordering::SeqCst), 4);
    // Slower than the timeout: reported as such, not hung.
    let provider =
        ProviderConfig { base_url: base.clone(), api_key: None, timeout: Duration::from_millis(300), max_in_flight: 1 };
    let slow = OpenAiChat::new(provider, "slow-chat").unwrap();
    let err = slow.complete("s", "u", 10).await.unwrap_err().to_string();
    assert!(err.contains("no answer within 300ms"), "{err}");
    // A rejected request (4xx other than 429) is not retried.
    let missing = chat(&format!("{base}/nowhere"), "gpt-test").complete("s", "u", 10).await.unwrap_err().to_string();
    assert!(missing.contains("HTTP 404"), "{missing}");
}
