//! The ingest pipeline: a page's Markdown -> chunks (optionally situated by a chat model) ->
//! embeddings (in batches) -> one atomic write, and, when graph extraction is on, the page's
//! entities and relations -> the graph. Implements the crawler's `PageSink`; knows only the
//! `Embedder`, `PageStore`, `EmbeddingCache`, `TextCache`, `ChatModel` and `GraphStore` ports.

pub mod enrich;
pub mod graph;

use std::sync::Arc;

use async_trait::async_trait;
use sha2::{Digest, Sha256};
use tracing::instrument;

use crate::crawl::PageSink;
pub use crate::domain::IngestReport;
use crate::domain::code_example::{DEFAULT_MIN_CODE_CHARS, extract_code_examples};
use crate::domain::{CodeExample, GraphExtraction, IngestOptions, Page, split_markdown, summary};
use crate::error::{Error, Result};
use crate::ports::{
    ChatModel, Embedder, EmbeddingCache, EntityFacts, GraphStore, PageGraph, PageStore, PageWrite, TextCache,
};
use crate::progress::ProgressSink;
use enrich::Enricher;

/// Default number of chunks sent to the embedder at once (16 is the measured best throughput for
/// candle BERT on 2 cores; `cargo bench --bench slice` compares 1, 16 and 64; OpenAI-compatible
/// providers accept far more).
pub const DEFAULT_EMBED_BATCH_SIZE: usize = 16;
/// Largest chunk size a caller may ask for, in characters.
pub const MAX_CHUNK_SIZE: usize = 100_000;

#[derive(Debug, Clone)]
pub struct IngestConfig {
    pub embed_batch_size: usize,
    /// Extract, summarise and embed code examples (the anchor's `USE_AGENTIC_RAG`).
    pub extract_code_examples: bool,
    pub min_code_chars: usize,
    /// Situate each chunk with the chat model before embedding (`USE_CONTEXTUAL_EMBEDDINGS`).
    pub contextual_embeddings: bool,
    /// Extract every stored page into the graph unless a crawl says otherwise (`USE_GRAPHRAG`).
    pub graph_by_default: bool,
    /// Have the chat model (when there is one) read each chunk's entities and typed relations
    /// too (`CRAWLRAG_GRAPH_EXTRACTOR=auto`); off: structural extraction only.
    pub model_graph_extraction: bool,
}

impl Default for IngestConfig {
    fn default() -> Self {
        Self {
            embed_batch_size: DEFAULT_EMBED_BATCH_SIZE,
            extract_code_examples: false,
            min_code_chars: DEFAULT_MIN_CODE_CHARS,
            contextual_embeddings: false,
            graph_by_default: false,
            model_graph_extraction: true,
        }
    }
}

#[derive(Debug)]
pub struct Pipeline {
    embedder: Arc<dyn Embedder>,
    pages: Arc<dyn PageStore>,
    embeddings: Arc<dyn EmbeddingCache>,
    enricher: Option<Enricher>,
    graph: Option<Arc<dyn GraphStore>>,
    config: IngestConfig,
}

impl Pipeline {
    pub fn new(
        embedder: Arc<dyn Embedder>,
        pages: Arc<dyn PageStore>,
        embeddings: Arc<dyn EmbeddingCache>,
        config: IngestConfig,
    ) -> Self {
        Self { embedder, pages, embeddings, enricher: None, graph: None, config }
    }

    /// Use `chat` for summaries (and contexts, when configured), its answers cached in `cache`.
    #[must_use]
    pub fn with_chat(self, chat: Option<Arc<dyn ChatModel>>, cache: Arc<dyn TextCache>) -> Self {
        Self { enricher: chat.map(|chat| Enricher::new(chat, cache)), ..self }
    }

    /// Write pages' entities and relations to `graph` (when extraction is asked or configured).
    #[must_use]
    pub fn with_graph(self, graph: Option<Arc<dyn GraphStore>>) -> Self {
        Self { graph, ..self }
    }

    /// The graph extraction a page gets: the crawl's, else the configured default; `None`
    /// without a graph store.
    fn graph_extraction(&self, options: &IngestOptions) -> Option<GraphExtraction> {
        self.graph.as_ref()?;
        options.graph.or(self.config.graph_by_default.then_some(GraphExtraction::ALL))
    }

    /// The chunk size used when a caller gives none: what fits the embedder's window, so no text
    /// falls out of an embedding.
    pub fn default_chunk_size(&self) -> usize {
        self.embedder.preferred_chunk_chars()
    }

    /// The chunk size to use: the caller's, or the embedder's default; out of range is `BadInput`.
    fn checked_chunk_size(&self, chunk_size: Option<usize>) -> Result<usize> {
        let chunk_size = chunk_size.unwrap_or_else(|| self.default_chunk_size());
        if !(64..=MAX_CHUNK_SIZE).contains(&chunk_size) {
            return Err(Error::bad_input(format!(
                "chunk_size must be between 64 and {MAX_CHUNK_SIZE} characters, got {chunk_size}"
            )));
        }
        Ok(chunk_size)
    }

    /// Chunk, embed and store `page`, replacing any chunks stored earlier for its URL.
    ///
    /// # Errors
    /// `BadInput` for an empty page or an out-of-range chunk size; `Unavailable` when the
    /// embedder or the database fails (nothing is written then).
    #[instrument(skip_all, fields(url = %page.url))]
    pub async fn ingest_page(
        &self,
        page: &Page,
        options: &IngestOptions,
        progress: &dyn ProgressSink,
    ) -> Result<IngestReport> {
        let explicit_chunk_size = options.chunk_size;
        let chunk_size = self.checked_chunk_size(options.chunk_size)?;
        let extraction = self.graph_extraction(options);
        if page.markdown.trim().is_empty() {
            return Err(Error::bad_input(format!("no text content could be extracted from {}", page.url)));
        }
        let content_hash = hex_sha256(&page.markdown);
        // Incremental re-crawl: identical content (and no explicit re-chunking) costs no embedding.
        if explicit_chunk_size.is_none()
            && self.pages.page_hash(page.url.as_str()).await?.as_deref() == Some(&content_hash)
            && self.graph_is_current(page, extraction, &content_hash).await?
        {
            return Ok(IngestReport {
                unchanged: true,
                content_length: page.markdown.chars().count(),
                word_count: page.word_count(),
                ..IngestReport::default()
            });
        }
        let markdown = page.markdown.clone();
        let (extract_code, min_code_chars) = (self.config.extract_code_examples, self.config.min_code_chars);
        // Not through `cpu::run`: the crawl's fetch futures may hold every CPU slot while they
        // wait for this very ingest step to drain the channel (a deadlock).
        let (mut chunks, mut code_examples) = tokio::task::spawn_blocking(move || {
            let code = if extract_code { extract_code_examples(&markdown, min_code_chars) } else { Vec::new() };
            (split_markdown(&markdown, chunk_size), code)
        })
        .await
        .map_err(|e| Error::Internal(format!("chunking task failed: {e}")))?;
        // From the chunks as written, before a chat model situates them.
        let extracted = match extraction {
            Some(extraction) => Some(self.extract_page_graph(&chunks, extraction, progress).await?),
            None => None,
        };
        let mut chunks_contextualized = 0;
        let mut summary = summary::extractive_summary(&page.markdown, summary::DEFAULT_SUMMARY_CHARS);
        if let Some(enricher) = &self.enricher {
            progress.report(0, None, "asking the chat model").await;
            if self.config.contextual_embeddings {
                chunks_contextualized = enricher.contextualize(&page.markdown, &mut chunks).await;
            }
            enricher.summarize_code(&mut code_examples).await;
            if let Some(written) = enricher.summarize_source(&page.source_id, &page.markdown).await {
                summary = written;
            }
        }
        let total = (chunks.len() + code_examples.len()) as u64 + 1;
        let texts: Vec<String> = chunks.iter().map(|c| c.content.clone()).collect();
        let embeddings = self.embed_texts(texts, 0, total, progress).await?;
        let code_texts: Vec<String> = code_examples.iter().map(CodeExample::embedding_text).collect();
        let code_embeddings = self.embed_texts(code_texts, chunks.len() as u64, total, progress).await?;
        progress.report(total - 1, Some(total), "storing chunks").await;
        self.pages
            .replace_page(PageWrite {
                page,
                chunks: &chunks,
                embeddings: &embeddings,
                content_hash: &content_hash,
                source_summary: &summary,
                code_examples: &code_examples,
                code_embeddings: &code_embeddings,
            })
            .await?;
        let mut graph_millis = 0;
        let (entities_stored, relations_stored) = match extracted {
            Some((extracted, extract_time)) => {
                let started = std::time::Instant::now();
                let stored = self.store_graph(page, &content_hash, extracted, &embeddings).await?;
                graph_millis = u64::try_from((extract_time + started.elapsed()).as_millis()).unwrap_or(u64::MAX);
                stored
            }
            None => {
                self.drop_stale_graph(page.url.as_str(), &content_hash).await?;
                (0, 0)
            }
        };
        Ok(IngestReport {
            unchanged: false,
            chunks_stored: chunks.len(),
            code_examples_stored: code_examples.len(),
            content_length: page.markdown.chars().count(),
            word_count: page.word_count(),
            chunks_contextualized,
            entities_stored,
            relations_stored,
            graph_millis,
        })
    }

    /// The page's graph: structural extraction, plus the chat model's reading when configured.
    /// Answers it with the time it took.
    async fn extract_page_graph(
        &self,
        chunks: &[crate::domain::Chunk],
        extraction: GraphExtraction,
        progress: &dyn ProgressSink,
    ) -> Result<(graph::ExtractedGraph, std::time::Duration)> {
        let started = std::time::Instant::now();
        let model = match &self.enricher {
            Some(enricher) if self.config.model_graph_extraction => {
                progress.report(0, None, "asking the chat model for entities").await;
                enricher.extract_graph(chunks).await
            }
            _ => Vec::new(),
        };
        let chunks = chunks.to_vec();
        let extracted = tokio::task::spawn_blocking(move || graph::extract_graph_with(&chunks, extraction, &model))
            .await
            .map_err(|e| Error::Internal(format!("graph extraction task failed: {e}")))?;
        Ok((extracted, started.elapsed()))
    }

    /// Whether the graph already reflects this content (or no graph is wanted).
    async fn graph_is_current(&self, page: &Page, extraction: Option<GraphExtraction>, hash: &str) -> Result<bool> {
        match (&self.graph, extraction) {
            (Some(graph), Some(_)) => Ok(graph.page_hash(page.url.as_str()).await?.as_deref() == Some(hash)),
            _ => Ok(true),
        }
    }

    /// Embed the entity names (cached by text, so each name is embedded once) and replace the
    /// page's graph. Answers (entities, relations) written.
    async fn store_graph(
        &self,
        page: &Page,
        content_hash: &str,
        extracted: graph::ExtractedGraph,
        chunk_embeddings: &[Vec<f32>],
    ) -> Result<(usize, usize)> {
        let Some(store) = &self.graph else { return Ok((0, 0)) };
        // The page's most mentioned entities get their name embedded (one short pass); the rest
        // take the mean of the chunks that mention them, which costs nothing.
        let named = extracted.entities.len().min(graph::NAMED_ENTITIES_PER_PAGE);
        let names: Vec<String> = extracted.entities[..named].iter().map(|(e, _, _)| e.name.clone()).collect();
        let mut vectors = self.embed_texts(names, 0, 0, &crate::progress::NoProgress).await?;
        vectors.extend(
            extracted.entities[named..]
                .iter()
                .map(|(e, _, _)| graph::context_vector(&e.key, &extracted.chunk_mentions, chunk_embeddings)),
        );
        let entities: Vec<EntityFacts> = extracted
            .entities
            .into_iter()
            .zip(vectors)
            .map(|((entity, description, description_score), embedding)| EntityFacts {
                key: entity.key,
                name: entity.name,
                entity_type: entity.entity_type,
                description,
                description_score,
                embedding,
            })
            .collect();
        let links: Vec<String> = page.links.internal.iter().filter(|l| *l != page.url.as_str()).cloned().collect();
        store
            .replace_page(PageGraph {
                url: page.url.as_str(),
                source: &page.source_id,
                title: page.title.as_deref(),
                content_hash,
                chunk_mentions: &extracted.chunk_mentions,
                relations: &extracted.relations,
                entities: &entities,
                links: &links,
            })
            .await?;
        Ok((entities.len(), extracted.relations.len()))
    }

    /// A page stored without graph extraction whose graph was built from other content: that
    /// graph no longer says what the page says, so it goes.
    async fn drop_stale_graph(&self, url: &str, content_hash: &str) -> Result<()> {
        let Some(graph) = &self.graph else { return Ok(()) };
        if graph.page_hash(url).await?.is_some_and(|stored| stored != content_hash) {
            graph.delete_page(url).await?;
        }
        Ok(())
    }

    /// Chunk a page without embedding or storing it (dry-run crawls); the report counts the
    /// chunks that would be stored. Chunking runs off the async runtime (it is CPU-bound).
    ///
    /// # Errors
    /// `BadInput` for a chunk size out of range.
    pub async fn chunk_only(&self, page: &Page, chunk_size: Option<usize>) -> Result<IngestReport> {
        let chunk_size = self.checked_chunk_size(chunk_size)?;
        let markdown = page.markdown.clone();
        let chunks = crate::cpu::run("chunking", move || split_markdown(&markdown, chunk_size).len()).await?;
        Ok(IngestReport {
            chunks_stored: chunks,
            content_length: page.markdown.chars().count(),
            word_count: page.word_count(),
            ..IngestReport::default()
        })
    }

    /// Embed `texts` in batches, reporting progress from `done` towards `total`. Texts embedded
    /// before by the same model (same hash) come from the cache and cost no embedding call.
    async fn embed_texts(
        &self,
        texts: Vec<String>,
        done: u64,
        total: u64,
        progress: &dyn ProgressSink,
    ) -> Result<Vec<Vec<f32>>> {
        let model = self.embedder.model_id().to_owned();
        let hashes: Vec<String> = texts.iter().map(|t| hex_sha256(t)).collect();
        let mut known = self.embeddings.cached_embeddings(&model, &hashes).await?;
        let missing: Vec<usize> = (0..texts.len()).filter(|&i| !known.contains_key(&hashes[i])).collect();
        let mut fresh = Vec::with_capacity(missing.len());
        for batch in missing.chunks(self.config.embed_batch_size.max(1)) {
            let inputs: Vec<String> = batch.iter().map(|&i| texts[i].clone()).collect();
            let vectors = self.embedder.embed(&inputs).await?;
            if vectors.len() != inputs.len() {
                return Err(Error::Internal(format!(
                    "embedder returned {} vectors for {} texts",
                    vectors.len(),
                    inputs.len()
                )));
            }
            for (&i, vector) in batch.iter().zip(vectors) {
                fresh.push((hashes[i].clone(), vector));
            }
            progress.report(done + fresh.len() as u64, Some(total), "embedding").await;
        }
        self.embeddings.cache_embeddings(&model, &fresh).await?;
        known.extend(fresh);
        hashes
            .iter()
            .map(|h| known.get(h).cloned().ok_or_else(|| Error::Internal("embedding missing after embedding".into())))
            .collect()
    }
}

#[async_trait]
impl PageSink for Pipeline {
    async fn store_page(
        &self,
        page: &Page,
        options: &IngestOptions,
        progress: &dyn ProgressSink,
    ) -> Result<IngestReport> {
        self.ingest_page(page, options, progress).await
    }

    async fn chunk_page(&self, page: &Page, chunk_size: Option<usize>) -> Result<IngestReport> {
        self.chunk_only(page, chunk_size).await
    }

    #[instrument(skip(self))]
    async fn page_gone(&self, url: &str) -> Result<u64> {
        if let Some(graph) = &self.graph {
            graph.delete_page(url).await?;
        }
        Ok(self.pages.delete_page(url).await?.pages)
    }
}

fn hex_sha256(text: &str) -> String {
    Sha256::digest(text.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}
