//! The crate error, one variant per thing the caller should do next (fix the input, look
//! elsewhere, retry later, give up). Port errors convert into it; `mcp/errors.rs` maps it to tool
//! errors and `cli.rs` to exit codes, each in one exhaustive match (see `docs/architecture.md`).

use std::time::Duration;

use crate::ports::{EmbedError, FetchError, GraphError, ModelError, ParseError, RepoError, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The caller's input is wrong; retrying the same call will fail again.
    #[error("{0}")]
    BadInput(String),
    /// The thing asked for does not exist.
    #[error("{0}")]
    NotFound(String),
    /// A dependency is down or refusing; retrying later may work.
    #[error("{message}")]
    Unavailable { message: String, retry_after: Option<Duration> },
    #[error("{0}")]
    Timeout(String),
    /// The operation was cancelled by the client.
    #[error("cancelled")]
    Cancelled,
    /// A bug or an unexpected state; details are logged, not sent to clients.
    #[error("internal error: {0}")]
    Internal(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn bad_input(message: impl Into<String>) -> Self {
        Self::BadInput(message.into())
    }

    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::Unavailable { message: message.into(), retry_after: None }
    }
}

impl From<FetchError> for Error {
    fn from(err: FetchError) -> Self {
        let message = err.to_string();
        match err {
            FetchError::InvalidUrl { .. }
            | FetchError::Blocked { .. }
            | FetchError::Status { .. }
            | FetchError::RedirectLoop(_)
            | FetchError::TooManyRedirects { .. }
            | FetchError::UnsupportedContentType { .. }
            | FetchError::TooLarge { .. } => Self::BadInput(message),
            FetchError::Unreachable { .. } | FetchError::Other { .. } => Self::unavailable(message),
            FetchError::Timeout(..) => Self::Timeout(message),
        }
    }
}

impl From<EmbedError> for Error {
    fn from(err: EmbedError) -> Self {
        let message = err.to_string();
        match err {
            EmbedError::Unavailable(_) | EmbedError::Load(_) => Self::unavailable(message),
            EmbedError::Rejected(_) => Self::BadInput(message),
            EmbedError::Internal(_) => Self::Internal(message),
        }
    }
}

impl From<StoreError> for Error {
    fn from(err: StoreError) -> Self {
        let message = err.to_string();
        match err {
            StoreError::Unavailable(_) | StoreError::EmbeddingMismatch { .. } => Self::unavailable(message),
            StoreError::Migration(_) | StoreError::Query(_) => Self::Internal(message),
        }
    }
}

impl From<GraphError> for Error {
    fn from(err: GraphError) -> Self {
        let message = err.to_string();
        match err {
            GraphError::Unavailable(_) => Self::unavailable(message),
            GraphError::Refused(_) | GraphError::Unsupported(_) | GraphError::Invalid(_) => Self::BadInput(message),
            GraphError::Timeout(_) => Self::Timeout(message),
            GraphError::Query(_) => Self::Internal(message),
        }
    }
}

impl From<ModelError> for Error {
    fn from(err: ModelError) -> Self {
        let message = err.to_string();
        match err {
            ModelError::Unavailable(_) | ModelError::Malformed(_) => Self::unavailable(message),
            ModelError::Rejected(_) => Self::BadInput(message),
        }
    }
}

impl From<RepoError> for Error {
    fn from(err: RepoError) -> Self {
        match err {
            RepoError::Invalid(_) | RepoError::TooLarge { .. } => Self::BadInput(err.to_string()),
            RepoError::Unreachable { .. } => Self::unavailable(err.to_string()),
        }
    }
}

impl From<ParseError> for Error {
    fn from(err: ParseError) -> Self {
        match err {
            ParseError::Unsupported(_) | ParseError::Failed(_) => Self::BadInput(err.to_string()),
        }
    }
}
