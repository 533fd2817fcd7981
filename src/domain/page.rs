//! A fetched page after HTML -> Markdown extraction.

use url::Url;

use super::SourceId;

/// Links found on a page, split by whether they stay on the page's host.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Links {
    pub internal: Vec<String>,
    pub external: Vec<String>,
}

/// One page ready for ingestion: Markdown content plus what was learned while fetching it.
#[derive(Debug, Clone)]
pub struct Page {
    /// The URL after redirects; chunks are stored under it.
    pub url: Url,
    pub source_id: SourceId,
    pub title: Option<String>,
    pub markdown: String,
    pub links: Links,
}

impl Page {
    pub fn word_count(&self) -> usize {
        self.markdown.split_whitespace().count()
    }
}
