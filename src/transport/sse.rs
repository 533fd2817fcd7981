//! Legacy MCP SSE transport (protocol 2024-11-05) bridged onto the same rmcp service: `GET /sse`
//! opens an event stream whose first event names the `/messages?sessionId=...` endpoint; clients
//! POST JSON-RPC there and read replies from the stream. rmcp has no SSE server transport, but a
//! pair of channels (Sink + Stream) is a transport, so each SSE session is one served `RagServer`.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::channel::mpsc;
use futures::{SinkExt, Stream, StreamExt};
use rmcp::ServiceExt;
use rmcp::model::{ClientJsonRpcMessage, ServerJsonRpcMessage};
use tokio_util::sync::{CancellationToken, DropGuard};
use tracing::{debug, warn};

use crate::app::App;
use crate::mcp::RagServer;

/// A client that opens a stream but never initializes is dropped after this long.
const INIT_TIMEOUT: Duration = Duration::from_secs(60);
/// Messages buffered per direction before senders wait (bounded memory per session).
const CHANNEL_DEPTH: usize = 64;
/// Open legacy SSE sessions at most; more get 503 (bounded memory under a connection flood).
pub(super) const MAX_SESSIONS: usize = 1024;

/// Open SSE sessions: session id -> sender into that session's server. A std Mutex is enough:
/// it is never held across an await.
#[derive(Clone, Default)]
pub(super) struct SseSessions {
    inner: Arc<Mutex<HashMap<String, mpsc::Sender<ClientJsonRpcMessage>>>>,
}

impl SseSessions {
    fn insert(&self, id: String, tx: mpsc::Sender<ClientJsonRpcMessage>) {
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(id, tx);
    }

    fn remove(&self, id: &str) {
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner).remove(id);
    }

    fn len(&self) -> usize {
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner).len()
    }

    fn get(&self, id: &str) -> Option<mpsc::Sender<ClientJsonRpcMessage>> {
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get(id).cloned()
    }
}

#[derive(Clone)]
pub(super) struct SseState {
    pub(super) app: Arc<App>,
    pub(super) sessions: SseSessions,
    pub(super) shutdown: CancellationToken,
}

#[derive(serde::Deserialize)]
pub(super) struct SessionQuery {
    #[serde(rename = "sessionId")]
    session_id: Option<String>,
}

/// `GET /sse`: start a session and stream its server's messages.
pub(super) async fn open_stream(State(state): State<SseState>) -> Response {
    if state.sessions.len() >= MAX_SESSIONS {
        return (StatusCode::SERVICE_UNAVAILABLE, "too many open SSE sessions; retry later or use /mcp")
            .into_response();
    }
    session_stream(state).into_response()
}

fn session_stream(state: SseState) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let id = uuid::Uuid::new_v4().simple().to_string();
    let (to_server, from_client) = mpsc::channel::<ClientJsonRpcMessage>(CHANNEL_DEPTH);
    let (to_client, from_server) = mpsc::channel::<ServerJsonRpcMessage>(CHANNEL_DEPTH);
    state.sessions.insert(id.clone(), to_server);

    // The session ends when the server stops, the process shuts down, or the client hangs up
    // (the stream below owns a guard that cancels this token when dropped).
    let session_ct = state.shutdown.child_token();
    let guard: DropGuard = session_ct.clone().drop_guard();
    let server = RagServer::new(Arc::clone(&state.app));
    let sessions = state.sessions.clone();
    let session_id = id.clone();
    tokio::spawn(async move {
        let served =
            tokio::time::timeout(INIT_TIMEOUT, server.serve_with_ct((to_client, from_client), session_ct)).await;
        match served {
            Ok(Ok(running)) => {
                let _ = running.waiting().await;
            }
            Ok(Err(e)) => debug!(session = %session_id, error = %e, "SSE session ended before initialize"),
            Err(_) => warn!(session = %session_id, "SSE client never initialized; closing session"),
        }
        sessions.remove(&session_id);
    });

    let endpoint = Event::default().event("endpoint").data(format!("/messages?sessionId={id}"));
    let messages = from_server.map(move |msg| {
        let _keep_session_alive = &guard;
        let data = serde_json::to_string(&msg).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"));
        Ok(Event::default().event("message").data(data))
    });
    Sse::new(futures::stream::once(async move { Ok(endpoint) }).chain(messages)).keep_alive(KeepAlive::default())
}

/// `POST /messages?sessionId=...`: hand one JSON-RPC message to the session's server.
pub(super) async fn post_message(
    State(state): State<SseState>,
    Query(query): Query<SessionQuery>,
    parts: axum::http::request::Parts,
    body: Bytes,
) -> Response {
    let Some(session_id) = query.session_id else {
        return (StatusCode::BAD_REQUEST, "missing sessionId query parameter; open GET /sse first").into_response();
    };
    let Some(mut tx) = state.sessions.get(&session_id) else {
        return (StatusCode::NOT_FOUND, "unknown or closed session; open a new GET /sse stream").into_response();
    };
    let mut message: ClientJsonRpcMessage = match serde_json::from_slice(&body) {
        Ok(m) => m,
        Err(e) => {
            return (StatusCode::BAD_REQUEST, format!("malformed JSON-RPC message: {e}")).into_response();
        }
    };
    // As rmcp's streamable HTTP does: the tool sees this POST's parts (the job owner in them).
    if let ClientJsonRpcMessage::Request(request) = &mut message {
        rmcp::model::GetExtensions::extensions_mut(&mut request.request).insert(parts);
    }
    match tx.send(message).await {
        Ok(()) => (StatusCode::ACCEPTED, "Accepted").into_response(),
        Err(_) => {
            state.sessions.remove(&session_id);
            (StatusCode::GONE, "session closed").into_response()
        }
    }
}
