//! crawlrag: an MCP server that crawls web pages into a vector index and answers questions from
//! it.
//!
//! # Architecture
//! Arrows point down only (see `docs/architecture.md`):
//! - `cli` (the command line) and `transport` (stdio; HTTP: streamable HTTP, legacy SSE, health,
//!   readiness, metrics) run the process; `mcp` is the tool surface, on rmcp;
//! - services — `crawl` (fetch + extract), `ingest` (chunk, embed, store, graph), `retrieve`
//!   (search), `graphrag` (graph-enriched retrieval, entity context, read-only Cypher), `codegraph` (repositories
//!   parsed into the code graph, scripts checked against it, its commands), `jobs` (long operations as queued, leased jobs), `sources` (list, delete) — know `domain`
//!   types, the `ports` traits, the shared `error`, `progress` and `cpu` modules, and the types of
//!   the service they feed or run (`ingest` is the crawler's sink, `jobs` runs the crawler and the code graph, `codegraph`
//!   stores docs through the crawler's sink); never
//!   an adapter, `app` or `mcp`;
//! - `adapters` implement the ports with driver crates (reqwest, sqlx/pgvector, chromiumoxide,
//!   candle, async-openai); `app` is the composition root that picks them from `config` (plain
//!   data, no I/O);
//! - `domain` is pure types and algorithms; `telemetry` and `process_memory` are process plumbing.

pub mod adapters;
pub mod app;
pub mod cli;
pub mod cluster;
pub mod codegraph;
pub mod config;
pub mod cpu;
pub mod crawl;
pub mod domain;
pub mod error;
pub mod graphrag;
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
