//! Scale-out against the real parts: two API replicas (`crawlrag serve --role api`) behind nginx
//! and three workers (`crawlrag worker`) on one Postgres schema and Redis crawl a 2,000-page
//! fixture site (served by nginx, with an access log). The stored pages and chunks must equal a
//! one-process crawl of the same site, also when a worker is killed (SIGKILL) mid-crawl, when
//! Redis restarts empty mid-crawl, and a SIGTERM drains a worker. Politeness across workers is
//! measured from the site's access log.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};
use sqlx::postgres::PgPoolOptions;
use sqlx::{Executor, PgPool};

use crawlrag::cluster::CLUSTER_WORKER;
use crawlrag::domain::JobState;

use crate::common::binary::{self, StoreTarget};
use crate::common::cluster::{OwnRedis, Topology, shared_redis_url};
use crate::common::nginx::Nginx;
use crate::common::{self, Services};

const PAGES: usize = 2_000;

/// Words pages are made of (varied per page, so every page has its own content hash).
const WORDS: &[&str] = &[
    "crawler",
    "ledger",
    "stream",
    "worker",
    "replica",
    "embedding",
    "vector",
    "chunk",
    "sitemap",
    "robots",
    "politeness",
    "latency",
    "throughput",
    "consumer",
    "broker",
    "cluster",
    "markdown",
    "index",
    "query",
    "graph",
];

/// A 2,000-page site: a 4-ary tree of pages (page i links to 4i+1..4i+4), each also linking back
/// to its parent and the home page; every fiftieth page is long (several chunks).
fn write_site(root: &Path, pages: usize, robots: &str) {
    std::fs::create_dir_all(root.join("p")).unwrap();
    std::fs::write(root.join("robots.txt"), robots).unwrap();
    for i in 0..pages {
        let mut links: Vec<usize> = (4 * i + 1..=4 * i + 4).filter(|c| *c < pages).collect();
        links.push(i.saturating_sub(1) / 4);
        links.push(0);
        let anchors: String = links.iter().map(|l| format!("<li><a href=\"/p/{l}.html\">page {l}</a></li>")).collect();
        let paragraphs = if i % 50 == 0 { 24 } else { 2 };
        let body: String = (0..paragraphs)
            .map(|p| {
                let words: Vec<&str> = (0..40).map(|w| WORDS[(i * 7 + p * 13 + w * 3) % WORDS.len()]).collect();
                format!("<p>Page {i} paragraph {p}: {}.</p>", words.join(" "))
            })
            .collect();
        let html = format!(
            "<!doctype html><html><head><title>Page {i}</title></head><body><main><h1>Page {i}</h1>{body}\
             <ul>{anchors}</ul></main></body></html>"
        );
        std::fs::write(root.join(format!("p/{i}.html")), html).unwrap();
    }
}

async fn pool(services: &Services, store: &StoreTarget) -> PgPool {
    let StoreTarget::Postgres { schema, .. } = store else { panic!("scale-out runs on Postgres") };
    let set_path = format!("set search_path to \"{schema}\", public");
    PgPoolOptions::new()
        .max_connections(2)
        .after_connect(move |conn, _| {
            let set_path = set_path.clone();
            Box::pin(async move { conn.execute(sqlx::AssertSqlSafe(set_path)).await.map(drop) })
        })
        .connect(&services.database_url)
        .await
        .expect("connect to Postgres")
}

/// Chunks per stored page path (sites differ by port only), and whether any (url, chunk_number)
/// is stored twice.
async fn stored(pool: &PgPool) -> BTreeMap<String, i64> {
    let rows: Vec<(String, i64)> =
        sqlx::query_as("select regexp_replace(url, '^https?://[^/]+', ''), count(*) from crawled_pages group by url")
            .fetch_all(pool)
            .await
            .unwrap();
    let duplicates: i64 = sqlx::query_scalar(
        "select count(*) from (select url, chunk_number from crawled_pages group by url, chunk_number \
         having count(*) > 1) d",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(duplicates, 0, "a chunk was stored twice");
    rows.into_iter().collect()
}

/// The one-process crawl of the site (once per test run): the reference the distributed crawls
/// must equal.
async fn reference(services: &Services) -> &'static BTreeMap<String, i64> {
    static REFERENCE: tokio::sync::OnceCell<BTreeMap<String, i64>> = tokio::sync::OnceCell::const_new();
    REFERENCE
        .get_or_init(|| async {
            let dir = tempfile::tempdir().unwrap();
            write_site(&dir.path().join("site"), PAGES, "User-agent: *\nAllow: /\n");
            let site = Nginx::serve_folder(&dir.path().join("nginx"), &dir.path().join("site")).await;
            one_process_crawl(services, &site.url("/p/0.html")).await
        })
        .await
}

async fn one_process_crawl(services: &Services, start: &str) -> BTreeMap<String, i64> {
    let store = StoreTarget::fresh(services, common::Backend::Postgres, "cluster_reference");
    let (code, out, err) = binary::run_cli(
        services,
        &store,
        &["crawl", start, "--depth", "20", "--max-pages", "5000", "--concurrency", "16", "--json"],
    )
    .await;
    assert_eq!(code, 0, "one-process crawl: {err}");
    assert_eq!(out["pages_crawled"], PAGES, "{out}");
    stored(&pool(services, &store).await).await
}

/// One sessionless MCP tool call (protocol 2026-07-28: no `initialize`, so the load balancer may
/// send every call to a different replica); answers the tool's structured result.
async fn call(base: &str, tool: &str, arguments: Value) -> Value {
    let body = json!({
        "jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": {
            "name": tool, "arguments": arguments,
            "_meta": {
                "io.modelcontextprotocol/protocolVersion": "2026-07-28",
                "io.modelcontextprotocol/clientCapabilities": {}
            }
        }
    });
    let response = reqwest::Client::new()
        .post(format!("{base}/mcp"))
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", "tools/call")
        .header("mcp-name", tool)
        .json(&body)
        .send()
        .await
        .expect("POST /mcp through nginx");
    assert!(response.status().is_success(), "{tool}: HTTP {}", response.status());
    let answer: Value = response.json().await.expect("a JSON answer");
    assert_eq!(answer["result"]["isError"], false, "{tool}: {answer}");
    answer["result"]["structuredContent"].clone()
}

/// Start a background crawl through the load balancer; answers its job id.
async fn start_crawl(base: &str, start: &str) -> String {
    start_crawl_with(base, start, json!({})).await
}

async fn start_crawl_with(base: &str, start: &str, extra: Value) -> String {
    let mut args = json!({"url": start, "max_depth": 20, "max_pages": 5000, "max_concurrent": 16, "background": true});
    args.as_object_mut().unwrap().extend(extra.as_object().cloned().unwrap_or_default());
    let body = call(base, "smart_crawl_url", args).await;
    body["job_id"].as_str().unwrap_or_else(|| panic!("a job id: {body}")).to_owned()
}

/// The job's record through the load balancer (any replica answers).
async fn job(base: &str, job_id: &str) -> Value {
    let body = call(base, "get_crawl_job", json!({"job_id": job_id})).await;
    assert_eq!(body["success"], true, "{body}");
    body["job"].clone()
}

/// Poll until the job ends (bounded), answering its record.
async fn wait_for_end(base: &str, job_id: &str, limit: Duration) -> Value {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let record = job(base, job_id).await;
        let state = record["state"].as_str().unwrap_or_default().to_owned();
        if !matches!(state.as_str(), "queued" | "running") {
            return record;
        }
        assert!(tokio::time::Instant::now() < deadline, "the crawl did not end within {limit:?}: {record}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Wait until at least `pages` pages are stored (bounded: 3 minutes).
async fn wait_for_pages(pool: &PgPool, pages: i64) {
    for _ in 0..1800 {
        let stored: i64 = sqlx::query_scalar("select count(distinct url) from crawled_pages")
            .fetch_one(pool)
            .await
            .unwrap_or_default();
        if stored >= pages {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("fewer than {pages} pages were stored within 3 minutes");
}

struct Fixture {
    site: Nginx,
    reference: &'static BTreeMap<String, i64>,
    services: Services,
    work: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

async fn fixture() -> Option<Fixture> {
    let services = common::services()?;
    let reference = reference(&services).await;
    assert_eq!(reference.len(), PAGES, "the one-process crawl stored every page");
    let dir = tempfile::tempdir().unwrap();
    write_site(&dir.path().join("site"), PAGES, "User-agent: *\nAllow: /\n");
    let site = Nginx::serve_folder(&dir.path().join("nginx-site"), &dir.path().join("site")).await;
    let work = dir.path().to_owned();
    Some(Fixture { site, reference, services, work, _dir: dir })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn workers_crawl_a_site_like_one_process_and_survive_a_killed_worker() {
    let Some(fx) = fixture().await else { return };
    let start = fx.site.url("/p/0.html");

    // 1. Two replicas behind nginx, three workers: the same pages and chunks as one process.
    let mut cluster = Topology::start(&fx.services, &fx.work.join("c1"), &shared_redis_url(), 2, 3, &[]).await;
    let db = pool(&fx.services, &cluster.store).await;
    let job_id = start_crawl(&cluster.base(), &start).await;
    // 2. Kill -9 a worker mid-crawl, and start a fresh one later.
    wait_for_pages(&db, 300).await;
    cluster.kill_worker(1).await;
    wait_for_pages(&db, 900).await;
    cluster.restart_worker(1).await;
    // 3. SIGTERM drains another worker mid-crawl: it finishes its pages and exits 0.
    wait_for_pages(&db, 1300).await;
    let status = cluster.stop_worker(2).await;
    assert!(status.success(), "a drained worker exits 0, got {status}");
    let record = wait_for_end(&cluster.base(), &job_id, Duration::from_secs(300)).await;
    assert_eq!(record["state"], "succeeded", "{record}");
    assert_eq!(&stored(&db).await, fx.reference, "the distributed crawl stored what one process stores");
    let result = &record["result"];
    assert_eq!(result["pages_crawled"], PAGES, "{result}");
    let chunks: i64 = fx.reference.values().sum();
    assert_eq!(result["chunks_stored"].as_i64(), Some(chunks), "{result}");
    // Every page was worked on by the workers: more than one worker stored pages.
    let ledger: i64 =
        sqlx::query_scalar("select count(*) from crawl_urls where state = 'stored'").fetch_one(&db).await.unwrap();
    assert_eq!(ledger, PAGES as i64);
    let workers: i64 = sqlx::query_scalar("select count(distinct worker) from crawl_urls where state = 'stored'")
        .fetch_one(&db)
        .await
        .unwrap();
    assert!(workers >= 3, "pages were spread over the workers (got {workers} distinct workers)");
    drop(cluster);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_redis_restart_mid_crawl_loses_no_page() {
    let Some(fx) = fixture().await else { return };
    let start = fx.site.url("/p/0.html");
    let mut redis = OwnRedis::start(&fx.work.join("redis")).await;
    let cluster = Topology::start(&fx.services, &fx.work.join("c2"), &redis.url(), 1, 2, &[]).await;
    let db = pool(&fx.services, &cluster.store).await;
    let job_id = start_crawl(&cluster.base(), &start).await;
    wait_for_pages(&db, 400).await;
    redis.restart_empty().await;
    let record = wait_for_end(&cluster.base(), &job_id, Duration::from_secs(300)).await;
    assert_eq!(record["state"], "succeeded", "{record}");
    assert_eq!(&stored(&db).await, fx.reference, "no page lost or doubled across a Redis restart");
    drop(cluster);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_workers_keep_the_sites_crawl_delay() {
    let Some(services) = common::services() else { return };
    let dir = tempfile::tempdir().unwrap();
    // 0.25 s between request starts, whichever worker sends them.
    write_site(&dir.path().join("site"), 24, "User-agent: *\nCrawl-delay: 0.25\n");
    let site = Nginx::serve_folder(&dir.path().join("nginx-site"), &dir.path().join("site")).await;
    let cluster = Topology::start(&services, &dir.path().join("cluster"), &shared_redis_url(), 1, 3, &[]).await;
    let hook = crate::webhooks::Receiver::start(&[]).await;
    let extra = json!({"webhook_url": hook.url()});
    let job_id = start_crawl_with(&cluster.base(), &site.url("/p/0.html"), extra).await;
    let record = wait_for_end(&cluster.base(), &job_id, Duration::from_secs(120)).await;
    assert_eq!(record["state"], "succeeded", "{record}");
    assert_eq!(record["result"]["pages_crawled"], 24, "{record}");
    // The worker that settled the last page sends the job's webhook, once.
    for _ in 0..100 {
        if !hook.received().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let deliveries = hook.received();
    assert_eq!(deliveries.len(), 1, "one webhook delivery for the distributed crawl");
    let payload: Value = serde_json::from_slice(&deliveries[0].body).unwrap();
    assert_eq!(payload["event"], "job.completed", "{payload}");
    assert_eq!(payload["job_id"], job_id.as_str(), "{payload}");
    assert_eq!(payload["data"]["pages_crawled"], 24, "{payload}");
    let pages: Vec<f64> =
        site.access_log().into_iter().filter(|(_, _, path)| path.starts_with("/p/")).map(|(at, _, _)| at).collect();
    assert_eq!(pages.len(), 24, "each page fetched once: {pages:?}");
    let robots = site.access_log().iter().filter(|(_, _, path)| path == "/robots.txt").count();
    assert_eq!(robots, 1, "robots.txt is fetched once per crawl and shared by the workers");
    let mut sorted = pages.clone();
    sorted.sort_by(f64::total_cmp);
    let gaps: Vec<f64> = sorted.windows(2).map(|w| w[1] - w[0]).collect();
    let smallest = gaps.iter().copied().fold(f64::INFINITY, f64::min);
    let mean = gaps.iter().skip(1).sum::<f64>() / (gaps.len() - 1) as f64;
    // The gate spaces the grants exactly; a loaded host may send one request late and the next on
    // time (a worker descheduled for a moment after its grant), and nginx times requests from
    // their first byte read, to the millisecond: any two starts stay at least half the delay
    // apart (three workers without a shared gate would send them at once), and on average the
    // delay holds.
    assert!(smallest >= 0.125, "requests to the host came {smallest:.3} s apart (crawl delay 0.25 s): {gaps:?}");
    assert!(mean >= 0.245, "requests to the host came {mean:.3} s apart on average (crawl delay 0.25 s): {gaps:?}");
    let workers: i64 = sqlx::query_scalar("select count(distinct worker) from crawl_urls where state = 'stored'")
        .fetch_one(&pool(&services, &cluster.store).await)
        .await
        .unwrap();
    assert!(workers >= 2, "the pages were spread over the workers, got {workers}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_cancel_through_any_replica_stops_every_worker() {
    let Some(services) = common::services() else { return };
    let dir = tempfile::tempdir().unwrap();
    // Slow on purpose: one request every 0.3 s, so the crawl is far from done when cancelled.
    write_site(&dir.path().join("site"), 200, "User-agent: *\nCrawl-delay: 0.3\n");
    let site = Nginx::serve_folder(&dir.path().join("nginx-site"), &dir.path().join("site")).await;
    let cluster = Topology::start(&services, &dir.path().join("cluster"), &shared_redis_url(), 2, 2, &[]).await;
    let db = pool(&services, &cluster.store).await;
    let job_id = start_crawl(&cluster.base(), &site.url("/p/0.html")).await;
    wait_for_pages(&db, 5).await;
    let cancelled = call(&cluster.base(), "cancel_crawl_job", json!({"job_id": job_id})).await;
    assert_eq!(cancelled["success"], true, "{cancelled}");
    let record = wait_for_end(&cluster.base(), &job_id, Duration::from_secs(30)).await;
    assert_eq!(record["state"], "cancelled", "{record}");
    // Pages in flight when the cancel was seen may still end; nothing new starts after that.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let fetched = site.access_log().iter().filter(|(_, _, path)| path.starts_with("/p/")).count();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let later = site.access_log().iter().filter(|(_, _, path)| path.starts_with("/p/")).count();
    assert_eq!(later, fetched, "no page was fetched after the crawl was cancelled");
    assert!(fetched < 100, "the crawl stopped early ({fetched} of 200 pages fetched)");
    let open: i64 =
        sqlx::query_scalar("select count(*) from crawl_runs where state = 'open'").fetch_one(&db).await.unwrap();
    assert_eq!(open, 0, "the crawl's run is closed");
}

/// The recovery path of a crawl's end: a worker settled the last page and died before ending the
/// job (or ended the job and died before closing the run). Any worker's reconciler finishes the
/// work: the job gets its report once, the run is closed as completed, and nothing is re-fetched.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_reconciler_ends_a_crawl_whose_last_settler_died() {
    use crawlrag::adapters::postgres::{PgConfig, PgStore};
    use crawlrag::domain::JobProgress;
    use crawlrag::ports::{CrawlLedger, JobEnd, JobQueue, Lease, NewRun, OfferedUrl, PageCounts, UrlOutcome};

    let Some(services) = common::services() else { return };
    let dir = tempfile::tempdir().unwrap();
    let mut cluster = Topology::start(&services, dir.path(), &shared_redis_url(), 1, 0, &[]).await;
    let StoreTarget::Postgres { schema, .. } = &cluster.store else { unreachable!() };
    let config = PgConfig { url: services.database_url.clone(), schema: Some(schema.clone()), max_connections: 2 };
    let store = PgStore::connect(&config).await.expect("connect to Postgres");
    // Nothing listens on port 9: a page fetched again would fail, and show in the report.
    let start = "http://127.0.0.1:9/p/0.html";
    let ended_job = start_crawl(&cluster.base(), start).await;
    let settled_job = start_crawl(&cluster.base(), start).await;
    let seeding_job = start_crawl(&cluster.base(), start).await;
    // Play both crawls up to the moment their last settler died, as a worker's calls would.
    // Long leases: a slow start of the worker on a loaded machine must not expire them.
    let lease = |worker| Lease { worker, duration: Duration::from_secs(600) };
    for _ in 0..2 {
        let claimed = store.claim(lease("starter")).await.unwrap().expect("a queued job");
        let job_id = claimed.job_id.as_str();
        store.open_run(NewRun { job_id, max_pages: 5000 }).await.unwrap();
        let admitted = store.admit(job_id, &[OfferedUrl { url: start.into(), depth: 0, skip: None }]).await.unwrap();
        assert_eq!(admitted.queued.len(), 1);
        assert!(store.hand_over(job_id, "starter", lease(CLUSTER_WORKER)).await.unwrap());
        store.claim_url(job_id, start, "settler", Duration::from_secs(60)).await.unwrap();
        let stored = UrlOutcome::Stored(PageCounts { chunks: 3, words: 120, ..PageCounts::default() });
        let settled = store.settle_url(job_id, start, "settler", &stored, &[]).await.unwrap();
        assert_eq!((settled.applied, settled.open), (true, 0));
    }
    // `seeding_job`: its starter opened the run and is still reading the site's sitemap.
    let claimed = store.claim(lease("starter")).await.unwrap().expect("a queued job");
    assert_eq!(claimed.job_id, seeding_job);
    store.open_run(NewRun { job_id: &seeding_job, max_pages: 5000 }).await.unwrap();
    // `ended_job`: its settler also ended the job (with its report), then died before closing
    // the run.
    let progress = JobProgress { pages_done: 1, chunks_stored: 3, ..JobProgress::default() };
    let result = json!({"pages_crawled": 1, "chunks_stored": 3, "ended": "by its settler"});
    let end = JobEnd { state: JobState::Succeeded, progress: &progress, error: None, result: Some(&result) };
    assert!(store.finish(&ended_job, end).await.unwrap());
    assert_eq!(store.open_runs().await.unwrap().len(), 2, "both seeded runs are open");

    cluster.add_worker().await;
    let record = wait_for_end(&cluster.base(), &settled_job, Duration::from_secs(60)).await;
    assert_eq!(record["state"], "succeeded", "{record}");
    assert_eq!(record["result"]["pages_crawled"], 1, "{record}");
    assert_eq!(record["result"]["chunks_stored"], 3, "{record}");
    assert_eq!(record["result"]["urls_crawled"], json!([start]), "{record}");
    let mut open = store.open_runs().await.unwrap();
    for _ in 0..50 {
        if open.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        open = store.open_runs().await.unwrap();
    }
    assert!(open.is_empty(), "the reconciler closed both ended crawls' runs: {open:?}");
    let db = pool(&services, &cluster.store).await;
    let runs: Vec<(String, String)> =
        sqlx::query_as("select job_id, state from crawl_runs order by job_id").fetch_all(&db).await.unwrap();
    let states: Vec<(bool, &str)> = runs.iter().map(|(job, state)| (*job == seeding_job, state.as_str())).collect();
    assert!(states.iter().all(|s| matches!(s, (false, "completed") | (true, "open"))), "{runs:?}");
    // The run being seeded is not the reconcilers' (it holds no URL yet): neither completed
    // (as a crawl of nothing) nor closed under its starter.
    assert_eq!(job(&cluster.base(), &seeding_job).await["state"], "running");
    // The job its settler ended keeps that end: the reconciler only closed its run.
    let ended = job(&cluster.base(), &ended_job).await;
    assert_eq!(ended["result"], result, "{ended}");
}
