#![allow(unreachable_pub, missing_debug_implementations)]

//! One integration binary (linked once; its in-process tests share one loaded model; see
//! `docs/testing.md`) against the real parts: Postgres + pgvector, the local embedding model,
//! headless Chromium, fixture sites on 127.0.0.1, and the built `crawlrag` binary.
//! `scripts/test.sh` starts the services; without them a test skips with a reason, except under
//! `CI=true`, where a missing service fails the run.

mod auth;
mod bad_input;
mod cli;
mod code_graph;
mod code_graph_package;
mod code_graph_servers;
mod code_tools;
mod common;
mod crawl_site;
mod crawl_tools;
mod dependency_rule;
mod embedders;
mod enrich;
mod graph;
mod graph_bolt;
mod graph_falkordb;
mod jobs;
mod ledger;
mod oauth;
mod rate_limits;
mod ready;
mod redis_queue;
mod render;
mod repo_checkout;
mod rerank;
mod scale_out;
mod slice;
mod transports;
mod webhooks;
