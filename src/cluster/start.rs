//! Starting a distributed crawl: open its run in the ledger, admit the seed URLs (the start page,
//! or every page a sitemap lists), publish them, and hand the job to the cluster.

use tracing::{info, instrument};

use super::Cluster;
use crate::crawl::site::CrawlType;
use crate::crawl::site::{CrawlReport, CrawlRequest, RobotsBook, Screened, classify_target, validate};
use crate::crawl::url::normalize;
use crate::domain::target;
use crate::error::{Error, Result};
use crate::ports::{Lease, NewRun, OfferedUrl};

impl Cluster {
    /// Seed the crawl of job `job_id` (claimed by `claimed_by`) and hand the job's claim to the
    /// cluster. Idempotent: a worker that takes over a half-started job admits nothing twice.
    ///
    /// # Errors
    /// `BadInput` for an invalid request or an unreadable start sitemap; `Unavailable` when the
    /// database or the queue engine fails.
    #[instrument(skip(self, request), fields(url = %request.url))]
    pub async fn start_crawl(&self, job_id: &str, claimed_by: &str, request: &CrawlRequest) -> Result<()> {
        let start = target::parse_target(&request.url).map_err(Error::BadInput)?;
        validate(request)?;
        let crawl_type = classify_target(&start);
        let max_pages = u64::try_from(request.max_pages).unwrap_or(u64::MAX);
        self.ledger.open_run(NewRun { job_id, max_pages }).await?;
        let offers = match crawl_type {
            CrawlType::Sitemap => {
                let mut scratch = CrawlReport::new(start.to_string(), crawl_type);
                let listed = self.crawler.sitemap_urls(&start, request.max_pages, &mut scratch).await?;
                let context =
                    self.context(job_id).await?.ok_or_else(|| Error::Internal("the job's spec vanished".into()))?;
                let depth = u32::try_from(request.max_depth).unwrap_or(u32::MAX);
                listed
                    .iter()
                    .map(|url| match context.rules.screen(url) {
                        Screened::Follow(key) => OfferedUrl { url: key.to_string(), depth, skip: None },
                        Screened::OutOfScope => OfferedUrl {
                            url: normalize(url).to_string(),
                            depth,
                            skip: Some("listed by a sitemap on another host".into()),
                        },
                        Screened::Skipped(reason) => {
                            OfferedUrl { url: normalize(url).to_string(), depth, skip: Some(reason) }
                        }
                    })
                    .collect()
            }
            CrawlType::TxtFile | CrawlType::Webpage => {
                vec![OfferedUrl { url: normalize(&start).to_string(), depth: 0, skip: None }]
            }
        };
        // robots.txt of the start origin, fetched once here and kept for every worker.
        if let Some(context) = self.context(job_id).await? {
            context.robots.rules_for(&self.crawler, &start).await;
        }
        let admitted = self.ledger.admit(job_id, &offers).await?;
        if admitted.queued.is_empty() {
            // Nothing to fetch (an empty sitemap): the crawl is complete, and ends here, while
            // the job is still this worker's.
            let context =
                self.context(job_id).await?.ok_or_else(|| Error::Internal("the job's spec vanished".into()))?;
            return self.complete(&context).await;
        }
        self.publish(job_id, &admitted.queued).await;
        // The last step: once the job is the cluster's, this worker's job runner stops.
        let lease = Lease { worker: super::CLUSTER_WORKER, duration: self.config.job_lease };
        self.queue.hand_over(job_id, claimed_by, lease).await?;
        info!(job_id, seeds = admitted.queued.len(), "distributed crawl started");
        Ok(())
    }
}
