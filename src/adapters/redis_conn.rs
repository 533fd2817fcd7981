//! What the Redis adapters (`redis_broker`, `redis_host_gate`) share: opening a client and its
//! auto-reconnecting command connection, and sorting driver errors into [`BrokerError`]s.
//!
//! Why these timeouts: redis-rs answers a command with an error only after its reconnect attempts
//! end, so few, short retries keep a caller from hanging while Redis is down (it learns
//! `Unavailable` within about a second and the next call tries again).

use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig, MultiplexedConnection};
use redis::{AsyncConnectionConfig, Client, ErrorKind, RedisError, ServerErrorKind};

use crate::ports::BrokerError;

/// Longest wait for one command's answer on the shared connection (blocking reads use their own).
pub(crate) const RESPONSE_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest wait for a TCP connection to Redis.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// Reconnect attempts made for one command before it fails (100 ms, then 200 ms apart).
const RECONNECT_RETRIES: usize = 2;

/// A client for `url` (not yet connected).
///
/// # Errors
/// [`BrokerError::Command`] for a URL redis-rs cannot read (the URL itself is never echoed: it
/// may hold a password).
pub(crate) fn client(url: &str) -> Result<Client, BrokerError> {
    Client::open(url).map_err(|error| BrokerError::Command(format!("invalid Redis URL: {}", error.category())))
}

/// The shared, auto-reconnecting connection for short commands.
///
/// # Errors
/// [`BrokerError::Unavailable`] when Redis cannot be reached now.
pub(crate) async fn command_connection(client: &Client) -> Result<ConnectionManager, BrokerError> {
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(CONNECT_TIMEOUT))
        .set_response_timeout(Some(RESPONSE_TIMEOUT))
        .set_number_of_retries(RECONNECT_RETRIES)
        .set_max_delay(Duration::from_millis(500));
    client.get_connection_manager_with_config(config).await.map_err(|error| broker_error(&error))
}

/// A connection of its own for blocking reads (`XREADGROUP ... BLOCK`): a blocked command holds up
/// everything queued behind it on a multiplexed connection. No response timeout here: the caller
/// bounds the wait itself, longer than the BLOCK it asked for.
///
/// # Errors
/// [`BrokerError::Unavailable`] when Redis cannot be reached now.
pub(crate) async fn blocking_connection(client: &Client) -> Result<MultiplexedConnection, BrokerError> {
    let config = AsyncConnectionConfig::new().set_connection_timeout(Some(CONNECT_TIMEOUT)).set_response_timeout(None);
    client.get_multiplexed_async_connection_with_config(&config).await.map_err(|error| broker_error(&error))
}

/// Connection trouble (refused, dropped, timed out, Redis loading or down) is `Unavailable`;
/// anything else Redis answered is `Command`.
pub(crate) fn broker_error(error: &RedisError) -> BrokerError {
    let transient_server = error.kind() == ErrorKind::Server(ServerErrorKind::BusyLoading)
        || error.kind() == ErrorKind::Server(ServerErrorKind::MasterDown)
        || error.kind() == ErrorKind::Server(ServerErrorKind::TryAgain);
    if error.is_io_error()
        || error.is_connection_dropped()
        || error.is_connection_refusal()
        || error.is_timeout()
        || error.is_unrecoverable_error()
        || transient_server
    {
        BrokerError::Unavailable(error.to_string())
    } else {
        BrokerError::Command(error.to_string())
    }
}

/// Whether Redis answered with this error code (`NOGROUP`, `BUSYGROUP`...): redis-rs has no kind
/// for the stream codes, and a pipeline's error carries the code only in its text.
pub(crate) fn has_code(error: &RedisError, code: &str) -> bool {
    error.code() == Some(code) || error.to_string().contains(code)
}
