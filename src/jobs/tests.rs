//! The jobs service on the in-memory queue under paused time: submit and foreground answers,
//! the worker loop, heartbeats keeping a claim alive, expired claims, cancels across replicas.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use tokio_util::sync::CancellationToken;

use super::*;
use crate::adapters::memory::MemoryStore;
use crate::crawl::Render;
use crate::crawl::multi::{MultiReport, UrlSpec};
use crate::progress::NoProgress;

/// Does `steps` steps of `step` each, reporting one page per step; records how many run at once.
#[derive(Debug, Default)]
struct StepRunner {
    steps: u64,
    step: Duration,
    running: AtomicUsize,
    most_at_once: AtomicUsize,
    runs: AtomicUsize,
}

impl StepRunner {
    fn new(steps: u64, step: Duration) -> Arc<Self> {
        Arc::new(Self { steps, step, ..Self::default() })
    }
}

#[async_trait]
impl JobRunner for StepRunner {
    fn check(&self, _spec: &JobSpec) -> Result<()> {
        Ok(())
    }

    async fn run(&self, _spec: &JobSpec, progress: &dyn ProgressSink) -> Result<JobOutput> {
        self.runs.fetch_add(1, Ordering::SeqCst);
        let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
        self.most_at_once.fetch_max(now, Ordering::SeqCst);
        for done in 1..=self.steps {
            tokio::time::sleep(self.step).await;
            progress.tally(&JobProgress { pages_done: done, ..JobProgress::default() }).await;
        }
        self.running.fetch_sub(1, Ordering::SeqCst);
        let chunks_stored = usize::try_from(self.steps).unwrap_or_default();
        Ok(JobOutput::Multi(MultiReport { results: Vec::new(), urls_succeeded: 1, urls_failed: 0, chunks_stored }))
    }
}

fn spec() -> JobSpec {
    JobSpec::MultiUrl {
        urls: vec![UrlSpec::Plain("https://docs.example/a".into())],
        max_concurrent: 1,
        chunk_size: None,
        render: Render::Http,
    }
}

const CONFIG: JobConfig = JobConfig {
    heartbeat: Duration::from_secs(1),
    foreground_wait: Duration::from_secs(5),
    poll: Duration::from_secs(1),
};

fn jobs(queue: &Arc<MemoryStore>, runner: &Arc<StepRunner>) -> Arc<Jobs> {
    Arc::new(Jobs::new(Arc::clone(queue) as Arc<dyn JobQueue>, Arc::clone(runner) as Arc<dyn JobRunner>, CONFIG))
}

async fn until_finished(jobs: &Jobs, job_id: &str) -> JobRecord {
    for _ in 0..1000 {
        let job = jobs.get(job_id).await.unwrap();
        if job.state.is_finished() {
            return job;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("job {job_id} never finished");
}

#[tokio::test(start_paused = true)]
async fn a_short_job_answers_in_the_foreground_with_its_result_recorded() {
    let (queue, runner) = (Arc::new(MemoryStore::new()), StepRunner::new(3, Duration::from_secs(1)));
    let jobs = jobs(&queue, &runner);
    let answer = jobs.answer(spec(), Wait::Foreground, Arc::new(NoProgress)).await.unwrap();
    let JobAnswer::Done { job_id, output: JobOutput::Multi(report) } = answer else { panic!("{answer:?}") };
    assert_eq!(report.chunks_stored, 3);
    let job = jobs.get(&job_id).await.unwrap();
    assert_eq!(job.state, JobState::Succeeded);
    assert_eq!(job.tool, "crawl_with_multi_url_config");
    assert_eq!(job.result.unwrap()["chunks_stored"], 3, "the stored result is the tool's shape");
    assert_eq!(job.progress.pages_done, 3);
}

#[tokio::test(start_paused = true)]
async fn a_long_job_answers_with_its_id_and_goes_on_with_heartbeats_keeping_its_claim() {
    let (queue, runner) = (Arc::new(MemoryStore::new()), StepRunner::new(20, Duration::from_secs(1)));
    let jobs = jobs(&queue, &runner);
    let answer = jobs.answer(spec(), Wait::Foreground, Arc::new(NoProgress)).await.unwrap();
    let JobAnswer::Running { job_id, progress, message } = answer else { panic!("{answer:?}") };
    assert!(message.contains("get_crawl_job") && message.contains("5s"), "{message}");
    assert!((3..=5).contains(&progress.pages_done), "progress so far: {progress:?}");
    // Far past the 3 s lease: the heartbeats keep extending it.
    tokio::time::sleep(Duration::from_secs(6)).await;
    let job = jobs.get(&job_id).await.unwrap();
    assert_eq!(job.state, JobState::Running, "{job:?}");
    assert!(job.progress.pages_done >= 9, "the heartbeat wrote live progress: {job:?}");
    let job = until_finished(&jobs, &job_id).await;
    assert_eq!((job.state, job.progress.pages_done), (JobState::Succeeded, 20));
}

#[tokio::test(start_paused = true)]
async fn background_answers_at_once() {
    let (queue, runner) = (Arc::new(MemoryStore::new()), StepRunner::new(2, Duration::from_secs(1)));
    let jobs = jobs(&queue, &runner);
    let started = tokio::time::Instant::now();
    let answer = jobs.answer(spec(), Wait::Background, Arc::new(NoProgress)).await.unwrap();
    assert_eq!(started.elapsed(), Duration::ZERO);
    let JobAnswer::Running { job_id, .. } = answer else { panic!("{answer:?}") };
    assert_eq!(until_finished(&jobs, &job_id).await.state, JobState::Succeeded);
}

#[tokio::test(start_paused = true)]
async fn a_claim_whose_heartbeats_stop_expires_and_reads_interrupted() {
    let (queue, runner) = (Arc::new(MemoryStore::new()), StepRunner::new(1, Duration::from_secs(1)));
    let jobs = jobs(&queue, &runner);
    // A process claimed a job, then died: nobody heartbeats it.
    let spec_json = serde_json::to_value(spec()).unwrap();
    let lease = Lease { worker: "dead-process", duration: CONFIG.lease() };
    let job = NewJob {
        job_id: "j1",
        tool: "smart_crawl_url",
        target: "x",
        spec: &spec_json,
        claim: Some(lease),
        owner: None,
    };
    queue.enqueue(job).await.unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(jobs.get("j1").await.unwrap().state, JobState::Running, "within its lease");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let job = jobs.get("j1").await.unwrap();
    assert_eq!(job.state, JobState::Interrupted, "{job:?}");
    assert!(job.error.unwrap().contains("stopped (restart or crash)"));
    assert_eq!(runner.runs.load(Ordering::SeqCst), 0, "an expired job is not re-run behind its client's back");
}

#[tokio::test(start_paused = true)]
async fn the_worker_loop_runs_queued_jobs_within_its_slots() {
    let (queue, runner) = (Arc::new(MemoryStore::new()), StepRunner::new(3, Duration::from_secs(1)));
    let api = jobs(&queue, &runner);
    let worker = jobs(&queue, &runner);
    let mut ids = Vec::new();
    for _ in 0..5 {
        ids.push(api.enqueue(&spec()).await.unwrap());
    }
    assert_eq!(api.get(&ids[0]).await.unwrap().state, JobState::Queued);
    let stop = CancellationToken::new();
    let loop_done = tokio::spawn({
        let (worker, stop) = (Arc::clone(&worker), stop.clone());
        async move { worker.work(2, stop).await }
    });
    for id in &ids {
        assert_eq!(until_finished(&api, id).await.state, JobState::Succeeded);
    }
    assert_eq!(runner.runs.load(Ordering::SeqCst), 5);
    assert_eq!(runner.most_at_once.load(Ordering::SeqCst), 2, "two slots: two at once, never more");
    stop.cancel();
    loop_done.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_job_whose_claim_passed_to_another_holder_stops_here_without_recording_an_end() {
    let (queue, runner) = (Arc::new(MemoryStore::new()), StepRunner::new(30, Duration::from_secs(1)));
    let a = jobs(&queue, &runner);
    let handle = a.submit(spec()).await.unwrap();
    let job_id = handle.job_id.clone();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let holder = Lease { worker: "cluster", duration: Duration::from_secs(60) };
    assert!(queue.hand_over(&job_id, &a.worker_id, holder).await.unwrap());
    let waited = handle.wait(Duration::from_secs(60), Arc::new(NoProgress)).await;
    assert!(matches!(waited, Waited::Finished(Err(Error::Cancelled))), "{waited:?}");
    // The new holder's job: still running, not ended as cancelled by the process that gave it up.
    let job = a.get(&job_id).await.unwrap();
    assert_eq!(job.state, JobState::Running, "{job:?}");
    assert!(!queue.heartbeat(&job_id, holder, &job.progress).await.unwrap().lease_lost);
}

#[tokio::test(start_paused = true)]
async fn a_cancel_sent_to_another_replica_stops_the_job_within_a_heartbeat() {
    let (queue, runner) = (Arc::new(MemoryStore::new()), StepRunner::new(30, Duration::from_secs(1)));
    let (a, b) = (jobs(&queue, &runner), jobs(&queue, &runner));
    let handle = a.submit(spec()).await.unwrap();
    let job_id = handle.job_id.clone();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let seen = b.cancel(&job_id).await.unwrap();
    assert!(seen.cancel_requested, "{seen:?}");
    let asked = tokio::time::Instant::now();
    let waited = handle.wait(Duration::from_secs(60), Arc::new(NoProgress)).await;
    assert!(matches!(waited, Waited::Finished(Err(Error::Cancelled))), "{waited:?}");
    assert!(asked.elapsed() <= CONFIG.heartbeat, "stopped at the next heartbeat: {:?}", asked.elapsed());
    let job = b.get(&job_id).await.unwrap();
    assert_eq!(job.state, JobState::Cancelled);
    assert!((2..30).contains(&job.progress.pages_done), "{job:?}");
    let again = b.cancel(&job_id).await.unwrap_err();
    assert!(again.to_string().contains("already ended: cancelled"), "{again}");
}

#[tokio::test(start_paused = true)]
async fn a_cancelled_queued_job_never_runs_and_shutdown_interrupts_running_ones() {
    let (queue, runner) = (Arc::new(MemoryStore::new()), StepRunner::new(30, Duration::from_secs(1)));
    let jobs = jobs(&queue, &runner);
    let queued = jobs.enqueue(&spec()).await.unwrap();
    let cancelled = jobs.cancel(&queued).await.unwrap();
    assert_eq!(cancelled.state, JobState::Cancelled);
    let stop = CancellationToken::new();
    let worker = tokio::spawn({
        let (jobs, stop) = (Arc::clone(&jobs), stop.clone());
        async move { jobs.work(1, stop).await }
    });
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(runner.runs.load(Ordering::SeqCst), 0, "a cancelled job is never claimed");

    let running = jobs.submit(spec()).await.unwrap().job_id;
    tokio::time::sleep(Duration::from_secs(2)).await;
    jobs.shutdown().await;
    stop.cancel();
    worker.await.unwrap();
    let job = jobs.get(&running).await.unwrap();
    assert_eq!(job.state, JobState::Interrupted, "{job:?}");
    assert!(job.error.unwrap().contains("shut down"));
    assert!(jobs.submit(spec()).await.unwrap_err().to_string().contains("shutting down"));
}

#[tokio::test(start_paused = true)]
async fn an_unreadable_spec_fails_its_job_with_the_reason() {
    let (queue, runner) = (Arc::new(MemoryStore::new()), StepRunner::new(1, Duration::from_secs(1)));
    let jobs = jobs(&queue, &runner);
    let bogus = serde_json::json!({"kind": "a_job_from_a_newer_version"});
    let job = NewJob { job_id: "j2", tool: "future_tool", target: "x", spec: &bogus, claim: None, owner: None };
    queue.enqueue(job).await.unwrap();
    let stop = CancellationToken::new();
    let worker = tokio::spawn({
        let (jobs, stop) = (Arc::clone(&jobs), stop.clone());
        async move { jobs.work(1, stop).await }
    });
    let job = until_finished(&jobs, "j2").await;
    assert_eq!(job.state, JobState::Failed);
    assert!(job.error.unwrap().contains("cannot read the job's spec"));
    assert_eq!(runner.runs.load(Ordering::SeqCst), 0);
    stop.cancel();
    worker.await.unwrap();
}

/// Accepts every webhook and remembers the events, in order.
#[derive(Debug, Default)]
struct RecordingSender(std::sync::Mutex<Vec<String>>);

#[async_trait]
impl crate::ports::WebhookSender for RecordingSender {
    async fn send(
        &self,
        request: crate::ports::WebhookRequest<'_>,
    ) -> std::result::Result<crate::ports::WebhookReply, crate::ports::WebhookError> {
        let payload: serde_json::Value = serde_json::from_slice(request.body).unwrap();
        assert_eq!(payload["event"], request.event);
        self.0.lock().unwrap().push(format!("{} {}", payload["job_id"].as_str().unwrap(), request.event));
        Ok(crate::ports::WebhookReply { status: 200, retry_after: None })
    }
}

#[tokio::test(start_paused = true)]
async fn every_way_a_job_ends_sends_one_webhook() {
    let (queue, runner) = (Arc::new(MemoryStore::new()), StepRunner::new(2, Duration::from_secs(1)));
    let sender = Arc::new(RecordingSender::default());
    let config = WebhookConfig { allow_private_networks: true, ..WebhookConfig::default() };
    let webhooks = Arc::new(Webhooks::new(Arc::clone(&sender) as _, Arc::clone(&queue) as _, config));
    let jobs = Arc::new(
        Jobs::new(Arc::clone(&queue) as Arc<dyn JobQueue>, Arc::clone(&runner) as Arc<dyn JobRunner>, CONFIG)
            .with_webhooks(webhooks),
    );
    let hook = || JobRequest::new(spec(), Some("https://hooks.example/in".into()));

    let refused = jobs.submit(JobRequest::new(spec(), Some("file:///etc/passwd".into()))).await.unwrap_err();
    assert!(refused.to_string().contains("webhook_url"), "{refused}");
    let cancelled = jobs.enqueue(hook()).await.unwrap();
    jobs.cancel(&cancelled).await.unwrap();
    let queued = jobs.enqueue(hook()).await.unwrap();
    let stop = CancellationToken::new();
    let worker = tokio::spawn({
        let (jobs, stop) = (Arc::clone(&jobs), stop.clone());
        async move { jobs.work(1, stop).await }
    });
    assert_eq!(until_finished(&jobs, &queued).await.state, JobState::Succeeded);
    // A claim whose process died: the reader that reclaims it sends its webhook.
    let mut stored = serde_json::to_value(spec()).unwrap();
    stored[spec::WEBHOOK_FIELD] = "https://hooks.example/in".into();
    let lease = Lease { worker: "dead", duration: Duration::from_secs(1) };
    queue
        .enqueue(NewJob { job_id: "dead-1", tool: "x", target: "y", spec: &stored, claim: Some(lease), owner: None })
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(jobs.get("dead-1").await.unwrap().state, JobState::Interrupted);
    let unhooked = jobs.submit(spec()).await.unwrap();
    let _ = unhooked.wait(Duration::from_secs(10), Arc::new(NoProgress)).await;
    stop.cancel();
    worker.await.unwrap();
    jobs.shutdown().await;

    let mut events = sender.0.lock().unwrap().clone();
    events.sort();
    let mut expected =
        vec![format!("{cancelled} job.cancelled"), format!("{queued} job.completed"), "dead-1 job.interrupted".into()];
    expected.sort();
    assert_eq!(events, expected, "one webhook per hooked job, none for the job without one");
    let attempts = jobs.webhook_attempts(&queued).await.unwrap();
    assert_eq!(attempts.iter().map(|a| a.outcome.as_str()).collect::<Vec<_>>(), ["delivered"]);
}

#[tokio::test(start_paused = true)]
async fn an_owner_at_their_cap_is_refused_until_a_job_ends() {
    let (queue, runner) = (Arc::new(MemoryStore::new()), StepRunner::new(3, Duration::from_secs(1)));
    let jobs = jobs(&queue, &runner);
    let owned = |id: &str| JobRequest::from(spec()).owned_by(Some(JobOwner { id: id.into(), max_active: Some(1) }));
    let answer = jobs.answer(owned("key:a"), Wait::Background, Arc::new(NoProgress)).await.unwrap();
    let JobAnswer::Running { job_id, .. } = answer else { panic!("{answer:?}") };
    let refused = jobs.enqueue(owned("key:a")).await.unwrap_err();
    assert!(matches!(refused, Error::Unavailable { .. }), "{refused:?}");
    assert!(refused.to_string().contains("1 job(s) queued or running") && refused.to_string().contains("at most 1"));
    // Another owner, and requests without one (stdio, the CLI), are not affected.
    jobs.submit(owned("key:b")).await.unwrap();
    jobs.submit(spec()).await.unwrap();
    assert_eq!(queue.active_jobs_of("key:a").await.unwrap(), 1);
    until_finished(&jobs, &job_id).await;
    assert_eq!(queue.active_jobs_of("key:a").await.unwrap(), 0);
    jobs.submit(owned("key:a")).await.unwrap();
}
