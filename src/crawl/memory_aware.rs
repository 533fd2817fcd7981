//! `crawl_with_memory_monitoring`: a site crawl whose concurrency follows the process's resident
//! memory. A sampler reads RSS every [`SAMPLE_EVERY`]; above the threshold it halves the crawl's
//! live concurrency limit (down to 1), below 80% of it the limit climbs back one step at a time.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tracing::{info, instrument};

use super::Crawler;
use super::site::{CrawlReport, CrawlRequest};
use crate::error::Result;
use crate::process_memory::rss_mb;
use crate::progress::ProgressSink;

pub const DEFAULT_MEMORY_THRESHOLD_MB: f64 = 500.0;
const SAMPLE_EVERY: Duration = Duration::from_millis(200);

/// What the sampler saw over the crawl, in MB (the anchor's fields plus how concurrency moved).
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct MemoryStats {
    pub start_mb: f64,
    pub end_mb: f64,
    pub peak_mb: f64,
    pub delta_mb: f64,
    pub avg_mb: f64,
    pub threshold_mb: f64,
    pub elapsed_seconds: f64,
    pub samples: usize,
    /// The lowest concurrency the crawl was throttled to (max_concurrent when never throttled).
    pub min_concurrency: usize,
    /// How many times the sampler changed the concurrency limit.
    pub concurrency_changes: usize,
}

/// A memory-aware crawl's outcome: the crawl's report and what the sampler saw.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MemoryCrawlReport {
    #[serde(flatten)]
    pub crawl: CrawlReport,
    pub memory_stats: MemoryStats,
}

/// The concurrency the sampler chooses next.
fn next_limit(current: usize, max: usize, rss: f64, threshold: f64) -> usize {
    if rss > threshold {
        (current / 2).max(1)
    } else if rss < threshold * 0.8 {
        (current + 1).min(max)
    } else {
        current
    }
}

struct Sampler {
    started: Instant,
    start_mb: f64,
    peak_mb: f64,
    sum_mb: f64,
    samples: usize,
    min_concurrency: usize,
    changes: usize,
}

impl Crawler {
    /// Crawl like [`Crawler::smart_crawl`], adapting concurrency to memory use.
    ///
    /// # Errors
    /// As [`Crawler::smart_crawl`]; `BadInput` for a threshold that is not a positive number.
    #[instrument(skip(self, request, progress), fields(url = %request.url))]
    pub async fn crawl_with_memory_monitoring(
        &self,
        request: &CrawlRequest,
        threshold_mb: f64,
        progress: &dyn ProgressSink,
    ) -> Result<MemoryCrawlReport> {
        if !threshold_mb.is_finite() || threshold_mb <= 0.0 {
            return Err(crate::error::Error::bad_input(format!(
                "memory_threshold_mb must be a positive number of megabytes, got {threshold_mb}"
            )));
        }
        let max = request.max_concurrent;
        let limit = AtomicUsize::new(max);
        let start_mb = rss_mb().unwrap_or_default();
        let mut sampler = Sampler {
            started: Instant::now(),
            start_mb,
            peak_mb: start_mb,
            sum_mb: 0.0,
            samples: 0,
            min_concurrency: max,
            changes: 0,
        };
        let sample = |s: &mut Sampler| {
            let rss = rss_mb().unwrap_or_default();
            s.peak_mb = s.peak_mb.max(rss);
            s.sum_mb += rss;
            s.samples += 1;
            let current = limit.load(Ordering::Relaxed);
            let next = next_limit(current, max, rss, threshold_mb);
            if next != current {
                limit.store(next, Ordering::Relaxed);
                s.changes += 1;
                s.min_concurrency = s.min_concurrency.min(next);
                info!(rss_mb = rss, concurrency = next, "memory monitor changed concurrency");
            }
        };
        sample(&mut sampler);
        let crawl = self.smart_crawl_limited(request, Some(&limit), progress);
        tokio::pin!(crawl);
        let report = loop {
            tokio::select! {
                report = &mut crawl => break report?,
                () = tokio::time::sleep(SAMPLE_EVERY) => sample(&mut sampler),
            }
        };
        let end_mb = rss_mb().unwrap_or_default();
        #[expect(clippy::cast_precision_loss, reason = "sample counts are small")]
        let avg_mb = if sampler.samples == 0 { end_mb } else { sampler.sum_mb / sampler.samples as f64 };
        let round = |mb: f64| (mb * 10.0).round() / 10.0;
        Ok(MemoryCrawlReport {
            crawl: report,
            memory_stats: MemoryStats {
                start_mb: round(sampler.start_mb),
                end_mb: round(end_mb),
                peak_mb: round(sampler.peak_mb.max(end_mb)),
                delta_mb: round(end_mb - sampler.start_mb),
                avg_mb: round(avg_mb),
                threshold_mb,
                elapsed_seconds: (sampler.started.elapsed().as_secs_f64() * 100.0).round() / 100.0,
                samples: sampler.samples,
                min_concurrency: sampler.min_concurrency,
                concurrency_changes: sampler.changes,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concurrency_halves_above_the_threshold_and_climbs_back_below() {
        assert_eq!(next_limit(10, 10, 600.0, 500.0), 5);
        assert_eq!(next_limit(1, 10, 600.0, 500.0), 1);
        assert_eq!(next_limit(5, 10, 450.0, 500.0), 5, "between 80% and 100%: hold");
        assert_eq!(next_limit(5, 10, 100.0, 500.0), 6);
        assert_eq!(next_limit(10, 10, 100.0, 500.0), 10);
        assert!(rss_mb().is_some_and(|mb| mb > 1.0), "this process has resident memory");
    }
}
