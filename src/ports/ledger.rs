//! The durable URL ledger of a distributed crawl: one row per crawl and normalised URL is the
//! frontier, the dedup set and the record of what happened to each page, so any worker can take
//! any page, `max_pages`, progress and completion are counted in one place, and work the queue
//! engine lost can be found again. The database is the truth; the broker only carries news.

use std::time::Duration;

use async_trait::async_trait;

use super::StoreError;

/// A crawl as the ledger knows it.
#[derive(Debug, Clone, Copy)]
pub struct NewRun<'a> {
    pub job_id: &'a str,
    /// Most URLs admitted to be fetched (skipped ones do not count).
    pub max_pages: u64,
}

/// A URL offered to the frontier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfferedUrl {
    /// Normalised (the dedup key).
    pub url: String,
    /// Link levels from the start page (0 = the start page).
    pub depth: u32,
    /// `Some(reason)`: recorded as skipped (robots, pattern) and never fetched.
    pub skip: Option<String>,
}

/// A URL admitted for fetching (a ledger row in state `queued`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedUrl {
    pub url: String,
    pub depth: u32,
}

/// What [`CrawlLedger::admit`] did with a batch of offers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Admitted {
    /// New rows in state `queued`: publish these (and only these).
    pub queued: Vec<QueuedUrl>,
    /// URLs left out because the crawl already admitted `max_pages`.
    pub over_budget: u64,
}

/// How one page ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UrlOutcome {
    /// Stored (or, with `unchanged`, confirmed identical to what was stored).
    Stored(PageCounts),
    /// Not fetched on purpose (robots.txt, an empty page...).
    Skipped(String),
    /// Fetched and failed.
    Failed(String),
    /// 404/410: the page is gone (and was pruned from the store).
    Gone { error: String, pruned: u64 },
}

/// What storing one page wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PageCounts {
    pub unchanged: bool,
    pub chunks: u64,
    pub code_examples: u64,
    pub entities: u64,
    pub relations: u64,
    pub words: u64,
    pub graph_millis: u64,
}

/// What settling a page changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settled {
    /// False when the row was not this worker's claim any more (another worker settled it):
    /// nothing was written.
    pub applied: bool,
    /// The page's links newly admitted (publish these).
    pub admitted: Admitted,
    /// Rows still `queued` or `claimed` after this settle (0: the crawl is complete).
    pub open: u64,
}

/// Whether a worker may work on a URL now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UrlClaim {
    /// It is this worker's until `lease` runs out (depth as recorded).
    Claimed { depth: u32 },
    /// Already settled, or claimed by a live worker, or its crawl is closed: acknowledge and drop.
    NotClaimable,
}

/// Totals of a crawl, from its rows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LedgerTally {
    pub queued: u64,
    pub claimed: u64,
    pub stored: u64,
    pub unchanged: u64,
    pub failed: u64,
    pub skipped: u64,
    pub gone: u64,
    pub pruned: u64,
    pub over_budget: u64,
    pub chunks: u64,
    pub code_examples: u64,
    pub entities: u64,
    pub relations: u64,
    pub words: u64,
    pub graph_millis: u64,
    /// Up to `listed` of each, oldest first: settled URLs (stored or unchanged), failures and
    /// skips with their reasons (gone pages are failures).
    pub urls: Vec<String>,
    pub failures: Vec<(String, String)>,
    pub skips: Vec<(String, String)>,
}

/// How a run ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunEnd {
    Completed,
    Cancelled,
    Failed,
}

#[async_trait]
pub trait CrawlLedger: Send + Sync + std::fmt::Debug {
    /// Record a crawl (idempotent: opening an open run changes nothing).
    ///
    /// # Errors
    /// [`StoreError`] on database failure.
    async fn open_run(&self, run: NewRun<'_>) -> Result<(), StoreError>;

    /// Offer URLs in one transaction: new ones become `queued` while the budget lasts (or
    /// `skipped` with their reason); URLs the crawl already has are left alone. A crawler trap
    /// is refused here, for the whole crawl: past `MAX_QUERY_VARIANTS_PER_PATH` distinct query
    /// variants of one path, further ones are `skipped` as a trap.
    ///
    /// # Errors
    /// [`StoreError`] on database failure; nothing is admitted then.
    async fn admit(&self, job_id: &str, offers: &[OfferedUrl]) -> Result<Admitted, StoreError>;

    /// Claim a `queued` URL (or one whose claim expired) for `worker` for `lease`, if its run is
    /// still open. Claiming a URL `worker` already holds extends the claim (its heartbeat while a
    /// slow page is worked on).
    ///
    /// # Errors
    /// [`StoreError`] on database failure.
    async fn claim_url(&self, job_id: &str, url: &str, worker: &str, lease: Duration) -> Result<UrlClaim, StoreError>;

    /// Record how a page this worker claimed ended, and admit its links, in one transaction.
    ///
    /// # Errors
    /// [`StoreError`] on database failure; nothing is written then.
    async fn settle_url(
        &self,
        job_id: &str,
        url: &str,
        worker: &str,
        outcome: &UrlOutcome,
        links: &[OfferedUrl],
    ) -> Result<Settled, StoreError>;

    /// URLs of open runs that no broker entry is known to carry any more: `queued` rows last
    /// published before `older_than` ago, and `claimed` rows whose lease ran out. Their publish
    /// time is reset (so concurrent reconcilers do not both take them) and they are answered
    /// with their job ids, up to `limit`.
    ///
    /// # Errors
    /// [`StoreError`] on database failure.
    async fn stale_urls(&self, older_than: Duration, limit: usize) -> Result<Vec<(String, QueuedUrl)>, StoreError>;

    /// The crawl's totals, listing up to `listed` URLs of each kind.
    ///
    /// # Errors
    /// [`StoreError`] on database failure.
    async fn tally(&self, job_id: &str, listed: usize) -> Result<LedgerTally, StoreError>;

    /// Close an open run; answers whether this call closed it (exactly one caller does).
    ///
    /// # Errors
    /// [`StoreError`] on database failure.
    async fn close_run(&self, job_id: &str, end: RunEnd) -> Result<bool, StoreError>;

    /// Job ids of open runs that were seeded (hold at least one URL): the reconciler's list. A
    /// run still being seeded is left to the worker starting it.
    ///
    /// # Errors
    /// [`StoreError`] on database failure.
    async fn open_runs(&self) -> Result<Vec<String>, StoreError>;

    /// Forget up to `limit` crawls closed more than `older_than` ago, with their URLs and
    /// robots.txt (their jobs keep the reports); answers how many were forgotten.
    ///
    /// # Errors
    /// [`StoreError`] on database failure.
    async fn prune_closed(&self, older_than: Duration, limit: usize) -> Result<u64, StoreError>;

    /// robots.txt of `origin` as first fetched for this crawl, if any worker fetched it.
    ///
    /// # Errors
    /// [`StoreError`] on database failure.
    async fn robots(&self, job_id: &str, origin: &str) -> Result<Option<String>, StoreError>;

    /// Keep robots.txt of `origin` for this crawl; the first writer wins, and the kept text is
    /// answered (so every worker follows the same rules).
    ///
    /// # Errors
    /// [`StoreError`] on database failure.
    async fn keep_robots(&self, job_id: &str, origin: &str, body: &str) -> Result<String, StoreError>;
}
