//! The anchor's specialised crawl tools over MCP (the real binary, stdio): stealth browser
//! crawls, per-URL content profiles, and memory-aware concurrency.

use serde_json::json;

use crate::common::binary::{self, StoreTarget};
use crate::common::docs_site::DocsSite;
use crate::common::site::Site;
use crate::common::{self, Backend};

#[tokio::test]
async fn stealth_multi_url_and_memory_monitoring_tools_store_what_they_report() {
    let Some(services) = common::services() else { return };
    let site = Site::start().await;
    let docs = DocsSite::start().await;
    let store = StoreTarget::fresh(&services, Backend::Sqlite, "crawl_tools");
    let StoreTarget::Sqlite(path) = &store else { unreachable!("a SQLite target") };
    let client = binary::stdio_client(&services, &store).await;
    // The server created and migrated the file; read its rows directly.
    let db = common::db::Db::Sqlite(sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display())).await.unwrap());

    // Stealth: the bot-checking page shows its content, including the section that appears late.
    if common::chromium(&services).is_some() {
        let args =
            json!({"url": site.url("/js/plans.html"), "max_depth": 1, "wait_for_selector": "#late", "extra_wait": 0});
        let result = binary::call(&client, "crawl_with_stealth_mode", args).await.unwrap();
        let body = binary::body(&result);
        assert_eq!(body["pages_crawled"], 1, "{body}");
        let stored: String = db.chunks(&site.url("/js/plans.html")).await.iter().map(|c| c.content.clone()).collect();
        assert!(stored.contains("42 euros per seat") && stored.contains("Enterprise plans"), "{stored}");
        assert!(!stored.contains("automated browser"), "{stored}");
        let bad =
            binary::call(&client, "crawl_with_stealth_mode", json!({"url": site.url("/"), "extra_wait": 99})).await;
        assert!(format!("{bad:?}").contains("extra_wait must be between 0 and 30"), "{bad:?}");
    }

    // Multi-URL: each URL gets its profile and its own outcome, in order.
    let blog = site.url("/blog/release-2.html");
    let urls = json!([
        site.url("/docs/install.html"),
        blog,
        {"url": site.url("/docs/config.html"), "content_type": "general"},
        site.url("/missing.html"),
        "not a url"
    ]);
    let args = json!({"urls_json": urls.to_string(), "max_concurrent": 3});
    let body = binary::body(&binary::call(&client, "crawl_with_multi_url_config", args).await.unwrap());
    let results = body["results"].as_array().unwrap();
    let profiles: Vec<&str> = results.iter().map(|r| r["content_type"].as_str().unwrap()).collect();
    assert_eq!(profiles, ["documentation", "article", "general", "general", "general"], "{body}");
    let ok: Vec<bool> = results.iter().map(|r| r["success"].as_bool().unwrap()).collect();
    assert_eq!(ok, [true, true, true, false, false], "{body}");
    assert!(results[3]["error"].as_str().unwrap().contains("404"), "{body}");
    assert!(results[4]["error"].as_str().unwrap().contains("not a valid absolute URL"), "{body}");
    assert_eq!((body["urls_succeeded"].as_u64(), body["urls_failed"].as_u64()), (Some(3), Some(2)));
    let article: String = db.chunks(&blog).await.iter().map(|c| c.content.clone()).collect();
    assert!(article.contains("forty percent faster"), "{article}");
    assert!(!article.contains("Share this") && !article.contains("Popular posts"), "article profile: {article}");
    let bad = binary::call(&client, "crawl_with_multi_url_config", json!({"urls_json": "https://x.y"})).await;
    assert!(format!("{bad:?}").contains("urls_json must be a JSON array"), "{bad:?}");

    // Memory monitoring: a threshold below the process's own size throttles to one page at a time
    // (from 2, the sample taken before the first fetch halves it: no race with a fast crawl).
    let args =
        json!({"url": docs.url("/docs/index.html"), "max_depth": 2, "max_concurrent": 2, "memory_threshold_mb": 1});
    let body = binary::body(&binary::call(&client, "crawl_with_memory_monitoring", args).await.unwrap());
    let stats = &body["memory_stats"];
    assert!(body["pages_crawled"].as_u64().unwrap() >= 10, "{body}");
    assert_eq!(stats["min_concurrency"], 1, "{stats}");
    assert!(stats["concurrency_changes"].as_u64().unwrap() >= 1, "{stats}");
    assert!(stats["peak_mb"].as_f64().unwrap() >= stats["start_mb"].as_f64().unwrap(), "{stats}");
    assert!(stats["start_mb"].as_f64().unwrap() > 1.0 && stats["threshold_mb"] == 1.0, "{stats}");
    let args = json!({"url": docs.url("/docs/page-5.html"), "max_depth": 1, "memory_threshold_mb": 100000});
    let body = binary::body(&binary::call(&client, "crawl_with_memory_monitoring", args).await.unwrap());
    assert_eq!(body["memory_stats"]["concurrency_changes"], 0, "{body}");
    assert_eq!(body["memory_stats"]["min_concurrency"], 10, "{body}");
    client.cancel().await.unwrap();
}
