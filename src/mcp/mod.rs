//! The MCP surface: the only home of `rmcp`. Tools parse and validate parameters, call a
//! service, and shape results; `errors.rs` maps crate errors to tool errors.

mod crawl_tools;
mod dto;
mod errors;
mod progress;
mod server;

pub use server::RagServer;
