//! crawlrag: an MCP server that crawls web pages into a vector index and answers questions from
//! it.
//!
//! # Architecture
//! Arrows point down only (see `docs/architecture.md`):
//! - `mcp` (the only home of rmcp) and the CLI call the services;
//! - services — `crawl` (fetch + extract), `ingest` (chunk, embed, store), `retrieve` (search) —
//!   know only `domain` types and the `ports` traits;
//! - `adapters` implement the ports with driver crates (reqwest, sqlx/pgvector, candle,
//!   async-openai); `app` is the composition root that picks them;
//! - `transport` serves the MCP server over stdio and HTTP (streamable HTTP, legacy SSE).

pub mod adapters;
pub mod app;
pub mod cli;
pub mod config;
pub mod cpu;
pub mod crawl;
pub mod domain;
pub mod error;
pub mod ingest;
pub mod jobs;
pub mod mcp;
pub mod ports;
pub mod process_memory;
pub mod progress;
pub mod retrieve;
pub mod sources;
pub mod telemetry;
pub mod transport;
