//! The Redis queue engine against a real Redis (`CRAWLRAG_TEST_REDIS_URL`; restarts on a private
//! `redis-server` from `CRAWLRAG_TEST_REDIS_SERVER`): the Streams broker delivers each entry once
//! to concurrent consumers, re-delivers what a dead consumer left, keeps what a heartbeat extends,
//! dead-letters poison and unreadable entries, and heals after Redis lost its data; the host gate
//! spaces request starts by the gap and caps in-flight requests across two connections, frees
//! abandoned slots, and says exactly how long to wait. Each test uses a key prefix of its own.

use std::collections::HashMap;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crawlrag::adapters::redis_broker::{BrokerConfig, RedisBroker};
use crawlrag::adapters::redis_host_gate::{RETRY_AT_CAP_MAX, RedisHostGate};
use crawlrag::ports::{Admission, BrokerError, HostGate, HostPolicy, Lane, LaneStats, WorkBroker};
use serde_json::{Value, json};

use crate::common;

/// Bound on any single broker or gate call in these tests.
const CALL_LIMIT: Duration = Duration::from_secs(10);

/// The shared test Redis, or `None` (with the reason printed) when it is not running locally.
/// Under `CI=true` a missing Redis is a failure, never a skip.
fn redis_url() -> Option<String> {
    required_env("CRAWLRAG_TEST_REDIS_URL")
}

fn required_env(name: &str) -> Option<String> {
    if let Ok(value) = std::env::var(name) {
        return Some(value);
    }
    let reason = format!("{name} must be set (run: eval \"$(scripts/services.sh)\")");
    assert!(std::env::var("CI").as_deref() != Ok("true"), "CI=true but Redis is missing: {reason}");
    eprintln!("SKIPPED: {reason}");
    None
}

fn config(prefix: &str) -> BrokerConfig {
    BrokerConfig { prefix: prefix.to_owned(), ..BrokerConfig::default() }
}

async fn bounded<T>(future: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(CALL_LIMIT, future).await.expect("call bounded by CALL_LIMIT")
}

async fn raw(url: &str) -> redis::aio::MultiplexedConnection {
    redis::Client::open(url).unwrap().get_multiplexed_async_connection().await.unwrap()
}

/// Delete every key under `prefix`.
async fn cleanup(url: &str, prefix: &str) {
    let mut conn = raw(url).await;
    let keys: Vec<String> = redis::cmd("KEYS").arg(format!("{prefix}:*")).query_async(&mut conn).await.unwrap();
    if !keys.is_empty() {
        redis::cmd("DEL").arg(keys).query_async::<()>(&mut conn).await.unwrap();
    }
}

/// The dead-letter stream's entries as field maps.
async fn dead_entries(url: &str, key: &str) -> Vec<HashMap<String, String>> {
    let mut conn = raw(url).await;
    let entries: Vec<(String, HashMap<String, String>)> =
        redis::cmd("XRANGE").arg(key).arg("-").arg("+").query_async(&mut conn).await.unwrap();
    entries.into_iter().map(|(_, fields)| fields).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_consumers_get_every_entry_exactly_once() {
    let Some(url) = redis_url() else { return };
    let prefix = common::unique_schema("rq_once");
    let broker = Arc::new(RedisBroker::connect(&url, config(&prefix)).await.unwrap());
    assert_eq!(broker.stats(Lane::Pages).await.unwrap(), LaneStats::default());

    let payloads: Vec<Value> = (0..1000).map(|n| json!({ "n": n, "url": format!("http://127.0.0.1/{n}") })).collect();
    for batch in payloads.chunks(250) {
        bounded(broker.publish(Lane::Pages, batch)).await.unwrap();
    }
    let stats = broker.stats(Lane::Pages).await.unwrap();
    assert_eq!((stats.length, stats.pending, stats.lag, stats.dead), (1000, 0, 1000, 0), "{stats:?}");
    // The other lane is untouched.
    assert_eq!(broker.stats(Lane::Jobs).await.unwrap().length, 0);

    // Ten in hand, not yet acknowledged: pending, no longer lagging.
    let held = bounded(broker.receive(Lane::Pages, "holder", 10, Duration::ZERO)).await.unwrap();
    assert_eq!(held.len(), 10);
    let stats = broker.stats(Lane::Pages).await.unwrap();
    assert_eq!((stats.length, stats.pending, stats.lag, stats.consumers), (1000, 10, 990, 1), "{stats:?}");
    for delivery in &held {
        bounded(broker.ack(Lane::Pages, &delivery.id)).await.unwrap();
    }

    let acked = Arc::new(AtomicUsize::new(held.len()));
    let mut seen: Vec<u64> = held.iter().map(|d| d.payload["n"].as_u64().unwrap()).collect();
    let mut consumers = Vec::new();
    for name in ["c1", "c2", "c3"] {
        let (broker, acked) = (broker.clone(), acked.clone());
        consumers.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            let deadline = Instant::now() + Duration::from_secs(60);
            while acked.load(Ordering::SeqCst) < 1000 && Instant::now() < deadline {
                let batch = bounded(broker.receive(Lane::Pages, name, 25, Duration::from_millis(100))).await.unwrap();
                for delivery in batch {
                    assert_eq!(delivery.deliveries, 1, "{delivery:?}");
                    mine.push(delivery.payload["n"].as_u64().unwrap());
                    bounded(broker.ack(Lane::Pages, &delivery.id)).await.unwrap();
                    acked.fetch_add(1, Ordering::SeqCst);
                }
            }
            mine
        }));
    }
    let mut per_consumer = Vec::new();
    for consumer in consumers {
        let mine = consumer.await.unwrap();
        per_consumer.push(mine.len());
        seen.extend(mine);
    }
    seen.sort_unstable();
    assert_eq!(seen, (0..1000).collect::<Vec<u64>>(), "every entry exactly once");
    assert!(per_consumer.iter().all(|&n| n > 0), "all three consumers worked: {per_consumer:?}");

    let stats = broker.stats(Lane::Pages).await.unwrap();
    assert_eq!((stats.length, stats.pending, stats.lag, stats.dead), (0, 0, 0, 0), "{stats:?}");
    assert_eq!(stats.consumers, 4, "{stats:?}");
    cleanup(&url, &prefix).await;
}

#[tokio::test]
async fn an_entry_a_dead_consumer_held_is_redelivered_unless_extended() {
    let Some(url) = redis_url() else { return };
    let prefix = common::unique_schema("rq_visibility");
    let visibility = Duration::from_millis(300);
    let broker = RedisBroker::connect(&url, BrokerConfig { visibility, ..config(&prefix) }).await.unwrap();

    bounded(broker.publish(Lane::Jobs, &[json!({ "job": 1 })])).await.unwrap();
    let first = bounded(broker.receive(Lane::Jobs, "doomed", 5, Duration::from_millis(200))).await.unwrap();
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].deliveries, 1);
    // "doomed" dies without acknowledging. Before the visibility timeout nobody else gets it.
    let early = bounded(broker.receive(Lane::Jobs, "rescuer", 5, Duration::ZERO)).await.unwrap();
    assert!(early.is_empty(), "{early:?}");
    tokio::time::sleep(visibility + Duration::from_millis(100)).await;
    let again = bounded(broker.receive(Lane::Jobs, "rescuer", 5, Duration::ZERO)).await.unwrap();
    assert_eq!(again.len(), 1, "{again:?}");
    assert_eq!((again[0].id.as_str(), again[0].deliveries), (first[0].id.as_str(), 2));
    assert_eq!(again[0].payload, json!({ "job": 1 }));
    bounded(broker.ack(Lane::Jobs, &again[0].id)).await.unwrap();

    // A holder that heartbeats keeps its entry for three visibility timeouts.
    bounded(broker.publish(Lane::Jobs, &[json!({ "job": 2 })])).await.unwrap();
    let held = bounded(broker.receive(Lane::Jobs, "alive", 1, Duration::from_millis(200))).await.unwrap();
    assert_eq!(held.len(), 1);
    let ids = vec![held[0].id.clone()];
    let until = Instant::now() + visibility * 3;
    while Instant::now() < until {
        bounded(broker.extend(Lane::Jobs, "alive", &ids)).await.unwrap();
        let stolen = bounded(broker.receive(Lane::Jobs, "thief", 1, Duration::ZERO)).await.unwrap();
        assert!(stolen.is_empty(), "taken despite heartbeats: {stolen:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Extending counts no delivery: once the heartbeats stop, the next owner sees the second.
    tokio::time::sleep(visibility + Duration::from_millis(100)).await;
    let taken = bounded(broker.receive(Lane::Jobs, "thief", 1, Duration::ZERO)).await.unwrap();
    assert_eq!(taken.len(), 1);
    assert_eq!((taken[0].id.as_str(), taken[0].deliveries), (ids[0].as_str(), 2));
    bounded(broker.ack(Lane::Jobs, &taken[0].id)).await.unwrap();
    let stats = broker.stats(Lane::Jobs).await.unwrap();
    assert_eq!((stats.length, stats.pending, stats.lag), (0, 0, 0), "{stats:?}");
    cleanup(&url, &prefix).await;
}

#[tokio::test]
async fn poison_and_unreadable_entries_go_to_the_dead_letter_stream() {
    let Some(url) = redis_url() else { return };
    let prefix = common::unique_schema("rq_poison");
    let visibility = Duration::from_millis(200);
    let broker =
        RedisBroker::connect(&url, BrokerConfig { visibility, max_deliveries: 2, ..config(&prefix) }).await.unwrap();
    let poison = json!({ "url": "http://127.0.0.1/crashes-the-worker" });
    bounded(broker.publish(Lane::Pages, std::slice::from_ref(&poison))).await.unwrap();

    // Every worker that takes it dies; the third delivery is refused.
    let mut counts = Vec::new();
    for attempt in 0..6 {
        let got = bounded(broker.receive(Lane::Pages, &format!("w{attempt}"), 1, Duration::from_millis(50))).await;
        counts.extend(got.unwrap().iter().map(|d| d.deliveries));
        if broker.stats(Lane::Pages).await.unwrap().dead == 1 {
            break;
        }
        tokio::time::sleep(visibility + Duration::from_millis(50)).await;
    }
    assert_eq!(counts, vec![1, 2]);
    let stats = broker.stats(Lane::Pages).await.unwrap();
    assert_eq!((stats.length, stats.pending, stats.lag, stats.dead), (0, 0, 0, 1), "{stats:?}");
    let dead = dead_entries(&url, &broker.dead_key(Lane::Pages)).await;
    assert_eq!(dead.len(), 1);
    assert_eq!(serde_json::from_str::<Value>(&dead[0]["payload"]).unwrap(), poison);
    assert!(dead[0]["reason"].contains("delivered 3 times"), "{dead:?}");
    assert_eq!(dead[0]["deliveries"], "3");
    assert!(dead[0]["id"].contains('-'), "the original stream id: {dead:?}");

    // Written by something else, not JSON: never handed out, dead-lettered at once.
    let mut conn = raw(&url).await;
    let bad_id: String = redis::cmd("XADD")
        .arg(broker.stream_key(Lane::Pages))
        .arg("*")
        .arg("payload")
        .arg("{not json")
        .query_async(&mut conn)
        .await
        .unwrap();
    let got = bounded(broker.receive(Lane::Pages, "w", 5, Duration::from_millis(50))).await.unwrap();
    assert!(got.is_empty(), "{got:?}");
    let dead = dead_entries(&url, &broker.dead_key(Lane::Pages)).await;
    assert_eq!((dead.len(), dead[1]["id"].as_str(), dead[1]["payload"].as_str()), (2, bad_id.as_str(), "{not json"));
    assert!(dead[1]["reason"].contains("unreadable"), "{dead:?}");

    // A consumer's own verdict.
    bounded(broker.publish(Lane::Pages, &[json!({ "n": 7 })])).await.unwrap();
    let got = bounded(broker.receive(Lane::Pages, "w", 1, Duration::from_millis(200))).await.unwrap();
    bounded(broker.dead_letter(Lane::Pages, &got[0], "handler rejected it")).await.unwrap();
    let stats = broker.stats(Lane::Pages).await.unwrap();
    assert_eq!((stats.length, stats.pending, stats.dead), (0, 0, 3), "{stats:?}");
    let dead = dead_entries(&url, &broker.dead_key(Lane::Pages)).await;
    assert_eq!((dead[2]["reason"].as_str(), dead[2]["deliveries"].as_str()), ("handler rejected it", "1"));
    cleanup(&url, &prefix).await;
}

/// A private `redis-server` on a loopback port, killed on drop.
struct OwnRedis {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl OwnRedis {
    fn start(binary: &Path, port: u16, dir: tempfile::TempDir) -> Self {
        let child = Command::new(binary)
            .args(["--bind", "127.0.0.1", "--port", &port.to_string(), "--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start redis-server");
        let server = Self { child, port, dir };
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not listen on {port}");
            std::thread::sleep(Duration::from_millis(20));
        }
        server
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Kill it (its data is gone: no persistence) and hand back its folder.
    fn kill(mut self) -> tempfile::TempDir {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let dir = std::mem::replace(&mut self.dir, tempfile::tempdir().unwrap());
        drop(self);
        dir
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[tokio::test]
async fn the_broker_heals_after_redis_restarts_without_its_data() {
    let Some(binary) = required_env("CRAWLRAG_TEST_REDIS_SERVER").map(PathBuf::from) else { return };
    let port = free_port();
    let server = OwnRedis::start(&binary, port, tempfile::tempdir().unwrap());
    let url = server.url();
    let broker = RedisBroker::connect(&url, config("crawlrag")).await.unwrap();
    bounded(broker.publish(Lane::Pages, &[json!({ "before": true })])).await.unwrap();
    let got = bounded(broker.receive(Lane::Pages, "w", 5, Duration::from_millis(200))).await.unwrap();
    assert_eq!(got.len(), 1);
    bounded(broker.ack(Lane::Pages, &got[0].id)).await.unwrap();

    let dir = server.kill();
    // Down: every call fails soon, as Unavailable, and nothing panics.
    let started = Instant::now();
    let unavailable = |result: Result<(), BrokerError>, what: &str| {
        assert!(matches!(result, Err(BrokerError::Unavailable(_))), "{what} while down: {result:?}");
    };
    unavailable(bounded(broker.publish(Lane::Pages, &[json!({ "lost": true })])).await, "publish");
    unavailable(bounded(broker.receive(Lane::Pages, "w", 5, Duration::from_millis(100))).await.map(drop), "receive");
    unavailable(bounded(broker.ack(Lane::Pages, &got[0].id)).await, "ack");
    unavailable(bounded(broker.stats(Lane::Pages)).await.map(drop), "stats");
    unavailable(bounded(broker.ping()).await, "ping");
    assert!(started.elapsed() < Duration::from_secs(8), "failing took {:?}", started.elapsed());

    // Back, empty (no group): the same client publishes and receives again.
    let _server = OwnRedis::start(&binary, port, dir);
    let deadline = Instant::now() + Duration::from_secs(10);
    while bounded(broker.ping()).await.is_err() {
        assert!(Instant::now() < deadline, "the client did not reconnect");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bounded(broker.publish(Lane::Pages, &[json!({ "after": 1 }), json!({ "after": 2 })])).await.unwrap();
    let stats = broker.stats(Lane::Pages).await.unwrap();
    assert_eq!((stats.length, stats.lag, stats.consumers), (2, 2, 0), "no group yet: {stats:?}");
    let got = bounded(broker.receive(Lane::Pages, "w", 5, Duration::from_millis(200))).await.unwrap();
    let payloads: Vec<Value> = got.iter().map(|d| d.payload.clone()).collect();
    assert_eq!(payloads, vec![json!({ "after": 1 }), json!({ "after": 2 })], "entries added before the group");
    for delivery in &got {
        bounded(broker.ack(Lane::Pages, &delivery.id)).await.unwrap();
    }
    // The other lane (its group gone too) heals the same way.
    bounded(broker.publish(Lane::Jobs, &[json!({ "job": 1 })])).await.unwrap();
    let got = bounded(broker.receive(Lane::Jobs, "w", 5, Duration::from_millis(200))).await.unwrap();
    assert_eq!(got.len(), 1);
    let stats = broker.stats(Lane::Pages).await.unwrap();
    assert_eq!((stats.length, stats.pending, stats.lag), (0, 0, 0), "{stats:?}");
}

/// One granted request: when it was asked for, when the grant arrived, and when Redis granted it
/// (µs on Redis's clock, read back from the slot's expiry).
#[derive(Debug, Clone, Copy)]
struct Grant {
    asked: Instant,
    answered: Instant,
    granted_us: i64,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_gates_space_request_starts_and_cap_requests_in_flight() {
    let Some(url) = redis_url() else { return };
    let prefix = common::unique_schema("rq_gate");
    let gates: Vec<Arc<RedisHostGate>> = vec![
        Arc::new(RedisHostGate::connect(&url, &prefix).await.unwrap()),
        Arc::new(RedisHostGate::connect(&url, &prefix).await.unwrap()),
    ];
    let gap = Duration::from_millis(50);
    let hold = Duration::from_secs(5);
    let policy = HostPolicy { max_in_flight: 2, gap, hold };
    let slots_key = format!("{prefix}:host:docs.test:443:slots");
    let inspector = raw(&url).await;
    let in_flight = Arc::new(AtomicUsize::new(0));
    let most_in_flight = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for task in 0..6 {
        let gate = gates[task % 2].clone();
        let (in_flight, most_in_flight) = (in_flight.clone(), most_in_flight.clone());
        let (mut inspector, slots_key) = (inspector.clone(), slots_key.clone());
        tasks.push(tokio::spawn(async move {
            let mut grants = Vec::new();
            let mut waits = Vec::new();
            for _ in 0..3 {
                for attempt in 0.. {
                    assert!(attempt < 200, "no grant after 200 attempts");
                    let asked = Instant::now();
                    match bounded(gate.try_acquire("docs.test:443", policy)).await.unwrap() {
                        Admission::Wait(wait) => {
                            waits.push(wait);
                            tokio::time::sleep(wait).await;
                        }
                        Admission::Granted(slot) => {
                            let answered = Instant::now();
                            let expiry: f64 = redis::cmd("ZSCORE")
                                .arg(&slots_key)
                                .arg(&slot.token)
                                .query_async(&mut inspector)
                                .await
                                .unwrap();
                            let granted_us = expiry as i64 - i64::try_from(hold.as_micros()).unwrap();
                            grants.push(Grant { asked, answered, granted_us });
                            let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                            most_in_flight.fetch_max(now, Ordering::SeqCst);
                            // Longer than two gaps: the cap, not only the gap, must hold requests back.
                            tokio::time::sleep(Duration::from_millis(130)).await;
                            in_flight.fetch_sub(1, Ordering::SeqCst);
                            bounded(gate.release(&slot)).await.unwrap();
                            break;
                        }
                    }
                }
            }
            (grants, waits)
        }));
    }
    let mut grants = Vec::new();
    let mut waits = Vec::new();
    for task in tasks {
        let (mine, my_waits) = bounded(task).await.unwrap();
        grants.extend(mine);
        waits.extend(my_waits);
    }
    assert_eq!(grants.len(), 18);
    assert_eq!(most_in_flight.load(Ordering::SeqCst), 2, "the cap was reached and never passed");
    assert!(waits.iter().all(|wait| !wait.is_zero() && *wait <= RETRY_AT_CAP_MAX), "{waits:?}");
    // On Redis's clock, grants are at least a gap apart (to the microsecond).
    grants.sort_by_key(|grant| grant.granted_us);
    let gap_us = i64::try_from(gap.as_micros()).unwrap();
    for pair in grants.windows(2) {
        assert!(pair[1].granted_us - pair[0].granted_us >= gap_us, "{pair:?}");
        // Seen from here too: each grant happened between asking and answering.
        assert!(pair[1].answered.saturating_duration_since(pair[0].asked) >= gap, "{pair:?}");
    }
    cleanup(&url, &prefix).await;
}

#[tokio::test]
async fn an_abandoned_slot_frees_itself_and_waits_are_exact() {
    let Some(url) = redis_url() else { return };
    let prefix = common::unique_schema("rq_hold");
    let gate = RedisHostGate::connect(&url, &prefix).await.unwrap();
    let hold = Duration::from_millis(300);
    let policy = HostPolicy { max_in_flight: 1, gap: Duration::ZERO, hold };

    let asked = Instant::now();
    let Admission::Granted(abandoned) = bounded(gate.try_acquire("a.test:80", policy)).await.unwrap() else {
        panic!("first request refused")
    };
    // Its holder "crashed": the host stays at the cap until the hold ends, then frees itself.
    let regained = loop {
        assert!(asked.elapsed() < Duration::from_secs(3), "the abandoned slot never freed");
        match bounded(gate.try_acquire("a.test:80", policy)).await.unwrap() {
            Admission::Wait(wait) => {
                assert!(!wait.is_zero() && wait <= RETRY_AT_CAP_MAX && wait <= hold, "{wait:?}");
                tokio::time::sleep(wait).await;
            }
            Admission::Granted(slot) => break slot,
        }
    };
    assert!(asked.elapsed() >= hold, "granted after {:?}, before the hold ended", asked.elapsed());
    bounded(gate.release(&abandoned)).await.unwrap(); // already expired: no error
    bounded(gate.release(&regained)).await.unwrap();
    bounded(gate.release(&regained)).await.unwrap(); // idempotent

    // The gap: the wait is what remains of it, no more, and is enough.
    let gap = Duration::from_millis(200);
    let spaced = HostPolicy { max_in_flight: 10, gap, hold };
    let Admission::Granted(first) = bounded(gate.try_acquire("b.test:80", spaced)).await.unwrap() else {
        panic!("first request refused")
    };
    let granted_by = Instant::now();
    let asked = Instant::now();
    let Admission::Wait(wait) = bounded(gate.try_acquire("b.test:80", spaced)).await.unwrap() else {
        panic!("granted inside the gap")
    };
    assert!(!wait.is_zero(), "a wait is positive");
    assert!(
        wait <= gap.saturating_sub(asked - granted_by) + Duration::from_millis(1),
        "{wait:?} is longer than needed"
    );
    tokio::time::sleep(wait).await;
    let Admission::Granted(second) = bounded(gate.try_acquire("b.test:80", spaced)).await.unwrap() else {
        panic!("refused after waiting as told")
    };
    bounded(gate.release(&first)).await.unwrap();
    bounded(gate.release(&second)).await.unwrap();

    // Idle hosts leave nothing behind: released slots go at once, the gap key after the gap, and
    // an abandoned slot's set after its hold.
    let Admission::Granted(_never_released) =
        bounded(gate.try_acquire("c.test:80", HostPolicy { max_in_flight: 1, gap, hold })).await.unwrap()
    else {
        panic!("refused")
    };
    tokio::time::sleep(hold + Duration::from_millis(100)).await;
    let mut conn = raw(&url).await;
    let left: Vec<String> = redis::cmd("KEYS").arg(format!("{prefix}:*")).query_async(&mut conn).await.unwrap();
    assert!(left.is_empty(), "keys left behind: {left:?}");
}

#[tokio::test]
async fn consumers_of_workers_that_are_gone_are_forgotten_and_holders_kept() {
    let Some(url) = redis_url() else { return };
    let prefix = common::unique_schema("rq_consumers");
    let config = BrokerConfig { visibility: Duration::from_secs(60), ..config(&prefix) };
    let broker = RedisBroker::connect(&url, config).await.unwrap();
    let idle_over = Duration::from_millis(300);
    assert_eq!(bounded(broker.forget_idle_consumers(Lane::Pages, idle_over)).await.unwrap(), 0, "no stream yet");

    bounded(broker.publish(Lane::Pages, &[json!({ "page": 1 }), json!({ "page": 2 })])).await.unwrap();
    let done = bounded(broker.receive(Lane::Pages, "scaled-away", 1, Duration::ZERO)).await.unwrap();
    bounded(broker.ack(Lane::Pages, &done[0].id)).await.unwrap();
    let held = bounded(broker.receive(Lane::Pages, "holder", 1, Duration::ZERO)).await.unwrap();
    assert_eq!(held.len(), 1);
    assert_eq!(bounded(broker.forget_idle_consumers(Lane::Pages, idle_over)).await.unwrap(), 0, "all fresh");
    // "live" keeps working; "scaled-away" and "holder" are handed nothing more.
    let until = Instant::now() + idle_over + Duration::from_millis(200);
    while Instant::now() < until {
        bounded(broker.publish(Lane::Pages, &[json!({ "page": "more" })])).await.unwrap();
        let got = bounded(broker.receive(Lane::Pages, "live", 1, Duration::from_millis(200))).await.unwrap();
        bounded(broker.ack(Lane::Pages, &got[0].id)).await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(broker.stats(Lane::Pages).await.unwrap().consumers, 3);
    assert_eq!(bounded(broker.forget_idle_consumers(Lane::Pages, idle_over)).await.unwrap(), 1);
    let stats = broker.stats(Lane::Pages).await.unwrap();
    assert_eq!((stats.consumers, stats.pending), (2, 1), "the holder keeps its entry: {stats:?}");
    // The holder can still finish its entry; a forgotten consumer handed work again is re-created.
    bounded(broker.ack(Lane::Pages, &held[0].id)).await.unwrap();
    bounded(broker.publish(Lane::Pages, &[json!({ "page": 3 })])).await.unwrap();
    let back = bounded(broker.receive(Lane::Pages, "scaled-away", 1, Duration::from_millis(200))).await.unwrap();
    assert_eq!(back.len(), 1);
    assert_eq!(broker.stats(Lane::Pages).await.unwrap().consumers, 3);
    cleanup(&url, &prefix).await;
}
