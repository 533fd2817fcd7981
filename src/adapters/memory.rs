//! In-memory implementations of the ports, for the fast test tier (no database, no model, no
//! network): [`MemoryStore`] implements every store port and the job queue, [`HashEmbedder`]
//! gives deterministic bag-of-words vectors, [`MemoryFetcher`] serves fixed pages. They follow the
//! ports' contracts (atomic page replacement, cache semantics, job leases), not the SQL adapters'
//! internals; the real-service tier tests those.
//!
//! One std `Mutex` guards all state: no method holds it across an `.await`. Job leases use
//! tokio's clock, so paused-time tests can expire them.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tokio::time::Instant;
use url::Url;

use crate::domain::vector::cosine;
use crate::domain::{CodeHit, Hit, JobProgress, JobRecord, JobState, SourceId, SourceInfo, Validators};
use crate::ports::{
    Accept, Beat, CancelRequest, ClaimedJob, DeletedCounts, EmbedError, Embedder, EmbeddingCache, EndedJob, FetchError,
    FetchedBody, Fetcher, JobEnd, JobQueue, KeywordQuery, Lease, NewJob, PageStore, PageWrite, SearchIndex,
    SourceCatalog, StoreAdmin, StoreError, TextCache, VectorQuery,
};

#[derive(Debug, Clone)]
struct StoredPage {
    source: String,
    content_hash: String,
    words: usize,
    validators: Validators,
}

#[derive(Debug, Clone)]
struct StoredChunk {
    url: String,
    source: String,
    index: usize,
    content: String,
    metadata: serde_json::Value,
    embedding: Vec<f32>,
}

#[derive(Debug, Clone)]
struct StoredCode {
    url: String,
    source: String,
    code: String,
    summary: String,
    metadata: serde_json::Value,
    embedding: Vec<f32>,
}

#[derive(Debug, Clone)]
struct StoredSource {
    summary: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
struct StoredJob {
    record: JobRecord,
    spec: serde_json::Value,
    worker: Option<String>,
    lease_until: Option<Instant>,
    owner: Option<String>,
}

impl StoredJob {
    fn ended(&self) -> EndedJob {
        EndedJob {
            job_id: self.record.job_id.clone(),
            tool: self.record.tool.clone(),
            target: self.record.target.clone(),
            spec: self.spec.clone(),
        }
    }
}

#[derive(Debug, Default)]
struct State {
    embedding_space: Option<(String, usize)>,
    pages: BTreeMap<String, StoredPage>,
    chunks: Vec<StoredChunk>,
    code: Vec<StoredCode>,
    sources: BTreeMap<String, StoredSource>,
    embeddings: HashMap<(String, String), Vec<f32>>,
    texts: HashMap<(String, String), String>,
    /// Jobs in submission order (the queue's FIFO order).
    jobs: Vec<StoredJob>,
    /// Webhook attempts in the order they were made.
    webhook_attempts: Vec<crate::ports::WebhookAttempt>,
    api_keys: Vec<crate::ports::ApiKeyRecord>,
}

/// Every store port and the job queue, in memory.
#[derive(Debug, Default)]
pub struct MemoryStore {
    state: Mutex<State>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Rows stored: (pages, chunks), for tests.
    pub fn counts(&self) -> (usize, usize) {
        let state = self.state();
        (state.pages.len(), state.chunks.len())
    }
}

impl State {
    fn delete_where(&mut self, keep: impl Fn(&str, &str) -> bool) -> DeletedCounts {
        let (pages, chunks, code) = (self.pages.len(), self.chunks.len(), self.code.len());
        self.pages.retain(|url, p| keep(url, &p.source));
        self.chunks.retain(|c| keep(&c.url, &c.source));
        self.code.retain(|c| keep(&c.url, &c.source));
        let count = |before: usize, after: usize| (before - after) as u64;
        DeletedCounts {
            sources: 0,
            pages: count(pages, self.pages.len()),
            chunks: count(chunks, self.chunks.len()),
            code_examples: count(code, self.code.len()),
        }
    }

    fn job(&mut self, job_id: &str) -> Option<&mut StoredJob> {
        self.jobs.iter_mut().find(|j| j.record.job_id == job_id)
    }
}

#[async_trait]
impl StoreAdmin for MemoryStore {
    async fn ensure_embedding_space(&self, model: &str, dimensions: usize) -> Result<(), StoreError> {
        let mut state = self.state();
        match &state.embedding_space {
            Some((m, d)) if m == model && *d == dimensions => Ok(()),
            Some((m, d)) => Err(StoreError::EmbeddingMismatch {
                stored_model: m.clone(),
                stored_dim: *d,
                model: model.to_owned(),
                dim: dimensions,
            }),
            None => {
                state.embedding_space = Some((model.to_owned(), dimensions));
                Ok(())
            }
        }
    }

    async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }

    async fn pending_migrations(&self) -> Result<usize, StoreError> {
        Ok(0)
    }
}

#[async_trait]
impl PageStore for MemoryStore {
    async fn replace_page(&self, write: PageWrite<'_>) -> Result<(), StoreError> {
        let page = write.page;
        let (url, source) = (page.url.to_string(), page.source_id.to_string());
        let now = Utc::now();
        let crawled_at = now.to_rfc3339();
        let mut state = self.state();
        state.delete_where(|u, _| u != url);
        let chunks = write.chunks.iter().zip(write.embeddings).map(|(chunk, embedding)| StoredChunk {
            url: url.clone(),
            source: source.clone(),
            index: chunk.index,
            content: chunk.content.clone(),
            metadata: chunk.metadata(page, write.content_hash, &crawled_at),
            embedding: embedding.clone(),
        });
        state.chunks.extend(chunks);
        let code = write.code_examples.iter().zip(write.code_embeddings).map(|(example, embedding)| StoredCode {
            url: url.clone(),
            source: source.clone(),
            code: example.code.clone(),
            summary: example.summary.clone(),
            metadata: example.metadata(&url, &source),
            embedding: embedding.clone(),
        });
        state.code.extend(code);
        let stored = StoredPage {
            source: source.clone(),
            content_hash: write.content_hash.to_owned(),
            words: page.word_count(),
            validators: page.validators.clone(),
        };
        state.pages.insert(url, stored);
        let entry = state.sources.entry(source).or_insert_with(|| StoredSource {
            summary: write.source_summary.to_owned(),
            created_at: now,
            updated_at: now,
        });
        entry.updated_at = now;
        Ok(())
    }

    async fn page_hash(&self, url: &str) -> Result<Option<String>, StoreError> {
        Ok(self.state().pages.get(url).map(|p| p.content_hash.clone()))
    }

    async fn page_validators(&self, url: &str) -> Result<Option<Validators>, StoreError> {
        Ok(self.state().pages.get(url).map(|p| p.validators.clone()))
    }

    async fn delete_page(&self, url: &str) -> Result<DeletedCounts, StoreError> {
        Ok(self.state().delete_where(|u, _| u != url))
    }
}

#[async_trait]
impl EmbeddingCache for MemoryStore {
    async fn cached_embeddings(&self, model: &str, hashes: &[String]) -> Result<HashMap<String, Vec<f32>>, StoreError> {
        let state = self.state();
        let found = hashes
            .iter()
            .filter_map(|h| state.embeddings.get(&(model.to_owned(), h.clone())).map(|v| (h.clone(), v.clone())));
        Ok(found.collect())
    }

    async fn cache_embeddings(&self, model: &str, entries: &[(String, Vec<f32>)]) -> Result<(), StoreError> {
        let mut state = self.state();
        for (hash, vector) in entries {
            state.embeddings.entry((model.to_owned(), hash.clone())).or_insert_with(|| vector.clone());
        }
        Ok(())
    }
}

#[async_trait]
impl TextCache for MemoryStore {
    async fn cached_texts(&self, kind: &str, keys: &[String]) -> Result<HashMap<String, String>, StoreError> {
        let state = self.state();
        let found =
            keys.iter().filter_map(|k| state.texts.get(&(kind.to_owned(), k.clone())).map(|v| (k.clone(), v.clone())));
        Ok(found.collect())
    }

    async fn cache_texts(&self, kind: &str, entries: &[(String, String)]) -> Result<(), StoreError> {
        let mut state = self.state();
        for (key, value) in entries {
            state.texts.entry((kind.to_owned(), key.clone())).or_insert_with(|| value.clone());
        }
        Ok(())
    }
}

fn in_source(source: Option<&SourceId>, candidate: &str) -> bool {
    source.is_none_or(|s| s.as_str() == candidate)
}

fn hit(chunk: &StoredChunk, similarity: Option<f64>, keyword_rank: Option<usize>) -> Hit {
    Hit {
        url: chunk.url.clone(),
        chunk_index: i32::try_from(chunk.index).unwrap_or(i32::MAX),
        content: chunk.content.clone(),
        metadata: chunk.metadata.clone(),
        source_id: SourceId::from(chunk.source.clone()),
        similarity,
        keyword_rank,
        rrf_score: None,
        rerank_score: None,
    }
}

#[async_trait]
impl SearchIndex for MemoryStore {
    async fn search_vector(&self, query: VectorQuery<'_>) -> Result<Vec<Hit>, StoreError> {
        let state = self.state();
        let mut scored: Vec<(f32, &StoredChunk)> = state
            .chunks
            .iter()
            .filter(|c| in_source(query.source, &c.source))
            .map(|c| (cosine(query.embedding, &c.embedding), c))
            .collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0));
        let hits = scored.into_iter().skip(query.offset).take(query.limit);
        Ok(hits.map(|(score, c)| hit(c, Some(f64::from(score)), None)).collect())
    }

    async fn search_code(&self, query: VectorQuery<'_>) -> Result<Vec<CodeHit>, StoreError> {
        let state = self.state();
        let mut scored: Vec<(f32, &StoredCode)> = state
            .code
            .iter()
            .filter(|c| in_source(query.source, &c.source))
            .map(|c| (cosine(query.embedding, &c.embedding), c))
            .collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0));
        let hits = scored.into_iter().skip(query.offset).take(query.limit).map(|(score, c)| CodeHit {
            url: c.url.clone(),
            code: c.code.clone(),
            summary: c.summary.clone(),
            metadata: c.metadata.clone(),
            source_id: SourceId::from(c.source.clone()),
            similarity: f64::from(score),
            rerank_score: None,
        });
        Ok(hits.collect())
    }

    async fn search_keyword(&self, query: KeywordQuery<'_>) -> Result<Vec<Hit>, StoreError> {
        let words = words(query.text);
        let state = self.state();
        let mut scored: Vec<(usize, &StoredChunk)> = state
            .chunks
            .iter()
            .filter(|c| in_source(query.source, &c.source))
            .map(|c| {
                let text = c.content.to_lowercase();
                (words.iter().filter(|w| text.contains(w.as_str())).count(), c)
            })
            .filter(|(matches, _)| *matches > 0)
            .collect();
        scored.sort_by_key(|(matches, _)| std::cmp::Reverse(*matches));
        let hits = scored.into_iter().take(query.limit).enumerate();
        Ok(hits.map(|(rank, (_, c))| hit(c, None, Some(rank + 1))).collect())
    }

    async fn chunks_at(&self, keys: &[(String, i32)]) -> Result<Vec<Hit>, StoreError> {
        let state = self.state();
        Ok(state
            .chunks
            .iter()
            .filter(|c| keys.iter().any(|(url, n)| *url == c.url && i32::try_from(c.index).ok() == Some(*n)))
            .map(|c| hit(c, None, None))
            .collect())
    }
}

#[async_trait]
impl SourceCatalog for MemoryStore {
    async fn list_sources(&self) -> Result<Vec<SourceInfo>, StoreError> {
        let state = self.state();
        let count = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
        let sources = state.sources.iter().map(|(id, s)| {
            let pages = state.pages.values().filter(|p| &p.source == id);
            SourceInfo {
                source_id: SourceId::from(id.clone()),
                summary: Some(s.summary.clone()),
                total_words: count(pages.clone().map(|p| p.words).sum()),
                pages: count(pages.count()),
                chunks: count(state.chunks.iter().filter(|c| &c.source == id).count()),
                code_examples: count(state.code.iter().filter(|c| &c.source == id).count()),
                created_at: s.created_at,
                updated_at: s.updated_at,
            }
        });
        Ok(sources.collect())
    }

    async fn delete_source(&self, source: &SourceId) -> Result<DeletedCounts, StoreError> {
        let mut state = self.state();
        let mut counts = state.delete_where(|_, s| s != source.as_str());
        counts.sources = u64::from(state.sources.remove(source.as_str()).is_some());
        Ok(counts)
    }
}

#[async_trait]
impl crate::ports::WebhookLog for MemoryStore {
    async fn record_attempt(&self, attempt: &crate::ports::WebhookAttempt) -> Result<(), StoreError> {
        let mut attempt = attempt.clone();
        attempt.attempted_at = Utc::now();
        self.state().webhook_attempts.push(attempt);
        Ok(())
    }

    async fn webhook_attempts(&self, job_id: &str) -> Result<Vec<crate::ports::WebhookAttempt>, StoreError> {
        Ok(self.state().webhook_attempts.iter().filter(|a| a.job_id == job_id).cloned().collect())
    }
}

#[async_trait]
impl crate::ports::ApiKeys for MemoryStore {
    async fn create_key(&self, key: &crate::ports::ApiKeyRecord) -> Result<(), StoreError> {
        let mut key = key.clone();
        key.created_at = Utc::now();
        self.state().api_keys.push(key);
        Ok(())
    }

    async fn list_keys(&self) -> Result<Vec<crate::ports::ApiKeyRecord>, StoreError> {
        Ok(self.state().api_keys.iter().rev().cloned().collect())
    }

    async fn revoke_key(&self, id_or_prefix: &str) -> Result<Vec<String>, StoreError> {
        let mut state = self.state();
        let now = Utc::now();
        Ok(state
            .api_keys
            .iter_mut()
            .filter(|k| (k.id == id_or_prefix || k.prefix == id_or_prefix) && k.revoked_at.is_none())
            .map(|k| {
                k.revoked_at = Some(now);
                k.id.clone()
            })
            .collect())
    }

    async fn find_key(&self, hash: &str) -> Result<Option<crate::ports::ApiKeyRecord>, StoreError> {
        Ok(self.state().api_keys.iter().find(|k| k.hash == hash).cloned())
    }

    async fn touch_key(&self, id: &str) -> Result<(), StoreError> {
        if let Some(key) = self.state().api_keys.iter_mut().find(|k| k.id == id) {
            key.last_used_at = Some(Utc::now());
        }
        Ok(())
    }

    async fn any_active_key(&self) -> Result<bool, StoreError> {
        Ok(self.state().api_keys.iter().any(|k| k.revoked_at.is_none()))
    }
}

#[async_trait]
impl JobQueue for MemoryStore {
    async fn enqueue(&self, job: NewJob<'_>) -> Result<(), StoreError> {
        let now = Utc::now();
        let record = JobRecord {
            job_id: job.job_id.to_owned(),
            tool: job.tool.to_owned(),
            target: job.target.to_owned(),
            state: if job.claim.is_some() { JobState::Running } else { JobState::Queued },
            progress: JobProgress::default(),
            error: None,
            result: None,
            cancel_requested: false,
            created_at: now,
            updated_at: now,
        };
        let stored = StoredJob {
            record,
            spec: job.spec.clone(),
            worker: job.claim.map(|lease| lease.worker.to_owned()),
            lease_until: job.claim.map(|lease| Instant::now() + lease.duration),
            owner: job.owner.map(str::to_owned),
        };
        self.state().jobs.push(stored);
        Ok(())
    }

    async fn claim(&self, lease: Lease<'_>) -> Result<Option<ClaimedJob>, StoreError> {
        let mut state = self.state();
        let Some(job) = state.jobs.iter_mut().find(|j| j.record.state == JobState::Queued) else { return Ok(None) };
        job.record.state = JobState::Running;
        job.record.updated_at = Utc::now();
        job.worker = Some(lease.worker.to_owned());
        job.lease_until = Some(Instant::now() + lease.duration);
        Ok(Some(ClaimedJob {
            job_id: job.record.job_id.clone(),
            tool: job.record.tool.clone(),
            spec: job.spec.clone(),
        }))
    }

    async fn heartbeat(&self, job_id: &str, lease: Lease<'_>, progress: &JobProgress) -> Result<Beat, StoreError> {
        let mut state = self.state();
        let Some(job) = state
            .job(job_id)
            .filter(|j| j.record.state == JobState::Running && j.worker.as_deref() == Some(lease.worker))
        else {
            return Ok(Beat { cancel_requested: false, lease_lost: true });
        };
        job.record.progress = *progress;
        job.record.updated_at = Utc::now();
        job.lease_until = Some(Instant::now() + lease.duration);
        Ok(Beat { cancel_requested: job.record.cancel_requested, lease_lost: false })
    }

    async fn finish(&self, job_id: &str, end: JobEnd<'_>) -> Result<bool, StoreError> {
        let mut state = self.state();
        let Some(job) = state.job(job_id).filter(|j| !j.record.state.is_finished()) else { return Ok(false) };
        job.record.state = end.state;
        job.record.progress = *end.progress;
        job.record.error = end.error.map(str::to_owned);
        job.record.result = end.result.cloned();
        job.record.updated_at = Utc::now();
        job.lease_until = None;
        Ok(true)
    }

    async fn request_cancel(&self, job_id: &str) -> Result<CancelRequest, StoreError> {
        let mut state = self.state();
        let Some(job) = state.job(job_id).filter(|j| !j.record.state.is_finished()) else {
            return Ok(CancelRequest::NotFound);
        };
        job.record.cancel_requested = true;
        if job.record.state != JobState::Queued {
            return Ok(CancelRequest::Flagged);
        }
        job.record.state = JobState::Cancelled;
        job.record.error = Some("cancelled before it started".to_owned());
        job.record.updated_at = Utc::now();
        Ok(CancelRequest::Cancelled(job.ended()))
    }

    async fn hand_over(&self, job_id: &str, from_worker: &str, to: Lease<'_>) -> Result<bool, StoreError> {
        let mut state = self.state();
        let Some(job) = state
            .job(job_id)
            .filter(|j| j.record.state == JobState::Running && j.worker.as_deref() == Some(from_worker))
        else {
            return Ok(false);
        };
        job.worker = Some(to.worker.to_owned());
        job.lease_until = Some(Instant::now() + to.duration);
        job.record.updated_at = Utc::now();
        Ok(true)
    }

    async fn reclaim_expired(&self) -> Result<Vec<EndedJob>, StoreError> {
        let now = Instant::now();
        let mut state = self.state();
        let mut reclaimed = Vec::new();
        for job in &mut state.jobs {
            if job.record.state == JobState::Running && job.lease_until.is_some_and(|until| until < now) {
                job.record.state = JobState::Interrupted;
                job.record.error = Some(super::sql_body::job_queue::EXPIRED_ERROR.to_owned());
                job.lease_until = None;
                reclaimed.push(job.ended());
            }
        }
        Ok(reclaimed)
    }

    async fn get(&self, job_id: &str) -> Result<Option<JobRecord>, StoreError> {
        Ok(self.state().job(job_id).map(|j| j.record.clone()))
    }

    async fn spec(&self, job_id: &str) -> Result<Option<serde_json::Value>, StoreError> {
        Ok(self.state().job(job_id).map(|j| j.spec.clone()))
    }

    async fn list(&self, limit: usize) -> Result<Vec<JobRecord>, StoreError> {
        Ok(self.state().jobs.iter().rev().take(limit).map(|j| j.record.clone()).collect())
    }

    async fn active_jobs_of(&self, owner: &str) -> Result<u64, StoreError> {
        let state = self.state();
        let active = state.jobs.iter().filter(|j| j.owner.as_deref() == Some(owner) && !j.record.state.is_finished());
        Ok(active.count() as u64)
    }
}

/// Lowercase alphanumeric words of `text`.
fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_lowercase).collect()
}

/// Deterministic embeddings: each word hashed into one of `dimensions` buckets, normalised, so
/// texts sharing words are close. Ranks by word overlap; it knows no meaning.
#[derive(Debug, Clone)]
pub struct HashEmbedder {
    dimensions: usize,
}

impl HashEmbedder {
    pub fn new(dimensions: usize) -> Self {
        Self { dimensions: dimensions.max(1) }
    }

    fn vector(&self, text: &str) -> Vec<f32> {
        let mut vector = vec![0.0f32; self.dimensions];
        for word in words(text) {
            // FNV-1a: stable across runs and platforms.
            let hash =
                word.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
            let bucket = usize::try_from(hash % self.dimensions as u64).unwrap_or_default();
            vector[bucket] += 1.0;
        }
        let norm = vector.iter().map(|x| x * x).sum::<f32>().sqrt();
        if norm > 0.0 {
            vector.iter_mut().for_each(|x| *x /= norm);
        }
        vector
    }
}

#[async_trait]
impl Embedder for HashEmbedder {
    fn model_id(&self) -> &str {
        "test:hashed-words"
    }

    fn dimensions(&self) -> usize {
        self.dimensions
    }

    fn preferred_chunk_chars(&self) -> usize {
        1000
    }

    async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
        Ok(texts.iter().map(|t| self.vector(t)).collect())
    }
}

/// Serves fixed bodies by URL, each after an optional delay (tokio's clock).
#[derive(Debug, Default)]
pub struct MemoryFetcher {
    pages: HashMap<String, (String, String)>,
    delay: Duration,
}

impl MemoryFetcher {
    pub fn new() -> Self {
        Self::default()
    }

    /// Serve `body` with `content_type` at `url`.
    #[must_use]
    pub fn with_page(mut self, url: &str, content_type: &str, body: &str) -> Self {
        self.pages.insert(url.to_owned(), (content_type.to_owned(), body.to_owned()));
        self
    }

    /// Wait this long before answering each fetch.
    #[must_use]
    pub fn with_delay(self, delay: Duration) -> Self {
        Self { delay, ..self }
    }
}

#[async_trait]
impl Fetcher for MemoryFetcher {
    async fn fetch(&self, url: &Url, accept: Accept) -> Result<FetchedBody, FetchError> {
        tokio::time::sleep(self.delay).await;
        let Some((content_type, body)) = self.pages.get(url.as_str()) else {
            return Err(FetchError::Status { url: url.to_string(), status: 404, retry_after: None });
        };
        Ok(FetchedBody {
            final_url: url.clone(),
            content_type: content_type.clone(),
            text: body.clone(),
            bytes: if accept == Accept::Raw { body.as_bytes().to_vec() } else { Vec::new() },
            validators: Validators::default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashed_embeddings_rank_by_shared_words() {
        let e = HashEmbedder::new(64);
        let v =
            e.embed(&["tokio runtime".into(), "tokio runtime threads".into(), "pasta recipe".into()]).await.unwrap();
        assert!(cosine(&v[0], &v[1]) > cosine(&v[0], &v[2]));
        assert!((cosine(&v[0], &v[0]) - 1.0).abs() < 1e-5);
    }

    #[tokio::test]
    async fn hand_over_moves_only_the_giving_workers_running_job() {
        let store = MemoryStore::default();
        let lease = |worker| Lease { worker, duration: std::time::Duration::from_secs(30) };
        let spec = serde_json::json!({});
        let job = NewJob {
            job_id: "j1",
            tool: "smart_crawl_url",
            target: "t",
            spec: &spec,
            claim: Some(lease("w1")),
            owner: None,
        };
        store.enqueue(job).await.unwrap();
        assert!(!store.hand_over("j1", "w2", lease("shared")).await.unwrap(), "not w2's job");
        assert!(store.hand_over("j1", "w1", lease("shared")).await.unwrap());
        let progress = JobProgress::default();
        assert!(store.heartbeat("j1", lease("w1"), &progress).await.unwrap().lease_lost);
        assert!(!store.heartbeat("j1", lease("shared"), &progress).await.unwrap().lease_lost);
        let end = JobEnd { state: JobState::Succeeded, progress: &progress, error: None, result: None };
        assert!(store.finish("j1", end).await.unwrap());
        assert!(!store.hand_over("j1", "shared", lease("w3")).await.unwrap(), "an ended job stays ended");
    }
}
