//! HTTP rate limits and the per-caller crawl cap, against the real binary on 127.0.0.1: one
//! limit shared by two replicas through a real Redis (a private `redis-server` per test, from
//! `CRAWLRAG_TEST_REDIS_SERVER`), trusted-proxy `X-Forwarded-For`, the per-address limit counting
//! refused keys, per-key limits on the in-process limiter, limits working again after Redis
//! restarts (script cache lost), and a second background crawl refused while the first runs.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use rmcp::ServiceExt;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use serde_json::{Value, json};

use crate::both_stores;
use crate::common::binary::{self, HttpServer, StoreTarget};
use crate::common::{self, Backend};

/// A private `redis-server` on a free loopback port, killed when dropped.
struct RedisServer {
    binary: String,
    port: u16,
    dir: tempfile::TempDir,
    child: Child,
}

impl RedisServer {
    /// `None` (with the reason printed) when no Redis binary is configured; a failure under CI.
    async fn start() -> Option<Self> {
        let Ok(binary) = std::env::var("CRAWLRAG_TEST_REDIS_SERVER") else {
            let reason = "CRAWLRAG_TEST_REDIS_SERVER (a redis-server binary) must be set";
            assert!(std::env::var("CI").as_deref() != Ok("true"), "CI=true but Redis is missing: {reason}");
            eprintln!("SKIPPED: {reason}");
            return None;
        };
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let dir = tempfile::tempdir().unwrap();
        let child = spawn_redis(&binary, port, dir.path());
        let server = Self { binary, port, dir, child };
        server.wait_ready().await;
        Some(server)
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    async fn wait_ready(&self) {
        for _ in 0..100 {
            if let Ok(mut conn) = self.connection().await
                && redis::cmd("PING").query_async::<String>(&mut conn).await.is_ok()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("redis-server on port {} did not answer PING", self.port);
    }

    async fn connection(&self) -> redis::RedisResult<redis::aio::MultiplexedConnection> {
        redis::Client::open(self.url())?.get_multiplexed_async_connection().await
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Kill it (SIGKILL: nothing saved, the script cache and every key lost) and start a new
    /// one on the same port.
    async fn restart(&mut self) {
        self.kill();
        self.child = spawn_redis(&self.binary, self.port, self.dir.path());
        self.wait_ready().await;
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}

fn spawn_redis(binary: &str, port: u16, dir: &std::path::Path) -> Child {
    Command::new(binary)
        .args(["--bind", "127.0.0.1", "--port", &port.to_string(), "--save", "", "--appendonly", "no"])
        .arg("--dir")
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn redis-server")
}

/// GET `path` with an optional API key and `X-Forwarded-For`: status, headers, JSON body.
async fn get(
    http: &reqwest::Client,
    base: &str,
    path: &str,
    key: Option<&str>,
    forwarded_for: Option<&str>,
) -> (StatusCode, HeaderMap, Value) {
    let mut request = http.get(format!("{base}{path}"));
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    if let Some(xff) = forwarded_for {
        request = request.header("x-forwarded-for", xff);
    }
    let response = request.send().await.unwrap();
    let (status, headers) = (response.status(), response.headers().clone());
    let body = response.json().await.unwrap_or(Value::Null);
    (status, headers, body)
}

fn header_number(headers: &HeaderMap, name: &str) -> u64 {
    headers.get(name).and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok()).unwrap_or_else(|| {
        panic!("missing numeric header {name}: {headers:?}");
    })
}

/// A 429 from the `which` limit, with its headers.
fn assert_limited(status: StatusCode, headers: &HeaderMap, body: &Value, which: &str, max_retry: u64) {
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(body["error"], "rate_limited", "{body}");
    assert_eq!(body["limit"], which, "{body}");
    let retry = header_number(headers, "retry-after");
    assert!((1..=max_retry).contains(&retry), "Retry-After {retry}");
    assert_eq!(header_number(headers, "ratelimit-remaining"), 0);
    assert!(header_number(headers, "ratelimit-reset") >= retry);
}

async fn create_key(services: &common::Services, store: &StoreTarget, name: &str, scopes: &str) -> String {
    let (code, out, err) =
        binary::run_cli(services, store, &["keys", "create", "--name", name, "--scopes", scopes, "--json"]).await;
    assert_eq!(code, 0, "{err}");
    out["key"].as_str().expect("the secret").to_owned()
}

#[tokio::test]
async fn two_replicas_share_one_limit_through_redis_and_trust_only_their_proxy() {
    let Some(services) = common::services() else { return };
    let Some(redis) = RedisServer::start().await else { return };
    let store = StoreTarget::fresh(&services, Backend::Postgres, "rl_replicas");
    let env = [
        ("REDIS_URL", redis.url()),
        ("CRAWLRAG_RATE_LIMIT_IP", "5/min".to_owned()),
        // The test client plays the proxy in front of both replicas.
        ("CRAWLRAG_TRUSTED_PROXIES", "127.0.0.1".to_owned()),
    ];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let first = HttpServer::start_env(&services, &store, &env).await;
    let second = HttpServer::start_env(&services, &store, &env).await;
    let http = reqwest::Client::new();
    let client = Some("203.0.113.5");

    let mut passed = 0;
    let mut limited = 0;
    for i in 0..10 {
        let base = if i % 2 == 0 { &first.base } else { &second.base };
        let (status, headers, body) = get(&http, base, "/metrics", None, client).await;
        if status == StatusCode::OK {
            passed += 1;
            assert_eq!(header_number(&headers, "ratelimit-limit"), 5);
        } else {
            assert_limited(status, &headers, &body, "ip", 12);
            limited += 1;
        }
    }
    assert_eq!((passed, limited), (5, 5), "exactly the quota passes across both replicas");

    // Another client behind the same proxy has its own budget; a hop the client wrote itself
    // (left of the proxy's) is not believed.
    assert_eq!(get(&http, &first.base, "/metrics", None, Some("203.0.113.6")).await.0, StatusCode::OK);
    let spoofed = get(&http, &second.base, "/metrics", None, Some("203.0.113.77, 203.0.113.5")).await;
    assert_eq!(spoofed.0, StatusCode::TOO_MANY_REQUESTS, "a forged left-most hop escaped the limit");
    // Probes are never limited.
    for base in [&first.base, &second.base] {
        assert_eq!(get(&http, base, "/health", None, client).await.0, StatusCode::OK);
    }
    // The shared state lives in Redis under the documented prefix.
    let mut conn = redis.connection().await.unwrap();
    let exists: bool = redis::cmd("EXISTS").arg("crawlrag:rl:ip:203.0.113.5").query_async(&mut conn).await.unwrap();
    assert!(exists);
}

#[tokio::test]
async fn per_address_limit_counts_refused_keys_and_per_key_limits_run_in_process() {
    let Some(services) = common::services() else { return };
    let store = StoreTarget::fresh(&services, Backend::Sqlite, "rl_local");
    let first_key = create_key(&services, &store, "first", "admin").await;
    let second_key = create_key(&services, &store, "second", "admin").await;
    // No REDIS_URL: the in-process limiter. No trusted proxy: X-Forwarded-For is ignored.
    let env =
        [("CRAWLRAG_RATE_LIMIT_IP", "6/min"), ("CRAWLRAG_RATE_LIMIT_KEY", "2/min"), ("CRAWLRAG_AUTH_CACHE_SECS", "0")];
    let server = HttpServer::start_env(&services, &store, &env).await;
    let http = reqwest::Client::new();
    let base = server.base.as_str();

    for _ in 0..2 {
        let (status, headers, _) = get(&http, base, "/metrics", Some(&first_key), None).await;
        assert_eq!(status, StatusCode::OK);
        // The key's own headers win over the address's.
        assert_eq!(header_number(&headers, "ratelimit-limit"), 2);
    }
    let (status, headers, body) = get(&http, base, "/metrics", Some(&first_key), None).await;
    assert_limited(status, &headers, &body, "caller", 30);
    assert!(body["message"].as_str().unwrap().contains("2/min"), "{body}");
    // Another key has its own budget (the address has used 4 of 6).
    assert_eq!(get(&http, base, "/metrics", Some(&second_key), None).await.0, StatusCode::OK);

    // Requests without a key are refused by auth, yet still count against the address, whatever
    // X-Forwarded-For an untrusted client claims.
    for claimed in ["198.51.100.1", "198.51.100.2"] {
        assert_eq!(get(&http, base, "/metrics", None, Some(claimed)).await.0, StatusCode::UNAUTHORIZED);
    }
    let (status, headers, body) = get(&http, base, "/metrics", None, Some("198.51.100.3")).await;
    assert_limited(status, &headers, &body, "ip", 10);
    let (status, _, body) = get(&http, base, "/metrics", Some(&second_key), None).await;
    assert_eq!((status, body["limit"].as_str()), (StatusCode::TOO_MANY_REQUESTS, Some("ip")));
    assert_eq!(get(&http, base, "/ready", None, None).await.0, StatusCode::OK);
}

#[tokio::test]
async fn limits_work_again_after_redis_restarts() {
    let Some(services) = common::services() else { return };
    let Some(mut redis) = RedisServer::start().await else { return };
    let store = StoreTarget::fresh(&services, Backend::Sqlite, "rl_restart");
    let url = redis.url();
    let env = [("REDIS_URL", url.as_str()), ("CRAWLRAG_RATE_LIMIT_IP", "2/min")];
    let server = HttpServer::start_env(&services, &store, &env).await;
    let http = reqwest::Client::new();
    let base = server.base.as_str();
    let statuses = |n: usize| {
        let http = http.clone();
        async move {
            let mut out = Vec::new();
            for _ in 0..n {
                out.push(get(&http, base, "/metrics", None, None).await.0);
            }
            out
        }
    };
    assert_eq!(statuses(3).await, [StatusCode::OK, StatusCode::OK, StatusCode::TOO_MANY_REQUESTS]);

    // Redis down: fail open (the default), so requests pass.
    redis.kill();
    assert_eq!(get(&http, base, "/metrics", None, None).await.0, StatusCode::OK, "fail open while Redis is down");

    // A new, empty Redis: no keys and no cached script. The limiter reconnects, gets NOSCRIPT,
    // loads the script again, and limits again.
    redis.restart().await;
    let mut seen = Vec::new();
    for _ in 0..40 {
        let status = get(&http, base, "/metrics", None, None).await.0;
        seen.push(status);
        if status == StatusCode::TOO_MANY_REQUESTS {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(seen.last(), Some(&StatusCode::TOO_MANY_REQUESTS), "never limited after the restart: {seen:?}");
    let mut conn = redis.connection().await.unwrap();
    let exists: bool = redis::cmd("EXISTS").arg("crawlrag:rl:ip:127.0.0.1").query_async(&mut conn).await.unwrap();
    assert!(exists, "the limit is not stored in the restarted Redis");
    // EVAL put the script back in the new server's cache (so later calls go by SHA again).
    let info: String = redis::cmd("INFO").arg("memory").query_async(&mut conn).await.unwrap();
    let cached = info.lines().find_map(|l| l.strip_prefix("number_of_cached_scripts:")).map(str::trim);
    assert_eq!(cached, Some("1"), "{info}");
}

/// A TCP listener that accepts connections and never answers: a fetch of it hangs until the
/// crawler's timeout, so a crawl of it stays running.
fn silent_site() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/page", listener.local_addr().unwrap());
    (listener, url)
}

async fn mcp_client(base: &str, key: &str) -> rmcp::service::RunningService<rmcp::RoleClient, ()> {
    let config = StreamableHttpClientTransportConfig::with_uri(format!("{base}/mcp")).auth_header(key);
    ().serve(StreamableHttpClientTransport::from_config(config)).await.expect("MCP initialize with a key")
}

both_stores!(a_callers_second_crawl_waits_for_the_first);

async fn a_callers_second_crawl_waits_for_the_first(backend: Backend) {
    let Some(services) = common::services() else { return };
    let store = StoreTarget::fresh(&services, backend, "rl_crawl_cap");
    let first_key = create_key(&services, &store, "first", "crawl").await;
    let second_key = create_key(&services, &store, "second", "crawl").await;
    let env = [("CRAWLRAG_MAX_CRAWLS_PER_CALLER", "1"), ("CRAWLRAG_FETCH_TIMEOUT_SECS", "120")];
    let server = HttpServer::start_env(&services, &store, &env).await;
    let (_site, url) = silent_site();
    let crawl = json!({"url": url, "background": true});

    let first = mcp_client(&server.base, &first_key).await;
    let running = binary::call(&first, "crawl_single_page", crawl.clone()).await.unwrap();
    assert!(!binary::is_error(&running), "{:?}", binary::body(&running));
    let job_id = binary::body(&running)["job_id"].as_str().expect("a job id").to_owned();

    let refused = binary::call(&first, "crawl_single_page", crawl.clone()).await.unwrap();
    assert!(binary::is_error(&refused), "a second crawl passed the cap: {:?}", binary::body(&refused));
    let message = binary::body(&refused).to_string();
    assert!(message.contains("1 job(s) queued or running") && message.contains("at most 1"), "{message}");

    // Another key is not affected.
    let second = mcp_client(&server.base, &second_key).await;
    let other = binary::call(&second, "crawl_single_page", crawl.clone()).await.unwrap();
    assert!(!binary::is_error(&other), "{:?}", binary::body(&other));

    // Once the first job ends (cancelled), the first key may crawl again.
    let cancelled = binary::call(&first, "cancel_crawl_job", json!({"job_id": job_id})).await.unwrap();
    assert!(!binary::is_error(&cancelled), "{:?}", binary::body(&cancelled));
    let mut again = None;
    for _ in 0..100 {
        let answer = binary::call(&first, "crawl_single_page", crawl.clone()).await.unwrap();
        if !binary::is_error(&answer) {
            again = Some(answer);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(again.is_some(), "the cap still refused after the first job ended");
    first.cancel().await.unwrap();
    second.cancel().await.unwrap();
}
