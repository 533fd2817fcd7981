//! The worker loop: claim queued jobs and run them, at most `slots` at a time, until told to
//! stop. `crawlrag serve` runs one beside the server (jobs queued by any process get done);
//! `crawlrag worker` runs only this.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

use super::{JobSink, JobSpec, Jobs};
use crate::domain::{JobProgress, JobState};
use crate::ports::{ClaimedJob, EndedJob, JobEnd, Lane};

impl Jobs {
    /// Claim and run queued jobs until `stop` is cancelled; jobs already started go on (a
    /// shutdown stops them through [`Jobs::shutdown`]).
    pub async fn work(self: &Arc<Self>, slots: usize, stop: CancellationToken) {
        let slots = Arc::new(Semaphore::new(slots.max(1)));
        info!(worker = %self.worker_id, slots = slots.available_permits(), "worker loop started");
        loop {
            let permit = tokio::select! {
                permit = Arc::clone(&slots).acquire_owned() => match permit {
                    Ok(permit) => permit,
                    Err(_) => break,
                },
                () = stop.cancelled() => break,
            };
            if self.shutting_down.load(Ordering::SeqCst) {
                break;
            }
            match self.queue.claim(self.lease()).await {
                Ok(Some(claimed)) => self.start_claimed(claimed, permit).await,
                Ok(None) => {
                    drop(permit);
                    tokio::select! {
                        () = self.queued.notified() => {}
                        () = self.wait_for_announcement() => {}
                        () = stop.cancelled() => break,
                    }
                }
                Err(e) => {
                    drop(permit);
                    warn!(error = %e, "could not claim a job; trying again");
                    tokio::select! {
                        () = tokio::time::sleep(self.config.poll) => {}
                        () = stop.cancelled() => break,
                    }
                }
            }
        }
        info!("worker loop stopped");
    }

    /// Wait up to one poll interval for a job announced on the queue engine (at once, whichever
    /// process queued it); without one, just the interval. An announcement is acknowledged as
    /// soon as it is read: the table, not the announcement, says which job to claim, and a
    /// lost announcement only delays a job until the next poll.
    async fn wait_for_announcement(&self) {
        let Some(broker) = &self.broker else {
            tokio::time::sleep(self.config.poll).await;
            return;
        };
        match broker.receive(Lane::Jobs, &self.worker_id, 1, self.config.poll).await {
            Ok(announced) => {
                for entry in announced {
                    if let Err(e) = broker.ack(Lane::Jobs, &entry.id).await {
                        warn!(error = %e, "could not acknowledge a job announcement");
                    }
                }
            }
            Err(e) => {
                warn!(error = %e, "could not read job announcements; polling the table");
                tokio::time::sleep(self.config.poll).await;
            }
        }
    }

    async fn start_claimed(self: &Arc<Self>, claimed: ClaimedJob, permit: tokio::sync::OwnedSemaphorePermit) {
        let ClaimedJob { job_id, tool, spec } = claimed;
        let webhook = spec.get(super::spec::WEBHOOK_FIELD).and_then(|url| url.as_str()).map(str::to_owned);
        let hook_only = webhook.as_ref().map(|url| serde_json::json!({ super::spec::WEBHOOK_FIELD: url }));
        match serde_json::from_value::<JobSpec>(spec) {
            Ok(spec) => {
                let token = CancellationToken::new();
                // Nobody waits on this outcome: the job's result is in the queue.
                drop(self.spawn_run(job_id, spec, webhook, Arc::new(JobSink::default()), token, Some(permit)));
            }
            Err(e) => {
                error!(%job_id, %tool, error = %e, "a claimed job's spec cannot be read");
                let message = format!("this server version cannot read the job's spec: {e}");
                let end = JobEnd {
                    state: JobState::Failed,
                    progress: &JobProgress::default(),
                    error: Some(&message),
                    result: None,
                };
                match self.queue.finish(&job_id, end).await {
                    Ok(true) => {
                        if let Some(spec) = hook_only {
                            let job = EndedJob { job_id, tool, target: String::new(), spec };
                            self.send_ended_webhook(job, JobState::Failed, &message);
                        }
                    }
                    Ok(false) => {}
                    Err(e) => warn!(error = %e, "could not record the unreadable job as failed"),
                }
            }
        }
    }
}
