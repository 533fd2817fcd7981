//! Transports: stdio and HTTP (streamable HTTP at /mcp, legacy SSE at /sse + /messages, and
//! /health, /ready, /metrics). All serve the same `RagServer`; none holds business rules.

pub mod auth;
pub mod bearer;
pub mod http;
pub mod rate_limit;
pub mod resource_metadata;
mod sse;
pub mod stdio;

use tokio_util::sync::CancellationToken;

/// Cancel `token` on SIGINT or SIGTERM: the one shutdown signal (servers stop serving, the worker
/// loop stops claiming, and this process's running jobs are recorded as interrupted).
pub fn cancel_on_signal(token: CancellationToken) {
    tokio::spawn(async move {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        {
            let Ok(mut term) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) else {
                let _ = ctrl_c.await;
                token.cancel();
                return;
            };
            tokio::select! {
                _ = ctrl_c => {}
                _ = term.recv() => {}
            }
        }
        #[cfg(not(unix))]
        let _ = ctrl_c.await;
        token.cancel();
    });
}
