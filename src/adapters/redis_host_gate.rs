//! [`HostGate`] in Redis: every process asks the same two keys per host, through one Lua script
//! per operation, so the check and the grant are one atomic step and all processes use one clock
//! (Redis's `TIME`, in microseconds).
//!
//! - `{prefix}:host:{host}:slots`: a sorted set of granted slot tokens scored by their expiry.
//!   Expired ones are removed first; a grant needs fewer than `max_in_flight` left. The key
//!   expires with its last slot.
//! - `{prefix}:host:{host}:next`: the time the next request may start (the last grant plus
//!   `gap`); it expires then.
//!
//! A refusal says how long to wait: exactly until the gap passes; or, at the in-flight cap, until
//! the earliest slot expires but at most a short retry of 100-250 ms, drawn at random per call.
//! Slots are usually released long before they expire, and a release is invisible to waiters,
//! so they look again soon; the jitter keeps waiters of many processes from asking in lockstep.
//! The answer is never shorter than what the gap still requires.
//!
//! Scripts go by `EVALSHA`; redis-rs loads them again on `NOSCRIPT` (Redis restarted).

use std::time::Duration;

use async_trait::async_trait;
use redis::Script;
use redis::aio::ConnectionManager;

use super::redis_conn::{self, broker_error};
use crate::ports::{Admission, BrokerError, HostGate, HostPolicy, HostSlot};

/// Shortest and longest retry told to a request refused at the in-flight cap.
pub const RETRY_AT_CAP_MIN: Duration = Duration::from_millis(100);
pub const RETRY_AT_CAP_MAX: Duration = Duration::from_millis(250);

/// KEYS: slots, next. ARGV: max in flight, gap µs, hold µs, token, retry at cap µs.
/// Returns `{1, 0}` granted, or `{0, wait µs}`. Numbers written back go through `%d`: Lua 5.1
/// would print a 16-digit microsecond time as `1.78e+15`, losing the digits that matter.
const ACQUIRE: &str = r"
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local max_in_flight = tonumber(ARGV[1])
local gap = tonumber(ARGV[2])
local hold = tonumber(ARGV[3])
local retry = tonumber(ARGV[5])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', string.format('%d', now))
local wait_gap = 0
local next_at = tonumber(redis.call('GET', KEYS[2]) or '0')
if next_at > now then wait_gap = next_at - now end
if redis.call('ZCARD', KEYS[1]) >= max_in_flight then
  local earliest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  local wait_slot = math.min(tonumber(earliest[2]) - now, retry)
  return {0, math.max(wait_gap, wait_slot, 1)}
end
if wait_gap > 0 then return {0, wait_gap} end
local expires = now + hold
redis.call('ZADD', KEYS[1], string.format('%d', expires), ARGV[4])
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
local ttl_ms = math.ceil((math.max(tonumber(last[2]), expires) - now) / 1000) + 1
redis.call('PEXPIRE', KEYS[1], string.format('%d', ttl_ms))
if gap > 0 then
  redis.call('SET', KEYS[2], string.format('%d', now + gap), 'PX', string.format('%d', math.ceil(gap / 1000) + 1))
end
return {1, 0}
";

/// KEYS: slots. ARGV: token. Removing the last member deletes the key.
const RELEASE: &str = r"
return redis.call('ZREM', KEYS[1], ARGV[1])
";

pub struct RedisHostGate {
    commands: ConnectionManager,
    prefix: String,
    acquire: Script,
    release: Script,
}

impl std::fmt::Debug for RedisHostGate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisHostGate").field("prefix", &self.prefix).finish_non_exhaustive()
    }
}

impl RedisHostGate {
    /// Connect; keys start with `prefix` (the broker's, e.g. `crawlrag`).
    ///
    /// # Errors
    /// [`BrokerError::Unavailable`] when Redis cannot be reached.
    pub async fn connect(url: &str, prefix: &str) -> Result<Self, BrokerError> {
        let client = redis_conn::client(url)?;
        let commands = redis_conn::command_connection(&client).await?;
        Ok(Self { commands, prefix: prefix.to_owned(), acquire: Script::new(ACQUIRE), release: Script::new(RELEASE) })
    }

    fn slots_key(&self, host: &str) -> String {
        format!("{}:host:{host}:slots", self.prefix)
    }

    fn next_key(&self, host: &str) -> String {
        format!("{}:host:{host}:next", self.prefix)
    }
}

#[async_trait]
impl HostGate for RedisHostGate {
    async fn try_acquire(&self, host: &str, policy: HostPolicy) -> Result<Admission, BrokerError> {
        let token = uuid::Uuid::new_v4();
        // The jitter comes from the token's random bits: no other source needed.
        let spread = micros(RETRY_AT_CAP_MAX - RETRY_AT_CAP_MIN) + 1;
        let retry = micros(RETRY_AT_CAP_MIN) + u64::try_from(token.as_u128() % u128::from(spread)).unwrap_or(0);
        let token = token.simple().to_string();
        let (granted, wait): (u8, u64) = self
            .acquire
            .key(self.slots_key(host))
            .key(self.next_key(host))
            .arg(policy.max_in_flight.max(1))
            .arg(micros(policy.gap))
            .arg(micros(policy.hold).max(1_000))
            .arg(&token)
            .arg(retry)
            .invoke_async(&mut self.commands.clone())
            .await
            .map_err(|error| broker_error(&error))?;
        if granted == 1 {
            Ok(Admission::Granted(HostSlot { host: host.to_owned(), token }))
        } else {
            Ok(Admission::Wait(Duration::from_micros(wait.max(1))))
        }
    }

    async fn release(&self, slot: &HostSlot) -> Result<(), BrokerError> {
        self.release
            .key(self.slots_key(&slot.host))
            .arg(&slot.token)
            .invoke_async::<u64>(&mut self.commands.clone())
            .await
            .map(drop)
            .map_err(|error| broker_error(&error))
    }
}

fn micros(duration: Duration) -> u64 {
    u64::try_from(duration.as_micros()).unwrap_or(u64::MAX)
}
