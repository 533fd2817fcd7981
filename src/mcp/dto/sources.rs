//! `get_available_sources` and `delete_source`.

use rmcp::schemars::{self, JsonSchema};
use serde::{Deserialize, Serialize};

use crate::domain::SourceId;
use crate::ports::DeletedCounts;
use crate::sources::SourceListing;

#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct SourceOutput {
    pub source_id: String,
    pub summary: Option<String>,
    pub total_words: i64,
    pub pages: i64,
    pub chunks: i64,
    pub code_examples: i64,
    /// RFC 3339 timestamp.
    pub created_at: String,
    /// RFC 3339 timestamp of the last crawl that touched this source.
    pub updated_at: String,
    /// Entities its pages mention in the graph (0 when it was crawled without graph extraction).
    pub entities: i64,
    /// Relations between entities its pages support.
    pub relationships: i64,
}

impl From<SourceListing> for SourceOutput {
    fn from(listing: SourceListing) -> Self {
        let s = listing.info;
        Self {
            entities: listing.entities,
            relationships: listing.relations,
            source_id: s.source_id.to_string(),
            summary: s.summary,
            total_words: s.total_words,
            pages: s.pages,
            chunks: s.chunks,
            code_examples: s.code_examples,
            created_at: s.created_at.to_rfc3339(),
            updated_at: s.updated_at.to_rfc3339(),
        }
    }
}

#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct GetAvailableSourcesOutput {
    pub success: bool,
    pub sources: Vec<SourceOutput>,
    pub count: usize,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub(crate) struct DeleteSourceParams {
    /// The source to delete, as listed by get_available_sources (e.g. `docs.example.com`).
    pub source_id: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct DeleteSourceOutput {
    pub success: bool,
    pub source_id: String,
    pub pages_deleted: u64,
    pub chunks_deleted: u64,
    pub code_examples_deleted: u64,
}

impl GetAvailableSourcesOutput {
    pub(crate) fn new(sources: Vec<SourceListing>) -> Self {
        Self { success: true, count: sources.len(), sources: sources.into_iter().map(Into::into).collect() }
    }
}

impl DeleteSourceParams {
    pub(crate) fn source(&self) -> SourceId {
        SourceId::from(self.source_id.trim().to_owned())
    }
}

impl DeleteSourceOutput {
    pub(crate) fn new(source: &SourceId, counts: DeletedCounts) -> Self {
        Self {
            success: true,
            source_id: source.to_string(),
            pages_deleted: counts.pages,
            chunks_deleted: counts.chunks,
            code_examples_deleted: counts.code_examples,
        }
    }
}
