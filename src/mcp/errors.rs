//! The one place crate errors become MCP tool errors (see `docs/architecture.md`, "Errors"): an
//! exhaustive match, an actionable message for the user, and no internals on the wire.

use rmcp::handler::server::tool::IntoCallToolResult;
use rmcp::model::{CallToolResponse, CallToolResult, ContentBlock};
use serde_json::json;
use tracing::error;

use crate::error::Error;

/// A failed tool call, sent as a tool result with `isError: true` and the anchor's
/// `{"success": false, "error": ...}` body so the model can read what to do next.
#[derive(Debug)]
pub(crate) struct ToolError {
    kind: &'static str,
    message: String,
}

impl From<Error> for ToolError {
    fn from(err: Error) -> Self {
        let (kind, message) = match &err {
            Error::BadInput(m) => ("bad_input", m.clone()),
            Error::NotFound(m) => ("not_found", m.clone()),
            Error::Unavailable { message, .. } => ("unavailable", message.clone()),
            Error::Timeout(m) => ("timeout", m.clone()),
            Error::Cancelled => ("cancelled", "the request was cancelled".to_owned()),
            Error::Internal(detail) => {
                error!(%detail, "internal error in tool call");
                ("internal", "internal error; the server log has the details".to_owned())
            }
        };
        Self { kind, message }
    }
}

impl ToolError {
    pub(crate) fn kind(&self) -> &'static str {
        self.kind
    }
}

impl IntoCallToolResult for ToolError {
    fn into_call_tool_result(self) -> Result<CallToolResponse, rmcp::ErrorData> {
        let body = json!({ "success": false, "error": self.message, "error_kind": self.kind });
        // Text only: structured content on an error could fail clients' output-schema checks.
        Ok(CallToolResult::error(vec![ContentBlock::text(body.to_string())]).into())
    }
}
