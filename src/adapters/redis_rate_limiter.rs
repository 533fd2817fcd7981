//! `RateLimiter` on Redis, shared by every replica: one Lua script runs the GCRA step of
//! `domain::gcra` atomically on the server, on Redis's own clock (`TIME`), so replicas whose
//! clocks disagree still share one limit. The script goes by `EVALSHA`; redis-rs loads it again on
//! `NOSCRIPT` (a Redis that restarted has an empty script cache), as for the host gate. Keys are `crawlrag:rl:<key>` and expire
//! when their bucket is full again. A `ConnectionManager` reconnects after Redis restarts.

use std::time::Duration;

use async_trait::async_trait;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{RedisError, Script};

use crate::domain::gcra::{Decision, Quota};
use crate::ports::{RateLimitError, RateLimiter};

/// Prefix of every key this limiter writes.
pub const KEY_PREFIX: &str = "crawlrag:rl:";
/// A limiter must answer fast or not at all: the request waits on it.
const RESPONSE_TIMEOUT: Duration = Duration::from_millis(500);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// KEYS[1]: the key. ARGV[1]: emission interval (µs), ARGV[2]: capacity. Answers
/// {allowed (0/1), debt (µs the TAT is ahead of now, after the update when allowed)}; the
/// decision's other fields are computed from these by `Decision::from_debt`, as locally.
/// Numbers are µs since the epoch (< 2^53, exact in Lua's doubles) and written with `%.0f`
/// because Lua's default number formatting keeps only 14 digits.
const SCRIPT: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local tolerance = interval * (tonumber(ARGV[2]) - 1)
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
if tat - now > tolerance then
  return {0, string.format('%.0f', tat - now)}
end
local new_tat = tat + interval
redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX', string.format('%.0f', math.ceil((new_tat - now) / 1000)))
return {1, string.format('%.0f', new_tat - now)}
";

/// The shared limiter.
pub struct RedisRateLimiter {
    conn: ConnectionManager,
    script: Script,
}

impl std::fmt::Debug for RedisRateLimiter {
    // The URL may carry a password: print nothing about the connection.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisRateLimiter").finish_non_exhaustive()
    }
}

impl RedisRateLimiter {
    /// Connect to `url` (`redis://[user:password@]host:port[/db]`) and load the script.
    ///
    /// # Errors
    /// [`RateLimitError::Unavailable`] when Redis cannot be reached at start.
    pub async fn connect(url: &str) -> Result<Self, RateLimitError> {
        let client = redis::Client::open(url).map_err(unavailable)?;
        let config = ConnectionManagerConfig::new()
            .set_response_timeout(Some(RESPONSE_TIMEOUT))
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_number_of_retries(2)
            .set_max_delay(Duration::from_millis(500));
        let mut conn = ConnectionManager::new_with_config(client, config).await.map_err(unavailable)?;
        let script = Script::new(SCRIPT);
        // Loaded now, so an unreachable Redis or a refused script stops the start.
        script.prepare_invoke().load_async(&mut conn).await.map_err(unavailable)?;
        Ok(Self { conn, script })
    }

    async fn run(&self, key: &str, quota: &Quota) -> Result<(i64, i64), RedisError> {
        let mut conn = self.conn.clone();
        self.script
            .key(format!("{KEY_PREFIX}{key}"))
            .arg(quota.interval_us())
            .arg(quota.capacity())
            .invoke_async(&mut conn)
            .await
    }
}

#[async_trait]
impl RateLimiter for RedisRateLimiter {
    async fn check(&self, key: &str, quota: &Quota) -> Result<Decision, RateLimitError> {
        let (allowed, debt) = self.run(key, quota).await.map_err(unavailable)?;
        Ok(Decision::from_debt(allowed == 1, debt, quota))
    }
}

fn unavailable(e: RedisError) -> RateLimitError {
    // RedisError's Display never includes the URL's password.
    RateLimitError::Unavailable(e.to_string())
}
