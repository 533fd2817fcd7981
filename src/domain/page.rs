//! A fetched page after HTML -> Markdown extraction.

use url::Url;

use super::SourceId;

/// Links found on a page, split by whether they stay on the page's host.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Links {
    pub internal: Vec<String>,
    pub external: Vec<String>,
}

/// HTTP cache validators of a fetched page (`ETag`, `Last-Modified`), sent back on re-crawl.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Validators {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

impl Validators {
    pub fn is_empty(&self) -> bool {
        self.etag.is_none() && self.last_modified.is_none()
    }
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
    /// Validators from the response, stored so the next crawl can ask "changed since?".
    pub validators: Validators,
}

impl Page {
    pub fn word_count(&self) -> usize {
        self.markdown.split_whitespace().count()
    }
}

/// What storing one page did (or, in a dry run, would have done).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IngestReport {
    /// The page's content was already stored unchanged: nothing was re-chunked or re-embedded.
    pub unchanged: bool,
    pub chunks_stored: usize,
    pub code_examples_stored: usize,
    pub content_length: usize,
    pub word_count: usize,
    /// Chunks embedded with a chat-written context.
    pub chunks_contextualized: usize,
    /// Distinct entities written to the graph for the page (0 when not graphed).
    pub entities_stored: usize,
    /// Relations written to the graph for the page.
    pub relations_stored: usize,
    /// Time spent extracting and writing the page's graph.
    pub graph_millis: u64,
}

/// What to extract into the graph while storing a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct GraphExtraction {
    pub entities: bool,
    pub relationships: bool,
}

impl GraphExtraction {
    pub const ALL: Self = Self { entities: true, relationships: true };
}

/// How one page is stored.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IngestOptions {
    /// Maximum chunk size; `None`: what fits the embedder, and an unchanged page is skipped.
    pub chunk_size: Option<usize>,
    /// Graph extraction; `None`: as configured (`USE_GRAPHRAG`).
    pub graph: Option<GraphExtraction>,
}
