//! `CrawlLedger` on Postgres (tables from `migrations/postgres/0012_crawl_ledger.sql`).
//!
//! Concurrency rules, because many workers on many connections write one crawl's rows:
//! - Admissions and settles lock the crawl's `crawl_runs` row (`for update`), so the budget
//!   check, the dedup check and the insert of one batch see every earlier batch, and the open
//!   count a settle answers is taken after every earlier settle committed: exactly one settle
//!   sees 0. Each statement after the lock takes a fresh snapshot (read committed), which is why
//!   the lock is its own statement and not a CTE of the insert.
//! - Claims are one conditional `update` of the URL's row: a second claimer waits for the first
//!   and then re-checks the condition on the new row, so exactly one wins.
//! - The reconciler's scan takes rows with `for update skip locked` and resets their publish
//!   time, so concurrent reconcilers never answer the same row.
//!
//! Deadlock freedom: a settle writes its own URL row and then waits for the run lock, but no
//! transaction holding a run lock ever waits for an existing URL row (admissions insert only
//! URLs the crawl does not have), and claims and scans never take the run lock.

use std::collections::HashSet;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::{Postgres, Transaction};
use tracing::instrument;

use super::{PgStore, classify};
use crate::domain::defaults::MAX_QUERY_VARIANTS_PER_PATH;
use crate::ports::{
    Admitted, CrawlLedger, LedgerTally, NewRun, OfferedUrl, QueuedUrl, RunEnd, Settled, StoreError, UrlClaim,
    UrlOutcome,
};

mod sql {
    // language=PostgreSQL
    pub(super) const OPEN_RUN: &str =
        "insert into crawl_runs (job_id, max_pages) values ($1, $2) on conflict (job_id) do nothing";
    // The budget left, under the run's lock (held until the transaction ends).
    // language=PostgreSQL
    pub(super) const LOCK_RUN: &str = "select state = 'open', greatest(max_pages - admitted, 0)
         from crawl_runs where job_id = $1 for update";
    // $2..$4: the deduplicated batch (url, depth, skip reason or null) in offer order; $5: the
    // budget left. Only URLs the crawl does not have yet are inserted: skips as `skipped`, the
    // others `queued` in offer order while the budget lasts and `over_budget` after that. The
    // over-budget rows make the count exact: a URL left out once is a known URL the next time
    // a page links it, not "over budget" again. `on conflict` is a safety net: the run lock
    // already excludes races.
    // language=PostgreSQL
    pub(super) const ADMIT: &str = "
        with offered as (
            select o.url, o.depth, o.skip_reason, o.ord,
                   case when strpos(o.url, '?') > 0 then split_part(o.url, '?', 1) end as variant_of
            from unnest($2::text[], $3::int[], $4::text[]) with ordinality as o (url, depth, skip_reason, ord)
            where not exists (select 1 from crawl_urls u where u.job_id = $1 and u.url = o.url)
        ),
        -- Crawler traps: the n-th distinct query variant of a path this crawl meets (rows of any
        -- worker, then this batch in offer order), counting those followed or already refused as
        -- a trap (not those skipped for other reasons), is refused past the limit $6.
        variants as (
            select offered.*,
                   case when skip_reason is null and variant_of is not null then
                       (select count(*) from crawl_urls u
                        where u.job_id = $1 and u.variant_of = offered.variant_of
                          and (u.state <> 'skipped' or u.reason like 'crawler trap:%'))
                       + count(*) filter (where skip_reason is null) over (partition by variant_of order by ord)
                   end as variant_rank
            from offered
        ),
        screened as (
            select url, depth, ord,
                   case when variant_rank > $6
                        then format('crawler trap: more than %s query variants of %s', $6,
                                    regexp_replace(variant_of, '^[a-z][a-z0-9+.-]*://[^/]*', ''))
                        else skip_reason end as skip_reason
            from variants
        ),
        ranked as (
            select screened.*, count(*) filter (where skip_reason is null) over (order by ord) as fetch_rank
            from screened
        ),
        inserted as (
            insert into crawl_urls (job_id, url, depth, state, reason, published_at)
            select $1, url, depth,
                   case when skip_reason is not null then 'skipped'
                        when fetch_rank <= $5 then 'queued' else 'over_budget' end,
                   skip_reason,
                   case when skip_reason is null and fetch_rank <= $5 then now() end
            from ranked
            order by ord
            on conflict (job_id, url) do nothing
            returning url, depth, state
        ),
        counted as (
            update crawl_runs set
                admitted = admitted + (select count(*) from inserted where state = 'queued'),
                over_budget = over_budget + (select count(*) from inserted where state = 'over_budget')
            where job_id = $1
        ),
        queued as (
            select i.url, i.depth, r.ord from inserted i join ranked r on r.url = i.url where i.state = 'queued'
        )
        -- one row: the over-budget count, the queued URLs in offer order, and the crawl's open
        -- rows before this statement's inserts (its snapshot does not see them)
        select (select count(*) from inserted where state = 'over_budget'),
               coalesce((select array_agg(url order by ord) from queued), '{}'),
               coalesce((select array_agg(depth order by ord) from queued), '{}'),
               (select count(*) from crawl_urls where job_id = $1 and state in ('queued', 'claimed'))";
    // language=PostgreSQL
    pub(super) const CLAIM: &str = "update crawl_urls u
         set state = 'claimed', worker = $3, lease_until = now() + make_interval(secs => $4), updated_at = now()
         where u.job_id = $1 and u.url = $2
           and (u.state = 'queued' or (u.state = 'claimed' and (u.lease_until < now() or u.worker = $3)))
           and exists (select 1 from crawl_runs r where r.job_id = u.job_id and r.state = 'open')
         returning u.depth";
    // Only this worker's claim is settled.
    // language=PostgreSQL
    pub(super) const SETTLE: &str = "update crawl_urls
         set state = $4, chunks = $5, code_examples = $6, entities = $7, relations = $8, words = $9,
             graph_millis = $10, pruned = $11, reason = $12, lease_until = null, updated_at = now()
         where job_id = $1 and url = $2 and state = 'claimed' and worker = $3";
    // language=PostgreSQL
    pub(super) const OPEN_COUNT: &str =
        "select count(*) from crawl_urls where job_id = $1 and state in ('queued', 'claimed')";
    // Oldest first; `skip locked` so a concurrent reconciler passes over rows this one takes.
    // language=PostgreSQL
    pub(super) const STALE: &str = "update crawl_urls u
         set state = 'queued', worker = null, lease_until = null, published_at = now(), updated_at = now()
         from (select s.job_id, s.url
               from crawl_urls s join crawl_runs r on r.job_id = s.job_id and r.state = 'open'
               where (s.state = 'queued' and s.published_at < now() - make_interval(secs => $1))
                  or (s.state = 'claimed' and s.lease_until < now())
               order by s.seq
               limit $2
               for update of s skip locked) stale
         where u.job_id = stale.job_id and u.url = stale.url
         returning u.job_id, u.url, u.depth";
    // language=PostgreSQL
    pub(super) const TALLY: &str = "select state, count(*) as rows,
         coalesce(sum(chunks), 0)::bigint as chunks, coalesce(sum(code_examples), 0)::bigint as code_examples,
         coalesce(sum(entities), 0)::bigint as entities, coalesce(sum(relations), 0)::bigint as relations,
         coalesce(sum(words), 0)::bigint as words, coalesce(sum(graph_millis), 0)::bigint as graph_millis,
         coalesce(sum(pruned), 0)::bigint as pruned
         from crawl_urls where job_id = $1 group by state";
    // language=PostgreSQL
    pub(super) const OVER_BUDGET: &str = "select over_budget from crawl_runs where job_id = $1";
    // Up to $2 URLs of each list (settled, failures incl. gone, skips), oldest first.
    // language=PostgreSQL
    pub(super) const LISTED: &str = "select url, state, reason from (
             select url, state, reason, seq, row_number() over (
                 partition by case when state in ('stored', 'unchanged') then 0
                                   when state in ('failed', 'gone') then 1 else 2 end
                 order by seq) as n
             from crawl_urls
             where job_id = $1 and state in ('stored', 'unchanged', 'failed', 'gone', 'skipped')) listed
         where n <= $2 order by seq";
    // language=PostgreSQL
    pub(super) const CLOSE_RUN: &str =
        "update crawl_runs set state = $2, closed_at = now() where job_id = $1 and state = 'open'";
    // A run without URL rows is still being seeded by the worker that started it: not the
    // reconciler's yet (with nothing open, it would read as complete).
    // language=PostgreSQL
    pub(super) const OPEN_RUNS: &str = "select r.job_id from crawl_runs r
         where r.state = 'open' and exists (select 1 from crawl_urls u where u.job_id = r.job_id)
         order by r.created_at";
    // Oldest first and skip locked: reconcilers pruning at once split the work.
    // language=PostgreSQL
    pub(super) const PRUNE_CLOSED: &str = "delete from crawl_runs where job_id in (
         select job_id from crawl_runs
         where state <> 'open' and closed_at < now() - make_interval(secs => $1)
         order by closed_at limit $2 for update skip locked)";
    // language=PostgreSQL
    pub(super) const ROBOTS: &str = "select body from crawl_robots where job_id = $1 and origin = $2";
    // language=PostgreSQL
    pub(super) const KEEP_ROBOTS: &str = "insert into crawl_robots (job_id, origin, body) values ($1, $2, $3)
         on conflict (job_id, origin) do nothing returning body";
}

/// Per-state totals of a crawl's rows.
#[derive(sqlx::FromRow)]
struct StateTotals {
    state: String,
    rows: i64,
    chunks: i64,
    code_examples: i64,
    entities: i64,
    relations: i64,
    words: i64,
    graph_millis: i64,
    pruned: i64,
}

/// A URL row as the database stores it (state, the page's counts, the reason).
struct RowOutcome<'a> {
    state: &'static str,
    counts: [i64; 7],
    reason: Option<&'a str>,
}

impl<'a> RowOutcome<'a> {
    /// Counts in column order: chunks, code examples, entities, relations, words, graph ms, pruned.
    fn of(outcome: &'a UrlOutcome) -> Self {
        match outcome {
            UrlOutcome::Stored(c) => Self {
                state: if c.unchanged { "unchanged" } else { "stored" },
                counts: [c.chunks, c.code_examples, c.entities, c.relations, c.words, c.graph_millis, 0].map(sql_int),
                reason: None,
            },
            UrlOutcome::Skipped(reason) => Self { state: "skipped", counts: [0; 7], reason: Some(reason) },
            UrlOutcome::Failed(reason) => Self { state: "failed", counts: [0; 7], reason: Some(reason) },
            UrlOutcome::Gone { error, pruned } => {
                Self { state: "gone", counts: [0, 0, 0, 0, 0, 0, sql_int(*pruned)], reason: Some(error) }
            }
        }
    }
}

fn sql_int(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or_default()
}

fn lease_secs(lease: Duration) -> f64 {
    lease.as_secs_f64()
}

const fn end_state(end: RunEnd) -> &'static str {
    match end {
        RunEnd::Completed => "completed",
        RunEnd::Cancelled => "cancelled",
        RunEnd::Failed => "failed",
    }
}

/// Lock the run's row for the rest of `tx`; answers whether it is open and the budget left.
async fn lock_run(tx: &mut Transaction<'_, Postgres>, job_id: &str) -> Result<(bool, i64), StoreError> {
    sqlx::query_as(sql::LOCK_RUN)
        .bind(job_id)
        .fetch_optional(&mut **tx)
        .await
        .map_err(classify)?
        .ok_or_else(|| StoreError::Query(format!("crawl run '{job_id}' is not in the ledger (open_run first)")))
}

/// Admit `offers` into an open run whose row `tx` holds locked, with `budget` URLs left; also
/// answers the crawl's open rows (`queued` or `claimed`) as `tx` sees them afterwards.
async fn admit_locked(
    tx: &mut Transaction<'_, Postgres>,
    job_id: &str,
    budget: i64,
    offers: &[OfferedUrl],
) -> Result<(Admitted, u64), StoreError> {
    // First offer of a URL wins within a batch (a page may link one URL many times).
    let mut seen = HashSet::with_capacity(offers.len());
    let unique: Vec<&OfferedUrl> = offers.iter().filter(|o| seen.insert(o.url.as_str())).collect();
    if unique.is_empty() {
        return Ok((Admitted::default(), open_count(tx, job_id).await?));
    }
    let urls: Vec<&str> = unique.iter().map(|o| o.url.as_str()).collect();
    let depths: Vec<i32> = unique.iter().map(|o| i32::try_from(o.depth).unwrap_or(i32::MAX)).collect();
    let skips: Vec<Option<&str>> = unique.iter().map(|o| o.skip.as_deref()).collect();
    let (over_budget, urls, depths, open_before): (i64, Vec<String>, Vec<i32>, i64) = sqlx::query_as(sql::ADMIT)
        .bind(job_id)
        .bind(&urls)
        .bind(&depths)
        .bind(&skips)
        .bind(budget)
        .bind(i64::try_from(MAX_QUERY_VARIANTS_PER_PATH).unwrap_or(i64::MAX))
        .fetch_one(&mut **tx)
        .await
        .map_err(classify)?;
    let queued: Vec<QueuedUrl> = urls
        .into_iter()
        .zip(depths)
        .map(|(url, depth)| QueuedUrl { url, depth: u32::try_from(depth).unwrap_or_default() })
        .collect();
    let open = count(open_before) + u64::try_from(queued.len()).unwrap_or(u64::MAX);
    Ok((Admitted { queued, over_budget: count(over_budget) }, open))
}

/// The crawl's rows still `queued` or `claimed`, as `tx` sees them.
async fn open_count(tx: &mut Transaction<'_, Postgres>, job_id: &str) -> Result<u64, StoreError> {
    let open: i64 = sqlx::query_scalar(sql::OPEN_COUNT).bind(job_id).fetch_one(&mut **tx).await.map_err(classify)?;
    Ok(count(open))
}

#[async_trait]
impl CrawlLedger for PgStore {
    #[instrument(skip(self, run), fields(job_id = run.job_id, max_pages = run.max_pages))]
    async fn open_run(&self, run: NewRun<'_>) -> Result<(), StoreError> {
        sqlx::query(sql::OPEN_RUN)
            .bind(run.job_id)
            .bind(sql_int(run.max_pages))
            .execute(&self.pool)
            .await
            .map_err(classify)
            .map(|_| ())
    }

    #[instrument(skip(self, offers), fields(offers = offers.len()))]
    async fn admit(&self, job_id: &str, offers: &[OfferedUrl]) -> Result<Admitted, StoreError> {
        let mut tx = self.pool.begin().await.map_err(classify)?;
        let (open, budget) = lock_run(&mut tx, job_id).await?;
        // A closed crawl takes no new work: what it admitted would never be claimed.
        let admitted = if open { admit_locked(&mut tx, job_id, budget, offers).await?.0 } else { Admitted::default() };
        tx.commit().await.map_err(classify)?;
        Ok(admitted)
    }

    #[instrument(skip(self, url))]
    async fn claim_url(&self, job_id: &str, url: &str, worker: &str, lease: Duration) -> Result<UrlClaim, StoreError> {
        let depth: Option<i32> = sqlx::query_scalar(sql::CLAIM)
            .bind(job_id)
            .bind(url)
            .bind(worker)
            .bind(lease_secs(lease))
            .fetch_optional(&self.pool)
            .await
            .map_err(classify)?;
        Ok(match depth {
            Some(depth) => UrlClaim::Claimed { depth: u32::try_from(depth).unwrap_or_default() },
            None => UrlClaim::NotClaimable,
        })
    }

    #[instrument(skip(self, url, outcome, links), fields(links = links.len()))]
    async fn settle_url(
        &self,
        job_id: &str,
        url: &str,
        worker: &str,
        outcome: &UrlOutcome,
        links: &[OfferedUrl],
    ) -> Result<Settled, StoreError> {
        let row = RowOutcome::of(outcome);
        let [chunks, code_examples, entities, relations, words, graph_millis, pruned] = row.counts;
        let mut tx = self.pool.begin().await.map_err(classify)?;
        // The URL's row is written before the run lock is taken, to keep the lock short; this
        // order cannot deadlock: no transaction waits for a URL row while holding a run lock.
        let applied = sqlx::query(sql::SETTLE)
            .bind(job_id)
            .bind(url)
            .bind(worker)
            .bind(row.state)
            .bind(chunks)
            .bind(code_examples)
            .bind(entities)
            .bind(relations)
            .bind(words)
            .bind(graph_millis)
            .bind(pruned)
            .bind(row.reason)
            .execute(&mut *tx)
            .await
            .map_err(classify)?
            .rows_affected()
            > 0;
        let (open_run, budget) = lock_run(&mut tx, job_id).await?;
        // Counted under the run lock, after every earlier settle committed, so exactly one
        // settle sees 0. Links of a page that was not this worker's, or of a closed crawl, are
        // not admitted.
        let (admitted, open) = if applied && open_run {
            admit_locked(&mut tx, job_id, budget, links).await?
        } else {
            (Admitted::default(), open_count(&mut tx, job_id).await?)
        };
        tx.commit().await.map_err(classify)?;
        Ok(Settled { applied, admitted, open })
    }

    #[instrument(skip(self))]
    async fn stale_urls(&self, older_than: Duration, limit: usize) -> Result<Vec<(String, QueuedUrl)>, StoreError> {
        let rows: Vec<(String, String, i32)> = sqlx::query_as(sql::STALE)
            .bind(older_than.as_secs_f64())
            .bind(i64::try_from(limit).unwrap_or(i64::MAX))
            .fetch_all(&self.pool)
            .await
            .map_err(classify)?;
        Ok(rows
            .into_iter()
            .map(|(job_id, url, depth)| (job_id, QueuedUrl { url, depth: u32::try_from(depth).unwrap_or_default() }))
            .collect())
    }

    #[instrument(skip(self))]
    async fn tally(&self, job_id: &str, listed: usize) -> Result<LedgerTally, StoreError> {
        // One snapshot for the three reads, so totals and lists agree.
        let mut tx = self.pool.begin().await.map_err(classify)?;
        sqlx::query("set transaction isolation level repeatable read, read only")
            .execute(&mut *tx)
            .await
            .map_err(classify)?;
        let totals: Vec<StateTotals> =
            sqlx::query_as(sql::TALLY).bind(job_id).fetch_all(&mut *tx).await.map_err(classify)?;
        let over_budget: Option<i64> =
            sqlx::query_scalar(sql::OVER_BUDGET).bind(job_id).fetch_optional(&mut *tx).await.map_err(classify)?;
        let listed: Vec<(String, String, Option<String>)> = sqlx::query_as(sql::LISTED)
            .bind(job_id)
            .bind(i64::try_from(listed).unwrap_or(i64::MAX))
            .fetch_all(&mut *tx)
            .await
            .map_err(classify)?;
        tx.commit().await.map_err(classify)?;

        let mut tally = LedgerTally { over_budget: over_budget.map_or(0, count), ..LedgerTally::default() };
        for t in totals {
            let rows = count(t.rows);
            match t.state.as_str() {
                "queued" => tally.queued = rows,
                "claimed" => tally.claimed = rows,
                "stored" => tally.stored = rows,
                "unchanged" => tally.unchanged = rows,
                "failed" => tally.failed = rows,
                "skipped" => tally.skipped = rows,
                "gone" => tally.gone = rows,
                // `over_budget` rows are counted on the run; the check constraint admits no other.
                _ => {}
            }
            tally.chunks += count(t.chunks);
            tally.code_examples += count(t.code_examples);
            tally.entities += count(t.entities);
            tally.relations += count(t.relations);
            tally.words += count(t.words);
            tally.graph_millis += count(t.graph_millis);
            tally.pruned += count(t.pruned);
        }
        for (url, state, reason) in listed {
            match state.as_str() {
                "stored" | "unchanged" => tally.urls.push(url),
                "skipped" => tally.skips.push((url, reason.unwrap_or_default())),
                _ => tally.failures.push((url, reason.unwrap_or_default())),
            }
        }
        Ok(tally)
    }

    #[instrument(skip(self))]
    async fn close_run(&self, job_id: &str, end: RunEnd) -> Result<bool, StoreError> {
        sqlx::query(sql::CLOSE_RUN)
            .bind(job_id)
            .bind(end_state(end))
            .execute(&self.pool)
            .await
            .map_err(classify)
            .map(|done| done.rows_affected() > 0)
    }

    async fn open_runs(&self) -> Result<Vec<String>, StoreError> {
        sqlx::query_scalar(sql::OPEN_RUNS).fetch_all(&self.pool).await.map_err(classify)
    }

    #[instrument(skip(self))]
    async fn prune_closed(&self, older_than: Duration, limit: usize) -> Result<u64, StoreError> {
        sqlx::query(sql::PRUNE_CLOSED)
            .bind(older_than.as_secs_f64())
            .bind(i64::try_from(limit).unwrap_or(i64::MAX))
            .execute(&self.pool)
            .await
            .map_err(classify)
            .map(|done| done.rows_affected())
    }

    async fn robots(&self, job_id: &str, origin: &str) -> Result<Option<String>, StoreError> {
        sqlx::query_scalar(sql::ROBOTS).bind(job_id).bind(origin).fetch_optional(&self.pool).await.map_err(classify)
    }

    #[instrument(skip(self, body), fields(bytes = body.len()))]
    async fn keep_robots(&self, job_id: &str, origin: &str, body: &str) -> Result<String, StoreError> {
        let kept: Option<String> = sqlx::query_scalar(sql::KEEP_ROBOTS)
            .bind(job_id)
            .bind(origin)
            .bind(body)
            .fetch_optional(&self.pool)
            .await
            .map_err(classify)?;
        if let Some(body) = kept {
            return Ok(body);
        }
        // Another worker's row won; a separate statement (fresh snapshot) sees it committed,
        // because the conflicting insert waited for that commit.
        sqlx::query_scalar(sql::ROBOTS)
            .bind(job_id)
            .bind(origin)
            .fetch_optional(&self.pool)
            .await
            .map_err(classify)?
            .ok_or_else(|| StoreError::Query(format!("robots.txt of {origin} vanished from crawl '{job_id}'")))
    }
}
