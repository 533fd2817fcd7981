//! The CLI as a user runs it: crawl, query, sources, delete and doctor with `--json`, against the
//! embedded SQLite store, and the exit codes scripts rely on.

use serde_json::Value;
use tokio::process::Command;

use crate::common::binary::{self, BIN, StoreTarget};
use crate::common::docs_site::DocsSite;
use crate::common::{self, Backend, Services};

async fn run(services: &Services, store: &StoreTarget, args: &[&str]) -> (u8, Value, String) {
    let mut cmd = Command::new(BIN);
    cmd.args(args);
    binary::configure(&mut cmd, services, store);
    let out = cmd.output().await.expect("run crawlrag");
    let code = u8::try_from(out.status.code().unwrap_or(255)).unwrap_or(255);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let json = serde_json::from_str(&stdout).unwrap_or(Value::Null);
    (code, json, String::from_utf8_lossy(&out.stderr).into_owned())
}

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
