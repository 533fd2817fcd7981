//! `ProgressSink` that sends MCP `notifications/progress` to the client that asked for them
//! (only when the request carried a progress token).

use async_trait::async_trait;
use rmcp::model::{ProgressNotificationParam, ProgressToken};
use rmcp::service::RequestContext;
use rmcp::{Peer, RoleServer};

use crate::progress::ProgressSink;

pub(crate) struct McpProgress {
    peer: Peer<RoleServer>,
    token: Option<ProgressToken>,
}

impl McpProgress {
    pub(crate) fn from_context(ctx: &RequestContext<RoleServer>) -> Self {
        Self { peer: ctx.peer.clone(), token: ctx.meta.get_progress_token() }
    }
}

#[async_trait]
impl ProgressSink for McpProgress {
    async fn report(&self, done: u64, total: Option<u64>, message: &str) {
        let Some(token) = &self.token else { return };
        #[expect(clippy::cast_precision_loss, reason = "progress counts are far below 2^52")]
        let mut param = ProgressNotificationParam::new(token.clone(), done as f64).with_message(message);
        if let Some(total) = total {
            #[expect(clippy::cast_precision_loss, reason = "progress counts are far below 2^52")]
            let total = total as f64;
            param = param.with_total(total);
        }
        // A client that went away cannot be told; the operation itself goes on.
        let _ = self.peer.notify_progress(param).await;
    }
}
