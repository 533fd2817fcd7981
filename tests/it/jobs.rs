//! Crawl jobs: background crawls, crawls that outlive the client's patience, cancellation from
//! another replica, and jobs of a stopped server reading as interrupted — all on real stores and
//! the real binary.

use std::sync::Arc;
use std::time::Duration;

use crawlrag::app::{App, ServiceSettings};
use crawlrag::crawl::site::CrawlRequest;
use crawlrag::domain::JobState;
use crawlrag::error::Error;
use crawlrag::jobs::{JobConfig, JobSpec, Waited};
use crawlrag::progress::NoProgress;
use rmcp::RoleClient;
use rmcp::service::{RunningService, ServiceExt};
use rmcp::transport::StreamableHttpClientTransport;
use serde_json::{Value, json};

use crate::both_stores;
use crate::common::binary::{self, HttpServer, StoreTarget};
use crate::common::docs_site::{DocsSite, SLOW_PAGES};
use crate::common::{self, Backend};

/// Poll get_crawl_job until the job ends (leaves `queued` and `running`).
async fn until_finished<H: rmcp::ClientHandler>(client: &RunningService<RoleClient, H>, job_id: &str) -> Value {
    for _ in 0..600 {
        let result = binary::call(client, "get_crawl_job", json!({"job_id": job_id})).await.unwrap();
        let job = binary::body(&result)["job"].clone();
        if job["state"] != "running" && job["state"] != "queued" {
            return job;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("job {job_id} still running after 60 s");
}

both_stores!(background_crawls_answer_at_once_and_report_their_result);
async fn background_crawls_answer_at_once_and_report_their_result(backend: Backend) {
    let Some(services) = common::services() else { return };
    let site = DocsSite::start().await;
    let store = StoreTarget::fresh(&services, backend, "jobs_bg");
    let client = binary::stdio_client(&services, &store).await;

    let started = std::time::Instant::now();
    let result = binary::call(
        &client,
        "smart_crawl_url",
        json!({"url": site.url("/slow-sitemap.xml"), "background": true, "max_concurrent": 4}),
    )
    .await
    .unwrap();
    let answer = binary::body(&result);
    assert_eq!(answer["status"], "running", "{answer}");
    assert!(started.elapsed() < Duration::from_secs(2), "answered before the crawl ran: {:?}", started.elapsed());
    let job_id = answer["job_id"].as_str().unwrap().to_owned();

    let job = until_finished(&client, &job_id).await;
    assert_eq!(job["state"], "succeeded", "{job}");
    assert_eq!(job["tool"], "smart_crawl_url");
    assert_eq!(job["pages_done"], SLOW_PAGES, "{job}");
    assert_eq!(job["result"]["pages_crawled"], SLOW_PAGES, "{job}");
    assert!(job["chunks_stored"].as_u64().unwrap() >= SLOW_PAGES as u64, "{job}");

    // The pages really are in the index.
    let sources = binary::body(&binary::call(&client, "get_available_sources", json!({})).await.unwrap());
    let source = sources["sources"].as_array().unwrap().iter().find(|s| s["source_id"] == site.source_id()).unwrap();
    assert_eq!(source["pages"], SLOW_PAGES, "{source}");

    // A single page can go to the background too.
    let page = site.url("/slow/page-30.html");
    let answer = binary::body(
        &binary::call(&client, "crawl_single_page", json!({"url": page, "background": true})).await.unwrap(),
    );
    assert_eq!(answer["status"], "running", "{answer}");
    let single = until_finished(&client, answer["job_id"].as_str().unwrap()).await;
    assert_eq!(single["state"], "succeeded", "{single}");
    assert_eq!(single["tool"], "crawl_single_page");
    assert!(single["result"]["chunks_stored"].as_u64().unwrap() >= 1, "{single}");
    let invalid = binary::call(&client, "crawl_single_page", json!({"url": "ftp://x", "background": true})).await;
    assert!(format!("{invalid:?}").contains("ftp"), "refused at once: {invalid:?}");

    let listed = binary::body(&binary::call(&client, "list_crawl_jobs", json!({})).await.unwrap());
    assert!(listed["jobs"].as_array().unwrap().iter().any(|j| j["job_id"] == job_id.as_str()), "{listed}");

    // Unknown ids and finished jobs get precise errors.
    let unknown = binary::call(&client, "get_crawl_job", json!({"job_id": "no-such-job"})).await;
    assert!(format!("{unknown:?}").contains("no crawl job 'no-such-job'"), "{unknown:?}");
    let again = binary::call(&client, "cancel_crawl_job", json!({"job_id": job_id})).await;
    assert!(format!("{again:?}").contains("already ended: succeeded"), "{again:?}");
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn a_crawl_outliving_the_foreground_wait_goes_on_as_a_job() {
    let Some(services) = common::services() else { return };
    let site = DocsSite::start().await;
    let store = StoreTarget::fresh(&services, Backend::Postgres, "jobs_fg");
    let client = binary::stdio_client_env(&services, &store, (), &[("CRAWLRAG_FOREGROUND_WAIT_SECS", "1")]).await;

    // 12 pages of 400 ms one at a time: about 5 s, far past the 1 s foreground wait.
    let started = std::time::Instant::now();
    let result =
        binary::call(&client, "smart_crawl_url", json!({"url": site.url("/slow-sitemap.xml"), "max_concurrent": 1}))
            .await
            .unwrap();
    let answer = binary::body(&result);
    assert!(!binary::is_error(&result), "{answer}");
    assert_eq!(answer["status"], "running", "{answer}");
    assert!(answer["message"].as_str().unwrap().contains("get_crawl_job"), "{answer}");
    assert!(started.elapsed() < Duration::from_secs(4), "{:?}", started.elapsed());

    let job = until_finished(&client, answer["job_id"].as_str().unwrap()).await;
    assert_eq!(job["state"], "succeeded", "{job}");
    assert_eq!(job["result"]["pages_crawled"], SLOW_PAGES, "{job}");
    client.cancel().await.unwrap();
}

both_stores!(a_cancel_sent_to_another_replica_stops_the_job);
async fn a_cancel_sent_to_another_replica_stops_the_job(backend: Backend) {
    let Some(services) = common::services() else { return };
    let site = DocsSite::start().await;
    let name = common::unique_schema("jobs_cancel");
    let settings = ServiceSettings {
        jobs: JobConfig { heartbeat: Duration::from_millis(200), ..JobConfig::default() },
        ..ServiceSettings::default()
    };
    let replica = |settings: ServiceSettings| {
        let (services, name) = (services.clone(), name.clone());
        async move {
            let (store, db) = common::open_store(&services, backend, &name).await;
            let app = App::from_parts(store, common::embedder(&services), common::loopback_fetcher(), settings)
                .await
                .unwrap();
            (Arc::new(app), db)
        }
    };
    let (a, db) = replica(settings.clone()).await;
    let (b, _) = replica(settings).await;

    let request = CrawlRequest { max_concurrent: 1, ..CrawlRequest::new(site.url("/slow-sitemap.xml")) };
    let handle = a.jobs.submit(JobSpec::SmartCrawl { request }).await.unwrap();
    let job_id = handle.job_id.clone();
    // Cancel once a page is stored (however loaded the machine), well before the crawl ends.
    for _ in 0..300 {
        if db.count("pages").await >= 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let seen = b.jobs.cancel(&job_id).await.unwrap();
    assert!(seen.cancel_requested, "{seen:?}");
    let cancelled_at = std::time::Instant::now();
    let waited = handle.wait(Duration::from_secs(30), Arc::new(NoProgress)).await;
    assert!(matches!(waited, Waited::Finished(Err(Error::Cancelled))), "expected a cancelled job: {waited:?}");
    assert!(cancelled_at.elapsed() < Duration::from_secs(3), "stopped within a heartbeat or two");
    let job = b.jobs.get(&job_id).await.unwrap();
    assert_eq!(job.state, JobState::Cancelled, "{job:?}");
    let stored = db.count("pages").await;
    assert!(stored >= 1 && stored < SLOW_PAGES as i64, "pages stored before the cancel stay: {stored}");
    assert_eq!(job.progress.pages_done, u64::try_from(stored).unwrap(), "{job:?}");
}

#[tokio::test]
async fn jobs_of_a_stopped_server_read_as_interrupted() {
    let Some(services) = common::services() else { return };
    let site = DocsSite::start().await;
    let store = StoreTarget::fresh(&services, Backend::Postgres, "jobs_stop");
    let env = [("CRAWLRAG_JOB_HEARTBEAT_SECS", "1")];
    let start_crawl = |server: &HttpServer| {
        let uri = format!("{}/mcp", server.base);
        let url = site.url("/slow-sitemap.xml");
        async move {
            let client = ().serve(StreamableHttpClientTransport::from_uri(uri)).await.unwrap();
            let args = json!({"url": url, "background": true, "max_concurrent": 1});
            let answer = binary::body(&binary::call(&client, "smart_crawl_url", args).await.unwrap());
            (client, answer["job_id"].as_str().unwrap().to_owned())
        }
    };

    // A graceful stop records the job as interrupted on the way out.
    let mut server = HttpServer::start_env(&services, &store, &env).await;
    let (client, graceful) = start_crawl(&server).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    drop(client);
    server.terminate().await;

    // A crash leaves it "running" with a heartbeat that stops; the next server sees it is stale.
    let mut server = HttpServer::start_env(&services, &store, &env).await;
    let (client, crashed) = start_crawl(&server).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    drop(client);
    server.kill().await;
    tokio::time::sleep(Duration::from_millis(3500)).await;

    let server = HttpServer::start_env(&services, &store, &env).await;
    let client = ().serve(StreamableHttpClientTransport::from_uri(format!("{}/mcp", server.base))).await.unwrap();
    for (job_id, why) in [(graceful, "shut down"), (crashed, "stopped (restart or crash)")] {
        let job = binary::body(&binary::call(&client, "get_crawl_job", json!({"job_id": job_id})).await.unwrap());
        assert_eq!(job["job"]["state"], "interrupted", "{job}");
        assert!(job["job"]["error"].as_str().unwrap().contains(why), "{job}");
    }
    client.cancel().await.unwrap();
}

both_stores!(a_crawl_started_over_mcp_is_listed_and_cancelled_from_the_cli);
async fn a_crawl_started_over_mcp_is_listed_and_cancelled_from_the_cli(backend: Backend) {
    let Some(services) = common::services() else { return };
    let site = DocsSite::start().await;
    let store = StoreTarget::fresh(&services, backend, "jobs_cli");
    let client = binary::stdio_client_env(&services, &store, (), &[("CRAWLRAG_JOB_HEARTBEAT_SECS", "1")]).await;

    let args = json!({"url": site.url("/slow-sitemap.xml"), "background": true, "max_concurrent": 1});
    let answer = binary::body(&binary::call(&client, "smart_crawl_url", args).await.unwrap());
    let job_id = answer["job_id"].as_str().unwrap().to_owned();
    tokio::time::sleep(Duration::from_millis(900)).await;

    let (code, listed, err) = binary::run_cli(&services, &store, &["jobs", "--json"]).await;
    assert_eq!(code, 0, "{err}");
    let seen = listed.as_array().unwrap().iter().find(|j| j["job_id"] == job_id.as_str()).expect("listed").clone();
    assert_eq!(seen["state"], "running", "{seen}");
    let (code, cancelled, err) = binary::run_cli(&services, &store, &["jobs", "--cancel", &job_id, "--json"]).await;
    assert_eq!(code, 0, "{err}");
    assert_eq!(cancelled[0]["cancel_requested"], true, "{cancelled}");
    let job = until_finished(&client, &job_id).await;
    assert_eq!(job["state"], "cancelled", "stopped by the server at its next heartbeat: {job}");
    assert!(job["pages_done"].as_u64().unwrap() < SLOW_PAGES as u64, "{job}");

    // The other way round: a crawl queued from the CLI is claimed and run by the server's worker.
    let page = site.url("/slow/page-31.html");
    let (code, queued, err) = binary::run_cli(&services, &store, &["crawl", &page, "--background", "--json"]).await;
    assert_eq!((code, queued["status"].as_str()), (0, Some("queued")), "{err}");
    let job = until_finished(&client, queued["job_id"].as_str().unwrap()).await;
    assert_eq!(job["state"], "succeeded", "{job}");
    assert_eq!(job["result"]["pages_crawled"], 1, "{job}");
    client.cancel().await.unwrap();
}
