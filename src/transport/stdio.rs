//! MCP over stdio: stdout carries the protocol, logs go to stderr.

use std::sync::Arc;

use rmcp::ServiceExt;
use tokio_util::sync::CancellationToken;

use crate::app::App;
use crate::mcp::RagServer;

/// Serve until the client closes stdin or `shutdown` fires.
///
/// # Errors
/// When the MCP handshake fails.
pub async fn serve(app: Arc<App>, shutdown: CancellationToken) -> anyhow::Result<()> {
    let running = RagServer::new(app).serve_with_ct(rmcp::transport::stdio(), shutdown.child_token()).await?;
    running.waiting().await?;
    Ok(())
}
