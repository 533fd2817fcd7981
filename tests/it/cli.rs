//! The CLI as a user runs it: crawl, query, sources, delete and doctor with `--json`, against the
//! embedded SQLite store, and the exit codes scripts rely on.

use serde_json::Value;
use tokio::process::Command;

use crate::common::binary::{self, BIN, StoreTarget, run_cli as run};
use crate::common::docs_site::DocsSite;
use crate::common::{self, Backend};

#[tokio::test]
async fn crawl_query_sources_delete_and_doctor_with_json_and_exit_codes() {
    let Some(services) = common::services() else { return };
    let site = DocsSite::start().await;
    let store = StoreTarget::fresh(&services, Backend::Sqlite, "cli");

    let (code, crawled, err) =
        run(&services, &store, &["crawl", &site.url("/docs/index.html"), "--depth", "2", "--json"]).await;
    assert_eq!(code, 0, "{err}");
    assert_eq!(crawled["pages_crawled"], 12, "index + pages 0-9 + calendar month 1: {crawled}");

    let (code, hits, err) =
        run(&services, &store, &["query", "allocators family configuration", "--count", "3", "--json"]).await;
    assert_eq!(code, 0, "{err}");
    assert_eq!(hits.as_array().map(Vec::len), Some(3));
    assert!(hits[0]["url"].as_str().unwrap().contains("/docs/page-"), "{hits}");

    let (code, sources, _) = run(&services, &store, &["sources", "--json"]).await;
    assert_eq!(code, 0);
    assert_eq!(sources[0]["source_id"], site.source_id());
    assert_eq!(sources[0]["pages"], 12);

    let (code, _, err) = run(&services, &store, &["delete", "no-such-source.example", "--json"]).await;
    assert_eq!(code, 3, "unknown source is exit code 3: {err}");
    assert!(err.contains("no source 'no-such-source.example'"), "{err}");
    let (code, deleted, _) = run(&services, &store, &["delete", &site.source_id(), "--json"]).await;
    assert_eq!(code, 0);
    assert_eq!(deleted["deleted"]["pages"], 12);
    let (_, sources, _) = run(&services, &store, &["sources", "--json"]).await;
    assert_eq!(sources, serde_json::json!([]));

    let (code, doctor, err) = run(&services, &store, &["doctor", "--json"]).await;
    assert_eq!(code, 0, "{doctor} {err}");
    assert_eq!(doctor["ok"], true);
    let checks: Vec<&str> = doctor["checks"].as_array().unwrap().iter().map(|c| c["check"].as_str().unwrap()).collect();
    assert_eq!(checks, ["config", "database", "graph", "embedder", "browser"]);
    let (code, migrated, _) = run(&services, &store, &["migrate", "--json"]).await;
    assert_eq!((code, &migrated["success"]), (0, &Value::Bool(true)));

    let mut cmd = Command::new(BIN);
    binary::configure(&mut cmd, &services, &store);
    let out = cmd
        .args(["sources"])
        .env("CRAWLRAG_EMBEDDING_PROVIDER", "openai")
        .env_remove("OPENAI_API_KEY")
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "configuration error");
    assert!(String::from_utf8_lossy(&out.stderr).contains("OPENAI_API_KEY"));
}

#[tokio::test]
async fn first_run_downloads_the_model_from_the_hub_and_offline_says_what_to_set() {
    use axum::extract::{Path, State};
    use axum::http::StatusCode;
    use axum::response::IntoResponse;

    let Some(services) = common::services() else { return };
    // A local hub serving the real model files under the HuggingFace URL layout.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hub = format!("http://{}", listener.local_addr().unwrap());
    let router = axum::Router::new()
        .route(
            "/sentence-transformers/all-MiniLM-L6-v2/resolve/main/{file}",
            axum::routing::get(|State(dir): State<std::path::PathBuf>, Path(file): Path<String>| async move {
                match tokio::fs::read(dir.join(&file)).await {
                    Ok(bytes) => bytes.into_response(),
                    Err(_) => StatusCode::NOT_FOUND.into_response(),
                }
            }),
        )
        .with_state(services.model_path.clone());
    tokio::spawn(async move { axum::serve(listener, router).await });

    let cache = std::env::temp_dir().join(common::unique_schema("model_cache"));
    let store = StoreTarget::fresh(&services, Backend::Sqlite, "cli_download");
    let mut cmd = Command::new(BIN);
    binary::configure(&mut cmd, &services, &store);
    cmd.env_remove("CRAWLRAG_EMBEDDING_MODEL_PATH").env("XDG_CACHE_HOME", &cache).env("HF_ENDPOINT", &hub);
    let out = cmd.args(["doctor", "--json"]).output().await.unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    assert_eq!(out.status.code(), Some(0), "{report} {}", String::from_utf8_lossy(&out.stderr));
    let downloaded = cache.join("crawlrag/models/all-MiniLM-L6-v2/model.safetensors");
    let original = services.model_path.join("model.safetensors");
    assert_eq!(std::fs::metadata(&downloaded).unwrap().len(), std::fs::metadata(&original).unwrap().len());
    let embedder = report["checks"].as_array().unwrap().iter().find(|c| c["check"] == "embedder").unwrap();
    assert!(embedder["detail"].as_str().unwrap().contains("384 dimensions"), "{report}");

    let offline = std::env::temp_dir().join(common::unique_schema("model_offline"));
    let mut cmd = Command::new(BIN);
    binary::configure(&mut cmd, &services, &store);
    cmd.env_remove("CRAWLRAG_EMBEDDING_MODEL_PATH")
        .env("XDG_CACHE_HOME", &offline)
        .env("HF_ENDPOINT", "http://127.0.0.1:1");
    let out = cmd.args(["sources"]).output().await.unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("CRAWLRAG_EMBEDDING_MODEL_PATH") && stderr.contains("scripts/model.sh"), "{stderr}");
    assert!(!offline.join("crawlrag/models/all-MiniLM-L6-v2/model.safetensors").exists(), "no half model left behind");
}

#[tokio::test]
async fn dry_runs_store_nothing_and_jobs_can_be_listed_and_cancelled_from_the_cli() {
    use std::sync::Arc;
    use std::time::Duration;

    use crawlrag::app::{App, ServiceSettings};
    use crawlrag::crawl::site::CrawlRequest;
    use crawlrag::jobs::{JobConfig, JobSpec, Waited};

    let Some(services) = common::services() else { return };
    let site = DocsSite::start().await;
    let name = common::unique_schema("cli_jobs");
    let store = StoreTarget::Sqlite(common::sqlite_path(&name));

    let args = ["crawl", &site.url("/docs/index.html"), "--depth", "2", "--dry-run", "--json"];
    let (code, crawled, err) = run(&services, &store, &args).await;
    assert_eq!(code, 0, "{err}");
    assert_eq!(crawled["pages_crawled"], 12, "{crawled}");
    assert!(crawled["chunks_stored"].as_u64().unwrap() >= 12, "chunks counted: {crawled}");
    let (_, sources, _) = run(&services, &store, &["sources", "--json"]).await;
    assert_eq!(sources, serde_json::json!([]), "a dry run stores nothing");

    // A job running in a server process on the same store, seen and cancelled from the CLI.
    let (db, _) = common::open_store(&services, Backend::Sqlite, &name).await;
    let settings = ServiceSettings {
        jobs: JobConfig { heartbeat: Duration::from_millis(200), ..JobConfig::default() },
        ..ServiceSettings::default()
    };
    let server =
        Arc::new(App::from_parts(db, common::embedder(&services), common::loopback_fetcher(), settings).await.unwrap());
    let request = CrawlRequest { max_concurrent: 1, ..CrawlRequest::new(site.url("/slow-sitemap.xml")) };
    let handle = server.jobs.submit(JobSpec::SmartCrawl { request }).await.unwrap();
    let (code, jobs, err) = run(&services, &store, &["jobs", "--json"]).await;
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        (jobs[0]["job_id"].as_str(), jobs[0]["state"].as_str()),
        (Some(handle.job_id.as_str()), Some("running"))
    );
    let (code, cancelled, err) = run(&services, &store, &["jobs", "--cancel", &handle.job_id, "--json"]).await;
    assert_eq!(code, 0, "{err}");
    assert_eq!(cancelled[0]["cancel_requested"], true, "{cancelled}");
    let waited = handle.wait(Duration::from_secs(30), Arc::new(crawlrag::progress::NoProgress)).await;
    assert!(matches!(waited, Waited::Finished(Err(crawlrag::error::Error::Cancelled))), "{waited:?}");
    let (code, _, err) = run(&services, &store, &["jobs", "--cancel", "no-such-job"]).await;
    assert_eq!(code, 3, "unknown job is exit code 3: {err}");
}
