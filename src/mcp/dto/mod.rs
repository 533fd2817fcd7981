//! Tool parameters and results, one file per tool group, compatible with mcp-crawl4ai-rag v1.3
//! (same names and fields) plus the fields crawlrag adds. Every parameter documents its default;
//! the docs become the JSON Schema descriptions clients show to models. Conversions to and from
//! service types live beside the types, so tool handlers stay one to three lines.

pub(crate) mod code;
pub(crate) mod crawl;
pub(crate) mod graph;
pub(crate) mod jobs;
pub(crate) mod search;
pub(crate) mod sources;
