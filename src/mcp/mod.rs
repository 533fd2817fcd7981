//! The MCP surface: the only home of `rmcp`. `server.rs` holds the server value, `tools/` the
//! tools per group, `dto/` their parameters and results, `errors.rs` the one mapping of crate
//! errors to tool errors, `progress.rs` progress notifications.

mod dto;
mod errors;
mod progress;
mod schema;
mod server;
mod tools;

pub use server::RagServer;

#[cfg(test)]
mod tests;
