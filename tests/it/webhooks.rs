//! Webhooks on job ends, against a real receiver (axum on 127.0.0.1) and real stores: retries
//! under one delivery id with the schedule's gaps and a signature the receiver can verify, no
//! retry on a plain 4xx, `Retry-After` honoured, `job.failed` for a failing job, private targets
//! refused at submit (a literal metadata IP) and at delivery (a name resolving to loopback), and
//! a crawl tool's `webhook_url` delivered through MCP over stdio by the built binary.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::post;
use crawlrag::app::{App, ServiceSettings};
use crawlrag::crawl::{PagePlan, Render};
use crawlrag::domain::Secret;
use crawlrag::domain::webhook::{hex, hmac_sha256};
use crawlrag::error::Error;
use crawlrag::jobs::{JobRequest, JobSpec, Wait, WebhookConfig};
use crawlrag::ports::WebhookAttempt;
use crawlrag::progress::NoProgress;
use serde_json::{Value, json};

use crate::both_stores;
use crate::common::binary::{self, StoreTarget};
use crate::common::site::Site;
use crate::common::{self, Backend, db};

const SECRET: &str = "test-webhook-secret";
const BASE_DELAY: Duration = Duration::from_millis(50);

/// One request the receiver got.
#[derive(Debug, Clone)]
pub(crate) struct Received {
    at: Instant,
    headers: HeaderMap,
    pub(crate) body: Bytes,
}

#[derive(Debug, Default)]
struct ReceiverState {
    /// Answers still to give, in order (status, Retry-After); then 200.
    script: Mutex<Vec<(u16, Option<&'static str>)>>,
    received: Mutex<Vec<Received>>,
}

/// A webhook receiver on loopback answering a programmed sequence.
pub(crate) struct Receiver {
    addr: std::net::SocketAddr,
    state: Arc<ReceiverState>,
}

impl Receiver {
    pub(crate) async fn start(script: &[(u16, Option<&'static str>)]) -> Self {
        let state = Arc::new(ReceiverState { script: Mutex::new(script.to_vec()), ..ReceiverState::default() });
        let app = Router::new().route("/hook", post(receive)).with_state(Arc::clone(&state));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind receiver");
        let addr = listener.local_addr().expect("receiver addr");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { addr, state }
    }

    pub(crate) fn url(&self) -> String {
        format!("http://{}/hook", self.addr)
    }

    pub(crate) fn received(&self) -> Vec<Received> {
        self.state.received.lock().unwrap().clone()
    }
}

async fn receive(State(state): State<Arc<ReceiverState>>, headers: HeaderMap, body: Bytes) -> impl IntoResponse {
    state.received.lock().unwrap().push(Received { at: Instant::now(), headers, body });
    let next = {
        let mut script = state.script.lock().unwrap();
        if script.is_empty() { (200, None) } else { script.remove(0) }
    };
    let status = StatusCode::from_u16(next.0).unwrap();
    let mut headers = HeaderMap::new();
    if let Some(after) = next.1 {
        headers.insert("retry-after", after.parse().unwrap());
    }
    (status, headers, "ok")
}

fn header(r: &Received, name: &str) -> String {
    r.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned()
}

/// Check `X-Crawlrag-Signature` the way a receiver would: recompute the HMAC of `"<t>.<body>"`.
fn assert_signed(r: &Received, secret: &str) {
    let signature = header(r, "x-crawlrag-signature");
    let (t, v1) = signature.split_once(",v1=").expect("t=...,v1=...");
    let t = t.strip_prefix("t=").expect("t=");
    let mut message = format!("{t}.").into_bytes();
    message.extend_from_slice(&r.body);
    assert_eq!(v1, hex(&hmac_sha256(secret.as_bytes(), &message)), "signature does not verify");
}

async fn webhook_app(backend: Backend, prefix: &str, allow_private: bool) -> (Arc<App>, db::Db) {
    let services = common::services().expect("services");
    let settings = ServiceSettings {
        webhooks: WebhookConfig {
            secret: Some(Secret::new(SECRET)),
            base_delay: BASE_DELAY,
            allow_private_networks: allow_private,
            ..WebhookConfig::default()
        },
        ..ServiceSettings::default()
    };
    common::app_with(&services, backend, prefix, settings).await
}

fn single_page(url: String) -> JobSpec {
    JobSpec::SinglePage { url, chunk_size: None, plan: PagePlan::new(Render::Http) }
}

/// Wait (bounded) until the job's delivery has ended; answers its attempts.
async fn until_delivery_ends(app: &App, job_id: &str) -> Vec<WebhookAttempt> {
    for _ in 0..400 {
        let attempts = app.jobs.webhook_attempts(job_id).await.unwrap();
        if attempts.last().is_some_and(|a| a.outcome != "retrying") {
            return attempts;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the webhook of job {job_id} did not end within 20 s");
}

fn outcomes(attempts: &[WebhookAttempt]) -> Vec<&str> {
    attempts.iter().map(|a| a.outcome.as_str()).collect()
}

/// Run a single-page crawl with `webhook`; answers the job id.
async fn crawl_with_hook(app: &Arc<App>, page: String, webhook: String) -> String {
    let handle = app.jobs.submit(JobRequest::new(single_page(page), Some(webhook))).await.unwrap();
    let job_id = handle.job_id.clone();
    let _ = handle.wait(Duration::from_secs(60), Arc::new(NoProgress)).await;
    job_id
}

both_stores!(server_errors_are_retried_under_one_signed_delivery);
async fn server_errors_are_retried_under_one_signed_delivery(backend: Backend) {
    let Some(_) = common::services() else { return };
    let site = Site::start().await;
    let receiver = Receiver::start(&[(500, None), (500, None)]).await;
    let (app, _db) = webhook_app(backend, "hooks_retry", true).await;

    let job_id = crawl_with_hook(&app, site.url("/docs/install.html"), receiver.url()).await;
    let attempts = until_delivery_ends(&app, &job_id).await;

    assert_eq!(outcomes(&attempts), ["retrying", "retrying", "delivered"], "{attempts:?}");
    assert_eq!(attempts.iter().map(|a| a.status_code).collect::<Vec<_>>(), [Some(500), Some(500), Some(200)]);
    let received = receiver.received();
    assert_eq!(received.len(), 3);
    let delivery_id = header(&received[0], "x-crawlrag-delivery");
    assert!(!delivery_id.is_empty());
    for r in &received {
        assert_eq!(header(r, "x-crawlrag-delivery"), delivery_id, "one delivery id on every attempt");
        assert_eq!(header(r, "x-crawlrag-event"), "job.completed");
        assert_signed(r, SECRET);
    }
    assert!(attempts.iter().all(|a| a.delivery_id == delivery_id));
    // The schedule's gaps grow: at least the base delay, then twice it.
    assert!(received[1].at - received[0].at >= BASE_DELAY);
    assert!(received[2].at - received[1].at >= BASE_DELAY * 2);

    let payload: Value = serde_json::from_slice(&received[2].body).unwrap();
    let job = app.jobs.get(&job_id).await.unwrap();
    assert_eq!(payload["delivery_id"], delivery_id.as_str());
    assert_eq!(payload["event"], "job.completed");
    assert_eq!(payload["job_id"], job_id.as_str());
    assert_eq!(payload["tool"], "crawl_single_page");
    assert_eq!(payload["data"], job.result.clone().unwrap(), "data is the job's stored result");
    assert!(payload["data"]["chunks_stored"].as_u64().unwrap() > 0, "{payload}");
}

both_stores!(client_errors_are_final_and_retry_after_is_honoured);
async fn client_errors_are_final_and_retry_after_is_honoured(backend: Backend) {
    let Some(_) = common::services() else { return };
    let site = Site::start().await;
    let (app, _db) = webhook_app(backend, "hooks_4xx", true).await;

    let refusing = Receiver::start(&[(400, None)]).await;
    let job_id = crawl_with_hook(&app, site.url("/docs/install.html"), refusing.url()).await;
    let attempts = until_delivery_ends(&app, &job_id).await;
    assert_eq!(outcomes(&attempts), ["failed"], "{attempts:?}");
    assert_eq!(attempts[0].status_code, Some(400));
    assert_eq!(refusing.received().len(), 1, "a 400 is never retried");

    let throttling = Receiver::start(&[(429, Some("0"))]).await;
    let job_id = crawl_with_hook(&app, site.url("/docs/config.html"), throttling.url()).await;
    let attempts = until_delivery_ends(&app, &job_id).await;
    assert_eq!(outcomes(&attempts), ["retrying", "delivered"], "{attempts:?}");
    assert_eq!(throttling.received().len(), 2);
}

both_stores!(a_failing_job_sends_job_failed);
async fn a_failing_job_sends_job_failed(backend: Backend) {
    let Some(_) = common::services() else { return };
    let receiver = Receiver::start(&[]).await;
    let (app, _db) = webhook_app(backend, "hooks_failed", true).await;
    // Nothing listens on a port just bound and released.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();

    let job_id = crawl_with_hook(&app, format!("http://{closed}/gone.html"), receiver.url()).await;
    let attempts = until_delivery_ends(&app, &job_id).await;

    assert_eq!(outcomes(&attempts), ["delivered"]);
    let received = receiver.received();
    assert_eq!(header(&received[0], "x-crawlrag-event"), "job.failed");
    let payload: Value = serde_json::from_slice(&received[0].body).unwrap();
    assert_eq!(payload["event"], "job.failed");
    assert!(payload["data"]["error"].as_str().is_some_and(|e| !e.is_empty()), "{payload}");
}

both_stores!(private_targets_are_refused_at_submit_and_at_delivery);
async fn private_targets_are_refused_at_submit_and_at_delivery(backend: Backend) {
    let Some(_) = common::services() else { return };
    let site = Site::start().await;
    let receiver = Receiver::start(&[]).await;
    let (app, _db) = webhook_app(backend, "hooks_ssrf", false).await;

    let spec = single_page(site.url("/docs/install.html"));
    let refused = app.jobs.submit(JobRequest::new(spec.clone(), Some("http://169.254.169.254/x".into()))).await;
    let Err(Error::BadInput(message)) = refused else { panic!("a metadata IP must be refused at submit") };
    assert!(message.contains("webhook_url") && message.contains("cloud metadata address"), "{message}");

    // A name resolving to loopback passes the submit check and is refused after DNS, unsent.
    let by_name = format!("http://localhost:{}/hook", receiver.addr.port());
    let answer = app.jobs.answer(JobRequest::new(spec, Some(by_name)), Wait::UntilDone, Arc::new(NoProgress)).await;
    let job_id = match answer.unwrap() {
        crawlrag::jobs::JobAnswer::Done { job_id, .. } | crawlrag::jobs::JobAnswer::Running { job_id, .. } => job_id,
    };
    let attempts = until_delivery_ends(&app, &job_id).await;
    assert_eq!(outcomes(&attempts), ["refused"], "{attempts:?}");
    assert!(attempts[0].error.as_deref().is_some_and(|e| e.contains("loopback")), "{attempts:?}");
    assert!(receiver.received().is_empty(), "no request reaches a refused target");
}

#[tokio::test]
async fn a_crawl_tool_delivers_its_webhook_over_stdio() {
    let Some(services) = common::services() else { return };
    let site = Site::start().await;
    let receiver = Receiver::start(&[]).await;
    let store = StoreTarget::fresh(&services, Backend::Sqlite, "hooks_mcp");
    // Loopback is trusted by name only: the fixture site and the receiver pass, a metadata IP does not.
    let env = [
        ("CRAWLRAG_ALLOW_PRIVATE_NETWORKS", "false"),
        ("CRAWLRAG_TRUSTED_HOSTS", "127.0.0.1"),
        ("CRAWLRAG_WEBHOOK_SECRET", SECRET),
    ];
    let client = binary::stdio_client_env(&services, &store, (), &env).await;

    let refused = binary::call(
        &client,
        "crawl_single_page",
        json!({"url": site.url("/docs/install.html"), "webhook_url": "http://169.254.169.254/latest"}),
    )
    .await
    .unwrap();
    assert!(binary::is_error(&refused));
    let error = binary::body(&refused);
    assert_eq!(error["error_kind"], "bad_input", "{error}");
    assert!(error["error"].as_str().unwrap().contains("cloud metadata address"), "{error}");

    let result = binary::call(
        &client,
        "crawl_single_page",
        json!({"url": site.url("/docs/install.html"), "webhook_url": receiver.url()}),
    )
    .await
    .unwrap();
    let answer = binary::body(&result);
    assert!(!binary::is_error(&result), "{answer}");
    let job_id = answer["job_id"].as_str().unwrap().to_owned();

    let mut job = Value::Null;
    for _ in 0..400 {
        let got = binary::call(&client, "get_crawl_job", json!({"job_id": job_id})).await.unwrap();
        job = binary::body(&got);
        if job["webhooks"][0]["outcome"] == "delivered" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let hook = &job["webhooks"][0];
    assert_eq!(hook["outcome"], "delivered", "{job}");
    assert_eq!(hook["attempts"], 1);
    assert_eq!(hook["event"], "job.completed");
    assert_eq!(hook["url"], receiver.url().as_str());
    let received = receiver.received();
    assert_eq!(received.len(), 1);
    assert_eq!(header(&received[0], "x-crawlrag-delivery"), hook["delivery_id"].as_str().unwrap());
    assert_signed(&received[0], SECRET);
    client.cancel().await.unwrap();
}

both_stores!(a_queued_job_cancelled_before_it_ran_sends_job_cancelled);
async fn a_queued_job_cancelled_before_it_ran_sends_job_cancelled(backend: Backend) {
    let Some(_) = common::services() else { return };
    let receiver = Receiver::start(&[]).await;
    let (app, _db) = webhook_app(backend, "hooks_cancel", true).await;

    let spec = single_page("http://127.0.0.1:9/never.html".into());
    let job_id = app.jobs.enqueue(JobRequest::new(spec, Some(receiver.url()))).await.unwrap();
    app.jobs.cancel(&job_id).await.unwrap();
    let attempts = until_delivery_ends(&app, &job_id).await;

    assert_eq!(outcomes(&attempts), ["delivered"]);
    let received = receiver.received();
    assert_eq!(received.len(), 1);
    let payload: Value = serde_json::from_slice(&received[0].body).unwrap();
    assert_eq!(payload["event"], "job.cancelled");
    assert_eq!(payload["job_id"], job_id.as_str());
    assert_eq!(payload["tool"], "crawl_single_page");
}

#[tokio::test]
async fn the_cli_crawl_waits_for_its_webhook_through_retries() {
    let Some(services) = common::services() else { return };
    let site = Site::start().await;
    let receiver = Receiver::start(&[(503, Some("0"))]).await;
    let store = StoreTarget::fresh(&services, Backend::Sqlite, "hooks_cli");
    let mut cmd = tokio::process::Command::new(binary::BIN);
    binary::configure(&mut cmd, &services, &store);
    let out = cmd
        .args(["crawl", &site.url("/docs/install.html"), "--depth", "1", "--webhook-url", &receiver.url(), "--json"])
        .env("CRAWLRAG_WEBHOOK_SECRET", SECRET)
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    // The process exits only after its delivery ended: the retry after the 503 has arrived.
    let received = receiver.received();
    assert_eq!(received.len(), 2, "one retry after the 503");
    assert_eq!(header(&received[0], "x-crawlrag-delivery"), header(&received[1], "x-crawlrag-delivery"));
    assert_eq!(header(&received[1], "x-crawlrag-event"), "job.completed");
    assert_signed(&received[1], SECRET);
}
