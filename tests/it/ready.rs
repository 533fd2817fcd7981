//! `/ready` follows the database: 503 naming it while Postgres is stopped, 200 again once it is
//! back, with no restart of crawlrag. Uses a Postgres instance of its own (another data dir and
//! port) so stopping it does not disturb the other tests.

use std::time::Duration;

use serde_json::Value;

use crate::common::{self, binary};

const PORT: &str = "55439";

fn postgres(action: &str) -> String {
    let script = std::env::var("CRAWLRAG_POSTGRES_SCRIPT")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/postgres.sh").to_owned());
    let root = std::env::var("CRAWLRAG_SERVICES_DIR").unwrap_or_else(|_| "/var/tmp/crawlrag-services".to_owned());
    let out = std::process::Command::new("bash")
        .arg(script)
        .arg(action)
        .env("PGPORT", PORT)
        .env("PGDATA", format!("{root}/postgres/data-ready-test"))
        .output()
        .expect("run postgres.sh");
    assert!(out.status.success(), "postgres.sh {action}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

async fn wait_for(http: &reqwest::Client, base: &str, status: u16) -> Value {
    let mut last = (0, Value::Null);
    for _ in 0..150 {
        if let Ok(resp) = http.get(format!("{base}/ready")).send().await {
            let code = resp.status().as_u16();
            let body: Value = resp.json().await.unwrap_or(Value::Null);
            if code == status {
                return body;
            }
            last = (code, body);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("/ready never answered {status}; last: {last:?}");
}

#[tokio::test]
async fn ready_turns_503_while_postgres_is_down_and_200_when_it_is_back() {
    let Some(services) = common::services() else { return };
    let url = postgres("start");
    // A fresh schema each run: the instance's data directory outlives test runs.
    let store = binary::StoreTarget::Postgres { url, schema: common::unique_schema("ready") };
    let server = binary::HttpServer::start(&services, &store).await;
    let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();

    let up = wait_for(&http, &server.base, 200).await;
    assert_eq!(up["status"], "ready");

    postgres("stop");
    let down = wait_for(&http, &server.base, 503).await;
    // The embedded graph lives in the same database, so it fails with it.
    assert_eq!(down["failing"], serde_json::json!(["database", "graph"]), "{down}");
    assert_eq!(http.get(format!("{}/health", server.base)).send().await.unwrap().status(), 200, "liveness unaffected");

    postgres("start");
    let back = wait_for(&http, &server.base, 200).await;
    assert_eq!(back["status"], "ready");
    drop(server);
    postgres("stop");
}
