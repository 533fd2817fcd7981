//! [`WorkBroker`] on Redis Streams: one stream per lane (`{prefix}:stream:{lane}`), one consumer
//! group on it, and a dead-letter stream beside it (`{prefix}:stream:{lane}:dead`).
//!
//! - An entry is one field, `payload`, holding the JSON text.
//! - An acknowledged entry is also deleted (`XACK` + `XDEL`), so a stream's length is its
//!   unfinished work.
//! - `receive` first claims entries idle longer than the visibility timeout (`XAUTOCLAIM`: their
//!   consumer died), dead-lettering those delivered more than `max_deliveries` times, then reads
//!   new ones (`XREADGROUP ... >`).
//! - Redis restarted without its data loses the group: any command answering `NOGROUP`
//!   re-creates it from id `0` (so entries added since the restart are not skipped) and is sent
//!   once more.
//!
//! Blocking reads run on one connection per consumer name: a `BLOCK` on the shared multiplexed
//! connection would stall every other command queued behind it.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use redis::aio::{ConnectionManager, MultiplexedConnection};
use redis::{Client, Cmd, FromRedisValue, Pipeline, RedisError, Value};

use super::redis_conn::{self, broker_error, has_code};
use crate::ports::{BrokerError, Delivery, Lane, LaneStats, WorkBroker};

pub const DEFAULT_PREFIX: &str = "crawlrag";
pub const DEFAULT_GROUP: &str = "workers";
pub const DEFAULT_VISIBILITY: Duration = Duration::from_secs(60);
pub const DEFAULT_MAX_DELIVERIES: u64 = 5;
pub const DEFAULT_MAX_LEN: u64 = 1_000_000;

/// The one field of an entry.
const PAYLOAD_FIELD: &str = "payload";
/// How much longer than its `BLOCK` a blocking read may take before it is given up (a busy
/// server, a slow network); the connection is then dropped, not reused.
const BLOCK_MARGIN: Duration = Duration::from_secs(2);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerConfig {
    /// First part of every key.
    pub prefix: String,
    /// The consumer group every worker joins.
    pub group: String,
    /// An entry idle this long (its consumer neither acknowledged nor extended it) is delivered
    /// again to another consumer.
    pub visibility: Duration,
    /// Deliveries allowed; an entry due for one more goes to the dead-letter stream.
    pub max_deliveries: u64,
    /// Approximate cap on a stream's length (`XADD ... MAXLEN ~`), a guard against unbounded growth.
    pub max_len: u64,
}

impl Default for BrokerConfig {
    fn default() -> Self {
        Self {
            prefix: DEFAULT_PREFIX.to_owned(),
            group: DEFAULT_GROUP.to_owned(),
            visibility: DEFAULT_VISIBILITY,
            max_deliveries: DEFAULT_MAX_DELIVERIES,
            max_len: DEFAULT_MAX_LEN,
        }
    }
}

pub struct RedisBroker {
    client: Client,
    commands: ConnectionManager,
    /// Lane and consumer name -> its connection for blocking reads. A std `Mutex`: held only to clone or
    /// swap a handle, never across an `.await`. Grows with the consumer names used, which are
    /// per worker task and few.
    blocking: Mutex<HashMap<String, MultiplexedConnection>>,
    config: BrokerConfig,
}

impl std::fmt::Debug for RedisBroker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisBroker").field("config", &self.config).finish_non_exhaustive()
    }
}

/// An entry as read from a stream, before its payload is parsed.
struct RawEntry {
    id: String,
    /// The `payload` field, `None` when the entry has none (written by something else).
    payload: Option<String>,
}

impl RedisBroker {
    /// Connect and create each lane's group (from the stream's end, creating the stream).
    ///
    /// # Errors
    /// [`BrokerError::Unavailable`] when Redis cannot be reached, `Command` when it refuses.
    pub async fn connect(url: &str, config: BrokerConfig) -> Result<Self, BrokerError> {
        let client = redis_conn::client(url)?;
        let commands = redis_conn::command_connection(&client).await?;
        let broker = Self { client, commands, blocking: Mutex::new(HashMap::new()), config };
        for lane in Lane::ALL {
            broker.create_group(lane, "$").await?;
        }
        Ok(broker)
    }

    pub fn config(&self) -> &BrokerConfig {
        &self.config
    }

    /// `{prefix}:stream:{lane}`.
    pub fn stream_key(&self, lane: Lane) -> String {
        format!("{}:stream:{}", self.config.prefix, lane.as_str())
    }

    /// `{prefix}:stream:{lane}:dead`.
    pub fn dead_key(&self, lane: Lane) -> String {
        format!("{}:dead", self.stream_key(lane))
    }

    async fn create_group(&self, lane: Lane, from: &str) -> Result<(), BrokerError> {
        let mut cmd = redis::cmd("XGROUP");
        cmd.arg("CREATE").arg(self.stream_key(lane)).arg(&self.config.group).arg(from).arg("MKSTREAM");
        match cmd.query_async::<()>(&mut self.commands.clone()).await {
            Err(error) if !has_code(&error, "BUSYGROUP") => Err(broker_error(&error)),
            Ok(()) | Err(_) => Ok(()),
        }
    }

    /// The group is gone (Redis lost its data): create it again from the start of the stream.
    async fn heal(&self, lane: Lane) -> Result<(), BrokerError> {
        tracing::warn!(lane = lane.as_str(), group = %self.config.group, "consumer group missing; re-creating it");
        self.create_group(lane, "0").await
    }

    /// Run `cmd` on the shared connection; on `NOGROUP` heal the group and run it once more.
    async fn query<T: FromRedisValue>(&self, lane: Lane, cmd: &Cmd) -> Result<T, BrokerError> {
        let mut conn = self.commands.clone();
        match cmd.query_async(&mut conn).await {
            Err(error) if has_code(&error, "NOGROUP") => {
                self.heal(lane).await?;
                cmd.query_async(&mut conn).await.map_err(|error| broker_error(&error))
            }
            Err(error) => Err(broker_error(&error)),
            Ok(reply) => Ok(reply),
        }
    }

    /// [`Self::query`] for a pipeline.
    async fn query_pipe<T: FromRedisValue>(&self, lane: Lane, pipe: &Pipeline) -> Result<T, BrokerError> {
        let mut conn = self.commands.clone();
        match pipe.query_async(&mut conn).await {
            Err(error) if has_code(&error, "NOGROUP") => {
                self.heal(lane).await?;
                pipe.query_async(&mut conn).await.map_err(|error| broker_error(&error))
            }
            Err(error) => Err(broker_error(&error)),
            Ok(reply) => Ok(reply),
        }
    }

    /// Entries other consumers left idle past the visibility timeout, now `consumer`'s, with
    /// their delivery counts; those over the limit or unreadable are dead-lettered instead.
    async fn reclaim(&self, lane: Lane, consumer: &str, max: usize) -> Result<Vec<Delivery>, BrokerError> {
        let key = self.stream_key(lane);
        let mut cmd = redis::cmd("XAUTOCLAIM");
        cmd.arg(&key)
            .arg(&self.config.group)
            .arg(consumer)
            .arg(millis(self.config.visibility))
            .arg("0-0")
            .arg("COUNT")
            .arg(max);
        let reply: Value = self.query(lane, &cmd).await?;
        // [next-cursor, [[id, [field, value, ...]], ...], [deleted ids]]
        let unexpected = || BrokerError::Command("unexpected XAUTOCLAIM reply".to_owned());
        let Value::Array(mut parts) = reply else { return Err(unexpected()) };
        if parts.len() < 2 {
            return Err(unexpected());
        }
        let claimed = entries(parts.swap_remove(1));
        if claimed.is_empty() {
            return Ok(Vec::new());
        }
        // XAUTOCLAIM does not say how often an entry was delivered: ask XPENDING for each (one
        // round trip).
        let mut pipe = redis::pipe();
        for entry in &claimed {
            pipe.cmd("XPENDING").arg(&key).arg(&self.config.group).arg(&entry.id).arg(&entry.id).arg(1);
        }
        let pending: Vec<Value> = self.query_pipe(lane, &pipe).await?;
        let mut deliveries = Vec::with_capacity(claimed.len());
        for (entry, summary) in claimed.into_iter().zip(pending) {
            // [[id, consumer, idle ms, deliveries]]; empty when acknowledged meanwhile.
            let Some(count) = delivery_count(&summary) else { continue };
            if count > self.config.max_deliveries {
                let reason = format!("delivered {count} times (at most {} allowed)", self.config.max_deliveries);
                self.bury(lane, &entry, count, &reason).await?;
                continue;
            }
            if let Some(delivery) = self.readable(lane, entry, count).await? {
                deliveries.push(delivery);
            }
        }
        if !deliveries.is_empty() {
            metrics::counter!("crawlrag_queue_redeliveries_total", "lane" => lane.as_str())
                .increment(deliveries.len() as u64);
        }
        Ok(deliveries)
    }

    /// Entries never delivered, waiting up to `wait` (no wait when zero).
    async fn read_new(
        &self,
        lane: Lane,
        consumer: &str,
        max: usize,
        wait: Duration,
    ) -> Result<Vec<Delivery>, BrokerError> {
        let mut cmd = redis::cmd("XREADGROUP");
        cmd.arg("GROUP").arg(&self.config.group).arg(consumer).arg("COUNT").arg(max);
        let block = millis(wait);
        if block > 0 {
            cmd.arg("BLOCK").arg(block);
        }
        cmd.arg("STREAMS").arg(self.stream_key(lane)).arg(">");
        let reply: Value = if block > 0 {
            self.read_blocking(lane, consumer, &cmd, wait).await?
        } else {
            self.query(lane, &cmd).await?
        };
        // Nil on timeout, else [[key, [[id, [field, value, ...]], ...]]].
        let raw = first_stream_entries(reply);
        let mut deliveries = Vec::with_capacity(raw.len());
        for entry in raw {
            if let Some(delivery) = self.readable(lane, entry, 1).await? {
                deliveries.push(delivery);
            }
        }
        Ok(deliveries)
    }

    /// A blocking read on `consumer`'s own connection for `lane`, bounded by `wait` plus a margin.
    /// One connection per lane and consumer: a process reads both lanes at once, and a read
    /// blocked on one lane must not hold up the other behind it on a shared connection.
    async fn read_blocking(&self, lane: Lane, consumer: &str, cmd: &Cmd, wait: Duration) -> Result<Value, BrokerError> {
        let (mut healed, mut reconnected) = (false, false);
        let consumer = &format!("{}\u{0}{consumer}", lane.as_str());
        loop {
            let mut conn = self.blocking_connection(consumer).await?;
            let outcome = tokio::time::timeout(wait + BLOCK_MARGIN, cmd.query_async::<Value>(&mut conn)).await;
            match outcome {
                Ok(Ok(reply)) => return Ok(reply),
                Ok(Err(error)) if has_code(&error, "NOGROUP") && !healed => {
                    self.heal(lane).await?;
                    healed = true;
                }
                Ok(Err(error)) => {
                    let dropped = self.forget_connection(consumer, &error);
                    // A cached connection may be stale (Redis restarted since): one fresh try.
                    if !dropped || reconnected {
                        return Err(broker_error(&error));
                    }
                    reconnected = true;
                }
                Err(_elapsed) => {
                    // The reply may still come: never reuse a connection with one outstanding.
                    self.blocking.lock().unwrap_or_else(std::sync::PoisonError::into_inner).remove(consumer);
                    return Err(BrokerError::Unavailable(format!("no answer to a blocking read within {wait:?}")));
                }
            }
        }
    }

    async fn blocking_connection(&self, consumer: &str) -> Result<MultiplexedConnection, BrokerError> {
        if let Some(conn) = self.blocking.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get(consumer) {
            return Ok(conn.clone());
        }
        let conn = redis_conn::blocking_connection(&self.client).await?;
        self.blocking
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(consumer.to_owned(), conn.clone());
        Ok(conn)
    }

    /// Drop a consumer's blocking connection after a connection error (the next read opens another).
    /// Whether it was dropped.
    fn forget_connection(&self, consumer: &str, error: &RedisError) -> bool {
        let unavailable = matches!(broker_error(error), BrokerError::Unavailable(_));
        if unavailable {
            self.blocking.lock().unwrap_or_else(std::sync::PoisonError::into_inner).remove(consumer);
        }
        unavailable
    }

    /// The entry as a [`Delivery`], or `None` after dead-lettering it when its payload is not JSON.
    async fn readable(&self, lane: Lane, entry: RawEntry, deliveries: u64) -> Result<Option<Delivery>, BrokerError> {
        let parsed = match &entry.payload {
            Some(text) => serde_json::from_str(text).map_err(|error| error.to_string()),
            None => Err(format!("no `{PAYLOAD_FIELD}` field")),
        };
        match parsed {
            Ok(payload) => Ok(Some(Delivery { id: entry.id, payload, deliveries })),
            Err(reason) => {
                let error = BrokerError::Payload { id: entry.id.clone(), reason };
                tracing::warn!(lane = lane.as_str(), %error, "dead-lettering an unreadable entry");
                self.bury(lane, &entry, deliveries, &error.to_string()).await?;
                Ok(None)
            }
        }
    }

    /// Move an entry to the dead-letter stream (payload, reason, original id, deliveries),
    /// acknowledge and delete it: one transaction.
    async fn bury(&self, lane: Lane, entry: &RawEntry, deliveries: u64, reason: &str) -> Result<(), BrokerError> {
        let key = self.stream_key(lane);
        let mut pipe = redis::pipe();
        pipe.atomic()
            .cmd("XADD")
            .arg(self.dead_key(lane))
            .arg("MAXLEN")
            .arg("~")
            .arg(self.config.max_len)
            .arg("*")
            .arg(PAYLOAD_FIELD)
            .arg(entry.payload.as_deref().unwrap_or_default())
            .arg("reason")
            .arg(reason)
            .arg("id")
            .arg(&entry.id)
            .arg("deliveries")
            .arg(deliveries)
            .ignore()
            .cmd("XACK")
            .arg(&key)
            .arg(&self.config.group)
            .arg(&entry.id)
            .ignore()
            .cmd("XDEL")
            .arg(&key)
            .arg(&entry.id)
            .ignore();
        self.query_pipe::<()>(lane, &pipe).await?;
        metrics::counter!("crawlrag_queue_dead_letters_total", "lane" => lane.as_str()).increment(1);
        tracing::warn!(lane = lane.as_str(), id = %entry.id, deliveries, reason, "entry dead-lettered");
        Ok(())
    }

    /// The group's pending count, consumers and lag, from `XINFO GROUPS`; `None` when the stream
    /// or the group does not exist.
    async fn group_info(&self, lane: Lane) -> Result<Option<GroupInfo>, BrokerError> {
        let mut cmd = redis::cmd("XINFO");
        cmd.arg("GROUPS").arg(self.stream_key(lane));
        let groups: Vec<Value> = match cmd.query_async(&mut self.commands.clone()).await {
            Ok(groups) => groups,
            Err(error) if error.to_string().contains("no such key") => return Ok(None),
            Err(error) => return Err(broker_error(&error)),
        };
        Ok(groups.iter().map(GroupInfo::from_value).find(|info| info.name == self.config.group))
    }
}

#[async_trait]
impl WorkBroker for RedisBroker {
    #[tracing::instrument(skip(self, payloads), fields(lane = lane.as_str(), count = payloads.len()))]
    async fn publish(&self, lane: Lane, payloads: &[serde_json::Value]) -> Result<(), BrokerError> {
        if payloads.is_empty() {
            return Ok(());
        }
        let key = self.stream_key(lane);
        let mut pipe = redis::pipe();
        for payload in payloads {
            pipe.cmd("XADD")
                .arg(&key)
                .arg("MAXLEN")
                .arg("~")
                .arg(self.config.max_len)
                .arg("*")
                .arg(PAYLOAD_FIELD)
                .arg(payload.to_string())
                .ignore();
        }
        pipe.query_async::<()>(&mut self.commands.clone()).await.map_err(|error| broker_error(&error))
    }

    #[tracing::instrument(skip(self), fields(lane = lane.as_str()))]
    async fn receive(
        &self,
        lane: Lane,
        consumer: &str,
        max: usize,
        wait: Duration,
    ) -> Result<Vec<Delivery>, BrokerError> {
        if max == 0 {
            return Ok(Vec::new());
        }
        let mut deliveries = self.reclaim(lane, consumer, max).await?;
        if deliveries.len() < max {
            // Work in hand: top up without waiting.
            let wait = if deliveries.is_empty() { wait } else { Duration::ZERO };
            let fresh = self.read_new(lane, consumer, max - deliveries.len(), wait).await?;
            deliveries.extend(fresh);
        }
        Ok(deliveries)
    }

    async fn ack(&self, lane: Lane, id: &str) -> Result<(), BrokerError> {
        let key = self.stream_key(lane);
        let mut pipe = redis::pipe();
        pipe.atomic()
            .cmd("XACK")
            .arg(&key)
            .arg(&self.config.group)
            .arg(id)
            .ignore()
            .cmd("XDEL")
            .arg(&key)
            .arg(id)
            .ignore();
        self.query_pipe(lane, &pipe).await
    }

    async fn extend(&self, lane: Lane, consumer: &str, ids: &[String]) -> Result<(), BrokerError> {
        if ids.is_empty() {
            return Ok(());
        }
        // Min idle 0 + JUSTID: resets the idle time without counting a delivery.
        let mut cmd = redis::cmd("XCLAIM");
        cmd.arg(self.stream_key(lane)).arg(&self.config.group).arg(consumer).arg(0).arg(ids).arg("JUSTID");
        self.query::<Value>(lane, &cmd).await.map(drop)
    }

    async fn dead_letter(&self, lane: Lane, delivery: &Delivery, reason: &str) -> Result<(), BrokerError> {
        let entry = RawEntry { id: delivery.id.clone(), payload: Some(delivery.payload.to_string()) };
        self.bury(lane, &entry, delivery.deliveries, reason).await
    }

    async fn stats(&self, lane: Lane) -> Result<LaneStats, BrokerError> {
        let mut pipe = redis::pipe();
        pipe.cmd("XLEN").arg(self.stream_key(lane)).cmd("XLEN").arg(self.dead_key(lane));
        let (length, dead): (u64, u64) =
            pipe.query_async(&mut self.commands.clone()).await.map_err(|error| broker_error(&error))?;
        let info = self.group_info(lane).await?;
        let (pending, consumers, lag) = match info {
            Some(info) => (info.pending, info.consumers, info.lag),
            // No group (Redis lost it): nothing is delivered, all of the stream waits.
            None => (0, 0, Some(length)),
        };
        // Redis reports no lag once deleted entries make it uncountable; since acknowledged
        // entries are deleted, the stream holds exactly the pending and the undelivered ones.
        let lag = lag.unwrap_or_else(|| length.saturating_sub(pending));
        Ok(LaneStats { length, pending, lag, dead, consumers })
    }

    async fn forget_idle_consumers(&self, lane: Lane, idle_over: Duration) -> Result<u64, BrokerError> {
        let key = self.stream_key(lane);
        let mut cmd = redis::cmd("XINFO");
        cmd.arg("CONSUMERS").arg(&key).arg(&self.config.group);
        let consumers: Vec<Value> = match cmd.query_async(&mut self.commands.clone()).await {
            Ok(consumers) => consumers,
            // No stream or no group yet: no consumer either.
            Err(error) if error.to_string().contains("no such key") || error.code() == Some("NOGROUP") => {
                return Ok(0);
            }
            Err(error) => return Err(broker_error(&error)),
        };
        let mut forgotten = 0;
        for consumer in consumers.iter().map(ConsumerInfo::from_value) {
            // `idle` counts from the last entry the consumer was handed (Redis 7.0; from 7.2, from
            // its last read attempt): either way, an idle one is only re-created later.
            if consumer.pending > 0 || consumer.idle_millis < millis(idle_over) || consumer.name.is_empty() {
                continue;
            }
            let mut cmd = redis::cmd("XGROUP");
            cmd.arg("DELCONSUMER").arg(&key).arg(&self.config.group).arg(&consumer.name);
            // Answers the entries it still held: none, unless it took one since XINFO (then the
            // entry is pending for nobody and XAUTOCLAIM hands it on after the visibility timeout).
            cmd.query_async::<u64>(&mut self.commands.clone()).await.map_err(|error| broker_error(&error))?;
            forgotten += 1;
        }
        Ok(forgotten)
    }

    async fn ping(&self) -> Result<(), BrokerError> {
        redis::cmd("PING").query_async::<()>(&mut self.commands.clone()).await.map_err(|error| broker_error(&error))
    }
}

/// One group of `XINFO GROUPS`.
struct GroupInfo {
    name: String,
    pending: u64,
    consumers: u64,
    /// `None` when Redis cannot tell (nil), or before Redis 7.
    lag: Option<u64>,
}

impl GroupInfo {
    /// From the flat `[field, value, ...]` list (RESP2) or a map (RESP3).
    fn from_value(value: &Value) -> Self {
        let mut info = Self { name: String::new(), pending: 0, consumers: 0, lag: None };
        for (field, value) in field_pairs(value) {
            match text(field).as_deref() {
                Some("name") => info.name = text(value).unwrap_or_default(),
                Some("pending") => info.pending = number(value).unwrap_or(0),
                Some("consumers") => info.consumers = number(value).unwrap_or(0),
                Some("lag") => info.lag = number(value),
                Some(_) | None => {}
            }
        }
        info
    }
}

/// One consumer of `XINFO CONSUMERS`.
struct ConsumerInfo {
    name: String,
    pending: u64,
    idle_millis: u64,
}

impl ConsumerInfo {
    fn from_value(value: &Value) -> Self {
        let mut info = Self { name: String::new(), pending: 0, idle_millis: 0 };
        for (field, value) in field_pairs(value) {
            match text(field).as_deref() {
                Some("name") => info.name = text(value).unwrap_or_default(),
                Some("pending") => info.pending = number(value).unwrap_or(0),
                Some("idle") => info.idle_millis = number(value).unwrap_or(0),
                Some(_) | None => {}
            }
        }
        info
    }
}

/// `XINFO`'s `[field, value, ...]` list (RESP2) or map (RESP3) as pairs.
fn field_pairs(value: &Value) -> Vec<(&Value, &Value)> {
    if let Value::Array(items) = value {
        items.chunks_exact(2).map(|pair| (&pair[0], &pair[1])).collect()
    } else if let Value::Map(items) = value {
        items.iter().map(|(field, value)| (field, value)).collect()
    } else {
        Vec::new()
    }
}

/// `[[id, [field, value, ...]], ...]` as entries (an entry deleted under a pending id has nil
/// fields on Redis 6; it reads as one without payload).
fn entries(value: Value) -> Vec<RawEntry> {
    let Value::Array(items) = value else { return Vec::new() };
    items
        .into_iter()
        .filter_map(|item| {
            let Value::Array(parts) = item else { return None };
            let mut parts = parts.into_iter();
            let id = text(&parts.next()?)?;
            let payload = if let Some(Value::Array(fields)) = parts.next() {
                fields
                    .chunks_exact(2)
                    .find(|pair| text(&pair[0]).as_deref() == Some(PAYLOAD_FIELD))
                    .and_then(|pair| text(&pair[1]))
            } else {
                None
            };
            Some(RawEntry { id, payload })
        })
        .collect()
}

/// The delivery count of `XPENDING key group id id 1`'s only row.
fn delivery_count(summary: &Value) -> Option<u64> {
    let Value::Array(rows) = summary else { return None };
    let Some(Value::Array(row)) = rows.first() else { return None };
    row.get(3).and_then(number)
}

/// `XREADGROUP`'s reply for one stream: nil on timeout, else `[[key, [entry, ...]]]`.
fn first_stream_entries(reply: Value) -> Vec<RawEntry> {
    let Value::Array(mut streams) = reply else { return Vec::new() };
    if streams.is_empty() {
        return Vec::new();
    }
    let Value::Array(mut stream) = streams.swap_remove(0) else { return Vec::new() };
    if stream.len() == 2 { entries(stream.swap_remove(1)) } else { Vec::new() }
}

fn text(value: &Value) -> Option<String> {
    if let Value::BulkString(bytes) = value {
        Some(String::from_utf8_lossy(bytes).into_owned())
    } else if let Value::SimpleString(text) | Value::VerbatimString { text, .. } = value {
        Some(text.clone())
    } else {
        None
    }
}

fn number(value: &Value) -> Option<u64> {
    if let Value::Int(n) = value { u64::try_from(*n).ok() } else { text(value).and_then(|text| text.parse().ok()) }
}

/// Whole milliseconds, as Redis takes them.
fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}
