//! The durable crawl ledger on real Postgres, driven the way a cluster drives it: several stores
//! (one per "worker process", each with its own pool) on one schema, racing on admissions,
//! claims, settles and reconciler scans. Plus `JobQueue::hand_over` on both SQL stores.

use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crawlrag::adapters::postgres::{PgConfig, PgStore};
use crawlrag::domain::{JobProgress, JobState};
use crawlrag::ports::{
    Admitted, CrawlLedger, JobEnd, Lease, NewJob, NewRun, OfferedUrl, PageCounts, QueuedUrl, RunEnd, UrlClaim,
    UrlOutcome,
};
use tokio::sync::Barrier;

use crate::both_stores;
use crate::common::{self, Backend};

const LEASE: Duration = Duration::from_secs(30);

/// `count` stores on one fresh schema, like worker processes sharing one database.
async fn cluster(prefix: &str, count: usize) -> Option<Vec<Arc<PgStore>>> {
    let services = common::services()?;
    let schema = common::unique_schema(prefix);
    let mut stores = Vec::with_capacity(count);
    for _ in 0..count {
        let config = PgConfig { url: services.database_url.clone(), schema: Some(schema.clone()), max_connections: 5 };
        stores.push(Arc::new(PgStore::connect(&config).await.expect("connect to Postgres")));
    }
    Some(stores)
}

fn url(n: usize) -> String {
    format!("http://127.0.0.1:9/page-{n}")
}

fn offer(n: usize, depth: u32) -> OfferedUrl {
    OfferedUrl { url: url(n), depth, skip: None }
}

fn skipped(n: usize, reason: &str) -> OfferedUrl {
    OfferedUrl { url: url(n), depth: 1, skip: Some(reason.to_owned()) }
}

async fn open(ledger: &PgStore, job_id: &str, max_pages: u64) {
    ledger.open_run(NewRun { job_id, max_pages }).await.unwrap();
}

async fn claim(ledger: &PgStore, job_id: &str, url: &str, worker: &str) -> UrlClaim {
    ledger.claim_url(job_id, url, worker, LEASE).await.unwrap()
}

fn stored(chunks: u64) -> UrlOutcome {
    UrlOutcome::Stored(PageCounts { chunks, words: 10 * chunks, ..PageCounts::default() })
}

#[tokio::test]
async fn the_budget_is_exact_under_concurrent_overlapping_admissions() {
    let Some(stores) = cluster("ledger_budget", 2).await else { return };
    open(&stores[0], "crawl", 50).await;
    open(&stores[1], "crawl", 999).await; // opening again changes nothing

    // 8 tasks offer overlapping ranges (150 distinct URLs) in batches, each batch also linking
    // one URL twice; half go through each "process".
    let barrier = Arc::new(Barrier::new(8));
    let tasks: Vec<_> = (0..8)
        .map(|task| {
            let ledger = Arc::clone(&stores[task % 2]);
            let barrier = Arc::clone(&barrier);
            tokio::spawn(async move {
                barrier.wait().await;
                let mut answers = Vec::new();
                let range: Vec<usize> = (task * 15..task * 15 + 45).collect();
                for batch in range.chunks(9) {
                    let mut offers: Vec<OfferedUrl> = batch.iter().map(|&n| offer(n, 1)).collect();
                    offers.push(offer(batch[0], 2));
                    answers.push(ledger.admit("crawl", &offers).await.unwrap());
                }
                answers
            })
        })
        .collect();
    let mut answers: Vec<Admitted> = Vec::new();
    for task in tasks {
        answers.extend(task.await.unwrap());
    }
    let queued: Vec<&QueuedUrl> = answers.iter().flat_map(|a| &a.queued).collect();
    let distinct: HashSet<&str> = queued.iter().map(|q| q.url.as_str()).collect();
    assert_eq!(queued.len(), 50, "exactly max_pages admitted");
    assert_eq!(distinct.len(), 50, "no URL admitted twice");
    assert!(queued.iter().all(|q| q.depth == 1), "the first offer of a batch wins: {queued:?}");
    let over: u64 = answers.iter().map(|a| a.over_budget).sum();
    assert_eq!(over, 100, "each of the 100 URLs left out counts once, however often it was offered");

    let tally = stores[1].tally("crawl", 0).await.unwrap();
    assert_eq!((tally.queued, tally.over_budget, tally.skipped), (50, 100, 0), "{tally:?}");

    // Offered again: all known, nothing admitted, nothing counted.
    let again = stores[0].admit("crawl", &(0..150).map(|n| offer(n, 1)).collect::<Vec<_>>()).await.unwrap();
    assert_eq!(again, Admitted::default());
    assert_eq!(stores[0].tally("crawl", 0).await.unwrap().over_budget, 100);
}

#[tokio::test]
async fn skipped_offers_are_recorded_and_never_spend_the_budget() {
    let Some(stores) = cluster("ledger_skips", 1).await else { return };
    let ledger = &stores[0];
    open(ledger, "crawl", 2).await;
    let offers =
        [skipped(0, "robots.txt"), offer(1, 1), skipped(2, "trap"), offer(3, 1), skipped(4, "pattern"), offer(5, 1)];
    let admitted = ledger.admit("crawl", &offers).await.unwrap();
    assert_eq!(admitted.queued, vec![QueuedUrl { url: url(1), depth: 1 }, QueuedUrl { url: url(3), depth: 1 }]);
    assert_eq!(admitted.over_budget, 1);
    // A skipped URL is known: offered later without a reason, it is not admitted.
    assert_eq!(ledger.admit("crawl", &[offer(0, 1)]).await.unwrap(), Admitted::default());

    let tally = ledger.tally("crawl", 10).await.unwrap();
    assert_eq!((tally.queued, tally.skipped, tally.over_budget), (2, 3, 1), "{tally:?}");
    let reasons = vec![(url(0), "robots.txt".into()), (url(2), "trap".into()), (url(4), "pattern".into())];
    assert_eq!(tally.skips, reasons);

    // A closed crawl admits nothing.
    assert!(ledger.close_run("crawl", RunEnd::Cancelled).await.unwrap());
    assert_eq!(ledger.admit("crawl", &[offer(9, 1)]).await.unwrap(), Admitted::default());
}

#[tokio::test]
async fn one_worker_wins_a_claim_and_an_expired_claim_is_claimable_again() {
    let Some(stores) = cluster("ledger_claims", 2).await else { return };
    open(&stores[0], "crawl", 100).await;
    let urls: Vec<OfferedUrl> = (0..20).map(|n| offer(n, 3)).collect();
    stores[0].admit("crawl", &urls).await.unwrap();

    // Two workers in two processes race for every URL.
    let barrier = Arc::new(Barrier::new(2));
    let racers: Vec<_> = ["w1", "w2"]
        .into_iter()
        .enumerate()
        .map(|(i, worker)| {
            let (ledger, barrier) = (Arc::clone(&stores[i]), Arc::clone(&barrier));
            tokio::spawn(async move {
                let mut won = Vec::new();
                for n in 0..20 {
                    barrier.wait().await;
                    if let UrlClaim::Claimed { depth } = claim(&ledger, "crawl", &url(n), worker).await {
                        assert_eq!(depth, 3);
                        won.push(n);
                    }
                }
                won
            })
        })
        .collect();
    let mut winners = Vec::new();
    for racer in racers {
        winners.extend(racer.await.unwrap());
    }
    winners.sort_unstable();
    assert_eq!(winners, (0..20).collect::<Vec<_>>(), "every URL claimed exactly once");

    // A claim whose lease ran out goes to the next worker; the first one's settle is refused.
    stores[0].admit("crawl", &[offer(50, 1)]).await.unwrap();
    let short = stores[0].claim_url("crawl", &url(50), "slow", Duration::from_millis(100)).await.unwrap();
    assert_eq!(short, UrlClaim::Claimed { depth: 1 });
    assert_eq!(claim(&stores[1], "crawl", &url(50), "fast").await, UrlClaim::NotClaimable, "lease still live");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(claim(&stores[1], "crawl", &url(50), "fast").await, UrlClaim::Claimed { depth: 1 });
    let late = stores[0].settle_url("crawl", &url(50), "slow", &stored(4), &[offer(51, 2)]).await.unwrap();
    assert!(!late.applied, "not slow's claim any more");
    assert_eq!(late.admitted, Admitted::default(), "its links are not admitted");
    let tally = stores[0].tally("crawl", 10).await.unwrap();
    assert_eq!((tally.stored, tally.chunks, tally.queued), (0, 0, 0), "nothing written: {tally:?}");
    let settled = stores[1].settle_url("crawl", &url(50), "fast", &stored(4), &[offer(51, 2)]).await.unwrap();
    assert!(settled.applied);
    assert_eq!(settled.admitted.queued, vec![QueuedUrl { url: url(51), depth: 2 }]);
    // A settled URL is not claimable, nor is anything of a closed crawl.
    assert_eq!(claim(&stores[0], "crawl", &url(50), "w3").await, UrlClaim::NotClaimable);
    assert!(stores[0].close_run("crawl", RunEnd::Cancelled).await.unwrap());
    assert_eq!(claim(&stores[0], "crawl", &url(51), "w3").await, UrlClaim::NotClaimable);
}

#[tokio::test]
async fn links_admitted_by_settles_are_answered_once() {
    let Some(stores) = cluster("ledger_links", 1).await else { return };
    let ledger = &stores[0];
    open(ledger, "crawl", 100).await;
    assert_eq!(ledger.admit("crawl", &[offer(0, 0)]).await.unwrap().queued.len(), 1);
    assert_eq!(claim(ledger, "crawl", &url(0), "w1").await, UrlClaim::Claimed { depth: 0 });
    let links = [offer(1, 1), offer(2, 1), offer(1, 1), offer(0, 1), skipped(3, "robots.txt")];
    let first = ledger.settle_url("crawl", &url(0), "w1", &stored(2), &links).await.unwrap();
    assert!(first.applied);
    assert_eq!(first.admitted.queued, vec![QueuedUrl { url: url(1), depth: 1 }, QueuedUrl { url: url(2), depth: 1 }]);
    assert_eq!(first.open, 2);

    assert_eq!(claim(ledger, "crawl", &url(1), "w2").await, UrlClaim::Claimed { depth: 1 });
    let second = ledger.settle_url("crawl", &url(1), "w2", &stored(1), &[offer(2, 2), offer(4, 2)]).await.unwrap();
    assert_eq!(second.admitted.queued, vec![QueuedUrl { url: url(4), depth: 2 }], "2 was admitted already");
    assert_eq!(second.open, 2);
    // A second settle of the same page (a redelivery) changes nothing.
    let again = ledger.settle_url("crawl", &url(1), "w2", &stored(9), &[offer(5, 2)]).await.unwrap();
    assert!(!again.applied);
    assert_eq!(again.admitted, Admitted::default());
    let tally = ledger.tally("crawl", 10).await.unwrap();
    assert_eq!((tally.stored, tally.chunks, tally.queued, tally.skipped), (2, 3, 2, 1), "{tally:?}");
}

#[tokio::test]
async fn exactly_one_of_concurrent_last_settles_sees_the_crawl_complete() {
    let Some(stores) = cluster("ledger_last", 2).await else { return };
    for round in 0..3 {
        let job_id = format!("crawl-{round}");
        open(&stores[0], &job_id, 100).await;
        stores[0].admit(&job_id, &(0..12).map(|n| offer(n, 1)).collect::<Vec<_>>()).await.unwrap();
        for n in 0..12 {
            let worker = format!("w{n}");
            assert!(matches!(claim(&stores[n % 2], &job_id, &url(n), &worker).await, UrlClaim::Claimed { .. }));
        }
        let barrier = Arc::new(Barrier::new(12));
        let settles: Vec<_> = (0..12)
            .map(|n| {
                let (ledger, barrier, job_id) = (Arc::clone(&stores[n % 2]), Arc::clone(&barrier), job_id.clone());
                tokio::spawn(async move {
                    barrier.wait().await;
                    let settled = ledger.settle_url(&job_id, &url(n), &format!("w{n}"), &stored(1), &[]).await.unwrap();
                    assert!(settled.applied);
                    // Every settler tries to close; the ledger lets one succeed.
                    let closed = ledger.close_run(&job_id, RunEnd::Completed).await.unwrap();
                    (settled.open, closed)
                })
            })
            .collect();
        let mut outcomes = Vec::new();
        for settle in settles {
            outcomes.push(settle.await.unwrap());
        }
        let mut opens: Vec<u64> = outcomes.iter().map(|(open, _)| *open).collect();
        opens.sort_unstable();
        assert_eq!(opens, (0..12).collect::<Vec<_>>(), "each settle saw a different open count");
        assert_eq!(outcomes.iter().filter(|(_, closed)| *closed).count(), 1, "one close_run closed it");
        assert!(!stores[1].open_runs().await.unwrap().contains(&job_id));
    }
}

#[tokio::test]
async fn lost_urls_are_found_once_by_concurrent_reconcilers() {
    let Some(stores) = cluster("ledger_stale", 2).await else { return };
    open(&stores[0], "live", 100).await;
    open(&stores[0], "closed", 100).await;
    stores[0].admit("live", &(0..30).map(|n| offer(n, 1)).collect::<Vec<_>>()).await.unwrap();
    stores[0].admit("closed", &(0..5).map(|n| offer(n, 1)).collect::<Vec<_>>()).await.unwrap();
    assert!(stores[0].stale_urls(Duration::from_secs(60), 100).await.unwrap().is_empty(), "nothing is old yet");
    for n in 0..10 {
        stores[0].claim_url("live", &url(n), "dead", Duration::from_millis(50)).await.unwrap();
    }
    // One claim is alive and must stay with its worker.
    assert_eq!(claim(&stores[0], "live", &url(29), "alive").await, UrlClaim::Claimed { depth: 1 });
    assert!(stores[0].close_run("closed", RunEnd::Cancelled).await.unwrap());
    tokio::time::sleep(Duration::from_millis(400)).await;

    let barrier = Arc::new(Barrier::new(2));
    let scans: Vec<_> = (0..2)
        .map(|i| {
            let (ledger, barrier) = (Arc::clone(&stores[i]), Arc::clone(&barrier));
            tokio::spawn(async move {
                barrier.wait().await;
                let mut found = Vec::new();
                // Small pages, so the two reconcilers really interleave.
                loop {
                    let page = ledger.stale_urls(Duration::from_millis(300), 4).await.unwrap();
                    if page.is_empty() {
                        return found;
                    }
                    found.extend(page);
                }
            })
        })
        .collect();
    let mut found: Vec<(String, QueuedUrl)> = Vec::new();
    for scan in scans {
        found.extend(scan.await.unwrap());
    }
    assert!(found.iter().all(|(job_id, _)| job_id == "live"), "closed runs are ignored");
    let mut urls: Vec<&str> = found.iter().map(|(_, q)| q.url.as_str()).collect();
    urls.sort_unstable();
    let mut expected: Vec<String> = (0..29).map(url).collect();
    expected.sort_unstable();
    assert_eq!(urls, expected, "each lost URL found once, the live claim left alone");
    let tally = stores[0].tally("live", 0).await.unwrap();
    assert_eq!((tally.queued, tally.claimed), (29, 1), "expired claims are queued again: {tally:?}");
    // The republished rows are fresh, and the requeued claim can be taken by a live worker.
    assert!(stores[1].stale_urls(Duration::from_millis(300), 100).await.unwrap().is_empty());
    assert_eq!(claim(&stores[1], "live", &url(0), "new").await, UrlClaim::Claimed { depth: 1 });
}

#[tokio::test]
async fn the_tally_sums_counts_and_lists_oldest_first() {
    let Some(stores) = cluster("ledger_tally", 1).await else { return };
    let ledger = &stores[0];
    open(ledger, "crawl", 6).await;
    let mut offers: Vec<OfferedUrl> = (0..7).map(|n| offer(n, 1)).collect();
    offers.insert(2, skipped(10, "robots.txt"));
    ledger.admit("crawl", &offers).await.unwrap();
    let counts = PageCounts {
        unchanged: false,
        chunks: 3,
        code_examples: 1,
        entities: 4,
        relations: 2,
        words: 300,
        graph_millis: 25,
    };
    let outcomes = [
        UrlOutcome::Stored(counts),
        UrlOutcome::Failed("connection reset".into()),
        UrlOutcome::Stored(PageCounts { unchanged: true, ..PageCounts::default() }),
        UrlOutcome::Gone { error: "HTTP 404".into(), pruned: 5 },
        UrlOutcome::Skipped("empty page".into()),
        UrlOutcome::Stored(counts),
    ];
    // Settled in reverse order: lists follow admission order, not settle order.
    for (n, outcome) in outcomes.iter().enumerate().rev() {
        assert!(matches!(claim(ledger, "crawl", &url(n), "w").await, UrlClaim::Claimed { .. }));
        assert!(ledger.settle_url("crawl", &url(n), "w", outcome, &[]).await.unwrap().applied);
    }
    let tally = ledger.tally("crawl", 10).await.unwrap();
    assert_eq!(
        (tally.queued, tally.claimed, tally.stored, tally.unchanged, tally.failed, tally.gone, tally.skipped),
        (0, 0, 2, 1, 1, 1, 2),
        "{tally:?}"
    );
    assert_eq!(tally.over_budget, 1, "page-6 was over the budget of 6");
    assert_eq!(
        (tally.chunks, tally.code_examples, tally.entities, tally.relations, tally.words, tally.graph_millis),
        (6, 2, 8, 4, 600, 50)
    );
    assert_eq!(tally.pruned, 5);
    assert_eq!(tally.urls, vec![url(0), url(2), url(5)]);
    assert_eq!(tally.failures, vec![(url(1), "connection reset".into()), (url(3), "HTTP 404".into())]);
    assert_eq!(tally.skips, vec![(url(10), "robots.txt".into()), (url(4), "empty page".into())]);

    let short = ledger.tally("crawl", 1).await.unwrap();
    assert_eq!((short.urls, short.failures.len(), short.skips.len()), (vec![url(0)], 1, 1));
    assert_eq!(short.stored, 2, "totals are not limited by the listing");
    assert_eq!(ledger.tally("unknown", 10).await.unwrap(), crawlrag::ports::LedgerTally::default());
}

#[tokio::test]
async fn runs_close_once_and_robots_first_writer_wins() {
    let Some(stores) = cluster("ledger_runs", 2).await else { return };
    for job_id in ["a", "b", "seeding"] {
        open(&stores[0], job_id, 10).await;
    }
    for job_id in ["a", "b"] {
        stores[0].admit(job_id, &[offer(0, 0)]).await.unwrap();
    }
    // A run with no URL yet is still being seeded by its starter: not the reconcilers' to judge.
    assert_eq!(stores[1].open_runs().await.unwrap(), vec!["a".to_owned(), "b".to_owned()]);
    assert!(stores[1].close_run("a", RunEnd::Failed).await.unwrap());
    assert!(!stores[0].close_run("a", RunEnd::Completed).await.unwrap(), "closed already");
    assert!(!stores[0].close_run("nope", RunEnd::Completed).await.unwrap());
    assert_eq!(stores[0].open_runs().await.unwrap(), vec!["b".to_owned()]);

    let origin = "http://127.0.0.1:9";
    assert_eq!(stores[0].robots("b", origin).await.unwrap(), None);
    let barrier = Arc::new(Barrier::new(2));
    let writers: Vec<_> = (0..2)
        .map(|i| {
            let (ledger, barrier) = (Arc::clone(&stores[i]), Arc::clone(&barrier));
            tokio::spawn(async move {
                barrier.wait().await;
                ledger.keep_robots("b", origin, &format!("User-agent: *\nDisallow: /from-{i}\n")).await.unwrap()
            })
        })
        .collect();
    let mut kept = Vec::new();
    for writer in writers {
        kept.push(writer.await.unwrap());
    }
    assert_eq!(kept[0], kept[1], "both workers follow the same rules");
    assert_eq!(stores[1].robots("b", origin).await.unwrap().as_deref(), Some(kept[0].as_str()));
    assert_eq!(stores[1].keep_robots("b", origin, "later").await.unwrap(), kept[0]);
    assert_eq!(stores[1].robots("a", origin).await.unwrap(), None, "per crawl");
}

/// Not an assertion on speed: prints settles per second for a crawl shaped like a real one
/// (2,000 pages, 50 links each, most of them already known) worked by 4 workers.
#[tokio::test]
async fn a_two_thousand_page_crawl_settles_quickly() {
    const PAGES: usize = 2_000;
    const LINKS: usize = 50;
    const SPACE: usize = 6_000;
    let Some(stores) = cluster("ledger_perf", 2).await else { return };
    open(&stores[0], "big", PAGES as u64).await;
    let start = stores[0].admit("big", &[offer(0, 0)]).await.unwrap();
    let queue = Arc::new(Mutex::new(start.queued.into_iter().collect::<VecDeque<_>>()));
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let began = Instant::now();
    let workers: Vec<_> = (0..4)
        .map(|w| {
            let (ledger, queue, done) = (Arc::clone(&stores[w % 2]), Arc::clone(&queue), Arc::clone(&done));
            tokio::spawn(async move {
                let (worker, mut settles, mut settle_time, mut zeros) = (format!("w{w}"), 0u32, Duration::ZERO, 0);
                while !done.load(std::sync::atomic::Ordering::SeqCst) {
                    let next = queue.lock().unwrap().pop_front();
                    let Some(page) = next else {
                        tokio::time::sleep(Duration::from_millis(1)).await;
                        continue;
                    };
                    let UrlClaim::Claimed { depth } = claim(&ledger, "big", &page.url, &worker).await else {
                        panic!("{} not claimable", page.url)
                    };
                    let n: usize = page.url.rsplit('-').next().unwrap().parse().unwrap();
                    let links: Vec<OfferedUrl> =
                        (1..=LINKS).map(|k| offer((n * 7 + k * 13) % SPACE, depth + 1)).collect();
                    let timer = Instant::now();
                    let settled = ledger.settle_url("big", &page.url, &worker, &stored(1), &links).await.unwrap();
                    settle_time += timer.elapsed();
                    settles += 1;
                    queue.lock().unwrap().extend(settled.admitted.queued);
                    if settled.open == 0 {
                        zeros += 1;
                        done.store(true, std::sync::atomic::Ordering::SeqCst);
                    }
                }
                (settles, settle_time, zeros)
            })
        })
        .collect();
    let (mut settles, mut settle_time, mut zeros) = (0, Duration::ZERO, 0);
    for worker in workers {
        let (s, t, z) = worker.await.unwrap();
        settles += s;
        settle_time += t;
        zeros += z;
    }
    let wall = began.elapsed();
    assert_eq!(settles as usize, PAGES, "every admitted page settled once");
    assert_eq!(zeros, 1, "one settle saw the crawl complete");
    let tally = stores[0].tally("big", 0).await.unwrap();
    assert_eq!((tally.stored, tally.queued, tally.claimed), (PAGES as u64, 0, 0));
    eprintln!(
        "ledger: {PAGES} settles with {LINKS} links each by 4 workers in {wall:?}: {:.0} settles/s, {:.2} ms per settle; \
         over_budget {}",
        f64::from(settles) / wall.as_secs_f64(),
        settle_time.as_secs_f64() * 1000.0 / f64::from(settles),
        tally.over_budget
    );
}

both_stores!(a_running_job_is_handed_over_between_workers);
async fn a_running_job_is_handed_over_between_workers(backend: Backend) {
    let Some(services) = common::services() else { return };
    let (store, _) = common::open_store(&services, backend, &common::unique_schema("hand_over")).await;
    let lease = |worker| Lease { worker, duration: LEASE };
    let spec = serde_json::json!({"url": "http://127.0.0.1:9/"});
    let job = NewJob {
        job_id: "j1",
        tool: "smart_crawl_url",
        target: "t",
        spec: &spec,
        claim: Some(lease("w1")),
        owner: None,
    };
    store.enqueue(job).await.unwrap();
    store.enqueue(NewJob { job_id: "queued", claim: None, ..job }).await.unwrap();

    assert!(!store.hand_over("j1", "w2", lease("cluster")).await.unwrap(), "not w2's job");
    assert!(!store.hand_over("queued", "w1", lease("cluster")).await.unwrap(), "not running");
    assert!(store.hand_over("j1", "w1", lease("cluster")).await.unwrap());
    let progress = JobProgress::default();
    assert!(store.heartbeat("j1", lease("w1"), &progress).await.unwrap().lease_lost, "w1 gave it away");
    assert!(!store.heartbeat("j1", lease("cluster"), &progress).await.unwrap().lease_lost);
    assert_eq!(store.get("j1").await.unwrap().unwrap().state, JobState::Running);

    // A short lease after the hand-over expires like any other.
    assert!(
        store.hand_over("j1", "cluster", Lease { worker: "w3", duration: Duration::from_millis(50) }).await.unwrap()
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let reclaimed = store.reclaim_expired().await.unwrap();
    assert_eq!(reclaimed.iter().map(|j| j.job_id.as_str()).collect::<Vec<_>>(), vec!["j1"]);
    assert!(!store.hand_over("j1", "w3", lease("w4")).await.unwrap(), "an ended job stays ended");
    let end = JobEnd { state: JobState::Succeeded, progress: &progress, error: None, result: None };
    assert!(!store.finish("j1", end).await.unwrap());
}

#[tokio::test]
async fn closed_crawls_past_retention_are_forgotten_with_their_urls_and_robots() {
    let Some(stores) = cluster("ledger_prune", 2).await else { return };
    let origin = "http://127.0.0.1:9";
    for job_id in ["old-1", "old-2", "recent", "open"] {
        open(&stores[0], job_id, 10).await;
        stores[0].admit(job_id, &[offer(0, 0), offer(1, 1)]).await.unwrap();
        stores[0].keep_robots(job_id, origin, "User-agent: *\n").await.unwrap();
        assert_eq!(claim(&stores[0], job_id, &url(0), "w").await, UrlClaim::Claimed { depth: 0 });
        stores[0].settle_url(job_id, &url(0), "w", &stored(2), &[]).await.unwrap();
    }
    for job_id in ["old-1", "old-2"] {
        assert!(stores[0].close_run(job_id, RunEnd::Completed).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(stores[0].close_run("recent", RunEnd::Cancelled).await.unwrap());
    let keep = Duration::from_millis(300);

    // Two reconcilers at once, one crawl each at most: each old crawl is forgotten once.
    let (a, b) = tokio::join!(stores[0].prune_closed(keep, 1), stores[1].prune_closed(keep, 1));
    assert_eq!(a.unwrap() + b.unwrap(), 2, "both old crawls, one per call");
    assert_eq!(stores[0].prune_closed(keep, 10).await.unwrap(), 0, "the recent and the open crawl stay");
    for job_id in ["old-1", "old-2"] {
        assert_eq!(stores[1].tally(job_id, 10).await.unwrap(), crawlrag::ports::LedgerTally::default());
        assert_eq!(stores[1].robots(job_id, origin).await.unwrap(), None);
        // A late delivery of a forgotten crawl's page finds nothing to claim.
        assert_eq!(claim(&stores[1], job_id, &url(1), "late").await, UrlClaim::NotClaimable);
    }
    for job_id in ["recent", "open"] {
        let tally = stores[1].tally(job_id, 10).await.unwrap();
        assert_eq!((tally.stored, tally.queued, tally.chunks), (1, 1, 2), "{job_id}: {tally:?}");
        assert!(stores[1].robots(job_id, origin).await.unwrap().is_some());
    }
    assert_eq!(stores[1].open_runs().await.unwrap(), vec!["open".to_owned()]);
}

#[tokio::test]
async fn query_variant_traps_are_counted_per_crawl_across_workers() {
    let Some(stores) = cluster("ledger_traps", 2).await else { return };
    let variant = |n: usize| OfferedUrl { url: format!("http://127.0.0.1:9/cal?d={n}"), depth: 1, skip: None };
    open(&stores[0], "crawl", 100).await;
    // Worker 0: 20 variants, five of them linked twice, and one variant robots.txt refuses (not
    // counted: it is not followed).
    let mut first: Vec<OfferedUrl> = (0..20).map(variant).chain((0..5).map(variant)).collect();
    first.push(OfferedUrl { skip: Some("robots.txt".into()), ..variant(99) });
    first.push(offer(0, 1));
    let admitted = stores[0].admit("crawl", &first).await.unwrap();
    assert_eq!(admitted.queued.len(), 21, "20 variants and the plain page");
    // Worker 1: variants 15..35 (15..19 already known): 5 more fit in the limit of 25, the other
    // 10 are refused as a trap; another path keeps its own count.
    let mut second: Vec<OfferedUrl> = (15..35).map(variant).collect();
    second.push(OfferedUrl { url: "http://127.0.0.1:9/list?page=2".into(), depth: 1, skip: None });
    let admitted = stores[1].admit("crawl", &second).await.unwrap();
    let queued: Vec<String> = admitted.queued.iter().map(|q| q.url.clone()).collect();
    let expected: Vec<String> =
        (20..25).map(|n| variant(n).url).chain(std::iter::once("http://127.0.0.1:9/list?page=2".to_owned())).collect();
    assert_eq!(queued, expected);
    // Offered again, a refused variant stays refused and a new one is refused too.
    let again = stores[0].admit("crawl", &[variant(30), variant(40)]).await.unwrap();
    assert!(again.queued.is_empty(), "{again:?}");
    let tally = stores[1].tally("crawl", 100).await.unwrap();
    assert_eq!((tally.queued, tally.skipped), (27, 12), "{tally:?}");
    let traps: Vec<&(String, String)> = tally.skips.iter().filter(|(_, reason)| reason.contains("trap")).collect();
    assert_eq!(traps.len(), 11, "{:?}", tally.skips);
    assert!(traps.iter().all(|(_, reason)| reason == "crawler trap: more than 25 query variants of /cal"), "{traps:?}");
}
