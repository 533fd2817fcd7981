//! `parse_github_repositories_batch`: many repositories, `max_concurrent` at a time, each retried
//! on transient failures (unreachable, timeouts, a graph store that is down) with exponential
//! backoff and jitter. A retry waits outside any concurrency slot of another repository (the
//! anchor's recursive retry inside its semaphore could deadlock); bad input is never retried.

use std::time::{Duration, Instant};

use futures::StreamExt;
use serde::{Deserialize, Serialize};
use tracing::{info, instrument};

use super::{CodeGraph, ParseReport, ParseRequest};
use crate::domain::code_graph::repository_key;
use crate::error::{Error, Result};
use crate::progress::{NoProgress, ProgressSink};

/// Most repositories one batch takes.
pub const MAX_BATCH: usize = 100;
/// The longest single backoff.
const MAX_DELAY: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchRequest {
    pub urls: Vec<String>,
    pub max_concurrent: usize,
    pub max_retries: u32,
}

/// One repository's outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchItem {
    pub url: String,
    /// The repository's name.
    pub repository: String,
    /// Attempts made (1 = no retry).
    pub attempts: u32,
    pub report: Option<ParseReport>,
    pub error: Option<String>,
    /// Failed after every retry allowed (or with an error not worth retrying).
    pub retries_exhausted: bool,
    /// The waits before each retry, in milliseconds (they grow).
    pub retry_delays_ms: Vec<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchReport {
    /// In the order given.
    pub items: Vec<BatchItem>,
    /// URLs refused before any work, with why.
    pub validation_errors: Vec<(String, String)>,
    pub elapsed_millis: u64,
}

impl BatchReport {
    pub fn failed(&self) -> impl Iterator<Item = &BatchItem> {
        self.items.iter().filter(|i| i.report.is_none())
    }
}

impl BatchRequest {
    /// # Errors
    /// `BadInput` for an empty or oversized list or a zero concurrency.
    pub fn check(&self) -> Result<()> {
        if self.urls.is_empty() {
            return Err(Error::bad_input("repo_urls_json must list at least one repository URL"));
        }
        if self.urls.len() > MAX_BATCH {
            return Err(Error::bad_input(format!(
                "at most {MAX_BATCH} repositories per batch, got {}",
                self.urls.len()
            )));
        }
        if self.max_concurrent == 0 || self.max_concurrent > 16 {
            return Err(Error::bad_input("max_concurrent must be between 1 and 16"));
        }
        if self.max_retries > 10 {
            return Err(Error::bad_input("max_retries must be between 0 and 10"));
        }
        Ok(())
    }
}

impl CodeGraph {
    /// Parse every repository of `request`, retrying transient failures.
    ///
    /// # Errors
    /// `BadInput` for a malformed request; single repositories' failures are items, not errors.
    #[instrument(skip_all, fields(repositories = request.urls.len()))]
    pub async fn parse_batch(&self, request: &BatchRequest, progress: &dyn ProgressSink) -> Result<BatchReport> {
        request.check()?;
        let started = Instant::now();
        let mut validation_errors = Vec::new();
        let mut valid = Vec::new();
        for url in &request.urls {
            match repository_key(url.trim()) {
                Some((_, name)) if !url.trim().is_empty() => valid.push((url.trim().to_owned(), name)),
                _ => validation_errors.push((url.clone(), "not a repository URL or path".to_owned())),
            }
        }
        let total = valid.len() as u64;
        let mut done = 0;
        let mut items: Vec<(usize, BatchItem)> = Vec::with_capacity(valid.len());
        let runs = valid
            .into_iter()
            .enumerate()
            .map(|(i, (url, name))| async move { (i, self.parse_with_retries(url, name, request.max_retries).await) });
        let mut runs = futures::stream::iter(runs).buffer_unordered(request.max_concurrent);
        while let Some((i, item)) = runs.next().await {
            done += 1;
            let state = if item.report.is_some() { "parsed" } else { "failed" };
            progress.report(done, Some(total), &format!("{state} {}", item.url)).await;
            items.push((i, item));
        }
        items.sort_by_key(|(i, _)| *i);
        let report = BatchReport {
            items: items.into_iter().map(|(_, item)| item).collect(),
            validation_errors,
            elapsed_millis: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        };
        info!(failed = report.failed().count(), "batch parsed");
        Ok(report)
    }

    async fn parse_with_retries(&self, url: String, repository: String, max_retries: u32) -> BatchItem {
        let request = ParseRequest { url: url.clone(), reference: None };
        let mut delays = Vec::new();
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.parse_repository(&request, &NoProgress).await {
                Ok(report) => {
                    return BatchItem {
                        url,
                        repository,
                        attempts: attempt,
                        report: Some(report),
                        error: None,
                        retries_exhausted: false,
                        retry_delays_ms: delays,
                    };
                }
                Err(e) if is_transient(&e) && attempt <= max_retries => {
                    let delay = backoff(self.retry_base(), attempt);
                    info!(%url, attempt, delay_ms = delay.as_millis(), error = %e, "repository parse failed; retrying");
                    delays.push(u64::try_from(delay.as_millis()).unwrap_or(u64::MAX));
                    tokio::time::sleep(delay).await;
                }
                Err(e) => {
                    return BatchItem {
                        url,
                        repository,
                        attempts: attempt,
                        report: None,
                        error: Some(e.to_string()),
                        retries_exhausted: true,
                        retry_delays_ms: delays,
                    };
                }
            }
        }
    }
}

/// Failures worth another try.
fn is_transient(e: &Error) -> bool {
    match e {
        Error::Unavailable { .. } | Error::Timeout(_) => true,
        Error::BadInput(_) | Error::NotFound(_) | Error::Cancelled | Error::Internal(_) => false,
    }
}

/// `base * 2^(attempt-1)`, plus up to a quarter more at random (so retries of many repositories
/// do not arrive together), capped at [`MAX_DELAY`].
fn backoff(base: Duration, attempt: u32) -> Duration {
    let jitter = f64::from(uuid::Uuid::new_v4().as_bytes()[0]) / 255.0;
    crate::domain::backoff::exponential(base, attempt, jitter).min(MAX_DELAY)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_with_jitter_and_a_cap() {
        let base = Duration::from_millis(100);
        for attempt in 1..=4 {
            let d = backoff(base, attempt);
            let floor = base * (1 << (attempt - 1));
            assert!(d >= floor && d <= floor.mul_f64(1.25), "attempt {attempt}: {d:?}");
        }
        assert_eq!(backoff(Duration::from_secs(30), 8), MAX_DELAY);
    }

    #[test]
    fn requests_are_checked() {
        let ok = BatchRequest { urls: vec!["https://github.com/a/b".into()], max_concurrent: 3, max_retries: 2 };
        assert!(ok.check().is_ok());
        assert!(BatchRequest { urls: vec![], ..ok.clone() }.check().is_err());
        assert!(BatchRequest { max_concurrent: 0, ..ok.clone() }.check().is_err());
        assert!(BatchRequest { max_retries: 11, ..ok }.check().is_err());
    }
}
