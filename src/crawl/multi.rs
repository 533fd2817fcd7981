//! `crawl_with_multi_url_config`: many single pages at once, each extracted with the content
//! profile its URL calls for (documentation, article, general), each with its own result.

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use serde::{Deserialize, Serialize};
use tracing::instrument;

use super::extract::ContentProfile;
use super::{Crawler, PagePlan, Render};
use crate::domain::{JobProgress, target};
use crate::error::{Error, Result};
use crate::progress::{NoProgress, ProgressSink};

/// Most URLs one call may list.
pub const MAX_URLS: usize = 1000;

/// One URL to crawl, with its profile when the caller chose one.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum UrlSpec {
    Plain(String),
    Configured { url: String, content_type: Option<ContentProfile> },
}

impl UrlSpec {
    fn parts(&self) -> (&str, Option<ContentProfile>) {
        match self {
            Self::Plain(url) => (url, None),
            Self::Configured { url, content_type } => (url, *content_type),
        }
    }
}

/// Parse `urls_json`: a JSON array of URLs, or of `{"url": ..., "content_type": ...}` objects.
///
/// # Errors
/// `BadInput` naming what is wrong with the JSON.
pub fn parse_urls(urls_json: &str) -> Result<Vec<UrlSpec>> {
    let specs: Vec<UrlSpec> = serde_json::from_str(urls_json).map_err(|e| {
        Error::bad_input(format!(
            "urls_json must be a JSON array of URLs or of {{\"url\", \"content_type\"}} objects \
             (content_type: documentation | article | general): {e}"
        ))
    })?;
    match specs.len() {
        0 => Err(Error::bad_input("urls_json lists no URLs")),
        n if n > MAX_URLS => Err(Error::bad_input(format!("urls_json lists {n} URLs; at most {MAX_URLS} per call"))),
        _ => Ok(specs),
    }
}

/// The outcome for one URL.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct UrlOutcome {
    pub url: String,
    /// The profile used: `documentation`, `article` or `general`.
    pub content_type: ContentProfile,
    pub success: bool,
    pub unchanged: bool,
    pub chunks_stored: usize,
    pub code_examples_stored: usize,
    pub content_length: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// All URLs' outcomes, in the order given.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MultiReport {
    pub results: Vec<UrlOutcome>,
    pub urls_succeeded: usize,
    pub urls_failed: usize,
    pub chunks_stored: usize,
}

impl Crawler {
    /// Crawl each URL as a single page with its profile, `max_concurrent` at a time.
    ///
    /// # Errors
    /// `BadInput` for a bad `max_concurrent`; each URL's own failure is a value in the report.
    #[instrument(skip_all, fields(urls = specs.len()))]
    pub async fn crawl_many(
        &self,
        specs: &[UrlSpec],
        max_concurrent: usize,
        chunk_size: Option<usize>,
        render: Render,
        progress: &dyn ProgressSink,
    ) -> Result<MultiReport> {
        if !(1..=100).contains(&max_concurrent) {
            return Err(Error::bad_input(format!("max_concurrent must be between 1 and 100, got {max_concurrent}")));
        }
        let total = specs.len() as u64;
        let mut outcomes: Vec<Option<UrlOutcome>> = vec![None; specs.len()];
        let mut specs_left = specs.iter().enumerate();
        let mut in_flight = FuturesUnordered::new();
        let mut done = 0;
        loop {
            while in_flight.len() < max_concurrent {
                let Some((i, spec)) = specs_left.next() else { break };
                in_flight.push(self.crawl_one(i, spec, chunk_size, render));
            }
            let Some((i, outcome)) = in_flight.next().await else { break };
            done += 1;
            progress.report(done, Some(total), &format!("crawled {}", outcome.url)).await;
            progress.tally(&tally(&outcomes, &outcome)).await;
            outcomes[i] = Some(outcome);
        }
        let results: Vec<UrlOutcome> = outcomes.into_iter().flatten().collect();
        Ok(MultiReport {
            urls_succeeded: results.iter().filter(|r| r.success).count(),
            urls_failed: results.iter().filter(|r| !r.success).count(),
            chunks_stored: results.iter().map(|r| r.chunks_stored).sum(),
            results,
        })
    }

    async fn crawl_one(
        &self,
        index: usize,
        spec: &UrlSpec,
        chunk_size: Option<usize>,
        render: Render,
    ) -> (usize, UrlOutcome) {
        let (url, chosen) = spec.parts();
        let profile =
            chosen.or_else(|| target::parse_target(url).ok().map(|u| ContentProfile::detect(&u))).unwrap_or_default();
        let plan = PagePlan { render, profile, ..PagePlan::default() };
        let failed = |error: String| UrlOutcome {
            url: url.to_owned(),
            content_type: profile,
            success: false,
            unchanged: false,
            chunks_stored: 0,
            code_examples_stored: 0,
            content_length: 0,
            error: Some(error),
        };
        let outcome = match self.crawl_single_page(url, chunk_size, &plan, &NoProgress).await {
            Ok(r) => UrlOutcome {
                url: r.url,
                content_type: profile,
                success: true,
                unchanged: r.unchanged,
                chunks_stored: r.chunks_stored,
                code_examples_stored: r.code_examples_stored,
                content_length: r.content_length,
                error: None,
            },
            // Every failure, a dead database included, is reported per URL with its reason.
            Err(e) => failed(e.to_string()),
        };
        (index, outcome)
    }
}

/// Job progress: URLs done so far (those stored plus the one just finished).
fn tally(done: &[Option<UrlOutcome>], latest: &UrlOutcome) -> JobProgress {
    let all = || done.iter().flatten().chain(std::iter::once(latest));
    JobProgress {
        pages_done: all().filter(|o| o.success).count() as u64,
        pages_queued: done.iter().filter(|o| o.is_none()).count().saturating_sub(1) as u64,
        pages_failed: all().filter(|o| !o.success).count() as u64,
        chunks_stored: all().map(|o| o.chunks_stored as u64).sum(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_json_takes_strings_or_objects_and_rejects_the_rest() {
        let specs =
            parse_urls(r#"["https://x.y/docs/a", {"url": "https://x.y/b", "content_type": "article"}]"#).unwrap();
        assert_eq!(specs[0].parts(), ("https://x.y/docs/a", None));
        assert_eq!(specs[1].parts(), ("https://x.y/b", Some(ContentProfile::Article)));
        assert!(parse_urls("https://x.y").unwrap_err().to_string().contains("JSON array"));
        assert!(parse_urls("[]").unwrap_err().to_string().contains("no URLs"));
        assert!(parse_urls(r#"[{"url": "u", "content_type": "poem"}]"#).is_err());
    }
}
