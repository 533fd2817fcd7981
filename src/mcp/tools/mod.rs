//! The tools, one file per group; each group is a `#[tool_router]` impl on `RagServer`, merged
//! in `RagServer::new`.

mod code;
mod crawl;
mod graph;
mod jobs;
mod search;
mod sources;
