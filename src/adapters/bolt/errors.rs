//! Errors, as the graph port says them: the server could not be reached, one of our statements
//! failed, or a user's query was refused, rejected or timed out.

use crate::domain::cypher_guard::CypherRefusal;
use crate::ports::GraphError;

use super::READ_QUERY_TIMEOUT_MS;

/// Whether the server could not be reached or would not let us in (as opposed to answering a
/// statement with an error).
pub(super) fn is_connection_error(err: &neo4rs::Error) -> bool {
    use neo4rs::Error as E;
    if let E::Neo4j(e) = err {
        let code = e.code();
        return code.starts_with("Neo.ClientError.Security.")
            || code == "Neo.ClientError.Database.DatabaseNotFound"
            || code == "Neo.TransientError.General.DatabaseUnavailable";
    }
    matches!(
        err,
        E::IOError { .. }
            | E::UrlParseError(_)
            | E::UnsupportedScheme(_)
            | E::InvalidDnsName(_)
            | E::ConnectionError
            | E::ConnectionTimedOut
            | E::UnsupportedVersion(..)
            | E::ProtocolMismatch(_)
            | E::AuthenticationError(_)
            | E::ServerUnavailableError(_)
            | E::RoutingTableError(_)
            | E::RoutingTableRefreshFailed(_)
            | E::InvalidConfig
    )
}

/// An error of one of our own statements: a bug or a server in trouble, never the user's.
pub(super) fn statement_error(err: neo4rs::Error) -> GraphError {
    if is_connection_error(&err) {
        GraphError::Unavailable(format!("the Bolt server does not answer: {err}"))
    } else {
        GraphError::Query(err.to_string())
    }
}

/// An error of a user's query: refused writes, timeouts and the server's rejections are theirs
/// to change.
pub(super) fn user_query_error(err: neo4rs::Error) -> GraphError {
    if is_connection_error(&err) {
        return GraphError::Unavailable(format!("the Bolt server does not answer: {err}"));
    }
    let neo4rs::Error::Neo4j(e) = &err else {
        return GraphError::Invalid(format!("the answer could not be decoded: {err}"));
    };
    let (code, message) = (e.code(), e.message());
    if code.ends_with(".AccessMode") || code.ends_with(".ForbiddenOnReadOnlyDatabase") {
        GraphError::Refused(format!(
            "the graph accepts read-only queries only, and the server refused this one because it writes \
             ({code}: {message})"
        ))
    } else if code.contains("TransactionTimedOut") {
        GraphError::Timeout(READ_QUERY_TIMEOUT_MS)
    } else if code.starts_with("Neo.ClientError.") {
        GraphError::Invalid(format!("{message} ({code})"))
    } else {
        GraphError::Query(format!("{code}: {message}"))
    }
}

/// What the read-only guard says about a user's query, as the port says it.
pub(super) fn refusal(refused: CypherRefusal) -> GraphError {
    match refused {
        CypherRefusal::Write { .. } | CypherRefusal::Procedure { .. } => GraphError::Refused(refused.to_string()),
        CypherRefusal::Empty | CypherRefusal::TooLong(..) | CypherRefusal::Other(_) => {
            GraphError::Invalid(refused.to_string())
        }
    }
}
