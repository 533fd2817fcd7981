//! Logging: `tracing` to stderr only, because stdout carries the MCP protocol in stdio mode.

use tracing_subscriber::EnvFilter;

/// Quiet defaults for chatty dependencies; `RUST_LOG` overrides.
const DEFAULT_FILTER: &str = "info,sqlx=warn,hyper=warn,h2=warn,tower=warn,rmcp=warn,reqwest=warn,html5ever=error";

/// Install the global subscriber (once; later calls are no-ops).
pub fn init(ansi: bool) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(ansi).try_init();
}
