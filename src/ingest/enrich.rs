//! What a chat model adds at ingest time: a sentence situating each chunk within its page
//! (contextual embeddings), summaries of code examples and sources, and each chunk's entities
//! and typed relations for the graph (one extraction and one gleaning pass). Answers are cached by
//! (kind, hash of model + input) so a re-crawl or repeated boilerplate never pays twice; a failed
//! call falls back to the plain chunk or the extractive summary, so a provider outage slows
//! ingestion down to what it was without the model, never stops it.

use std::collections::HashMap;
use std::sync::Arc;

use futures::StreamExt;
use sha2::{Digest, Sha256};
use tracing::warn;

use crate::domain::entity_llm::{self, ModelGraph};
use crate::domain::{Chunk, CodeExample, SourceId};
use crate::ports::{ChatModel, TextCache};

const CONTEXT_KIND: &str = "chunk_context";
const CODE_KIND: &str = "code_summary";
const SOURCE_KIND: &str = "source_summary";
const GRAPH_KIND: &str = "graph_extraction";
const GLEANING_KIND: &str = "graph_gleaning";
/// Answer size of an extraction call.
const GRAPH_MAX_TOKENS: u32 = 2_000;
/// Characters of the page shown to the model with each chunk.
const DOCUMENT_CHARS: usize = 25_000;
/// Calls in flight per page (the provider client caps calls across pages too).
const PARALLEL_CALLS: usize = 8;

const CONTEXT_SYSTEM: &str = "You situate chunks of documents for search retrieval. Answer with the context only.";
const SUMMARY_SYSTEM: &str = "You write short, precise summaries for a search index. Answer with the summary only.";

#[derive(Debug)]
pub struct Enricher {
    chat: Arc<dyn ChatModel>,
    cache: Arc<dyn TextCache>,
}

fn key(parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part.as_bytes());
        hasher.update([0]);
    }
    format!("{:x}", hasher.finalize())
}

fn prefix(text: &str, chars: usize) -> &str {
    text.char_indices().nth(chars).map_or(text, |(i, _)| &text[..i])
}

impl Enricher {
    pub fn new(chat: Arc<dyn ChatModel>, cache: Arc<dyn TextCache>) -> Self {
        Self { chat, cache }
    }

    pub fn model_id(&self) -> &str {
        self.chat.model_id()
    }

    /// Ask the model once per prompt not yet cached; `None` where the model failed.
    async fn answers(
        &self,
        kind: &str,
        prompts: Vec<(String, String)>,
        max_tokens: u32,
        system: &str,
    ) -> Vec<Option<String>> {
        let keys: Vec<String> = prompts.iter().map(|(k, _)| k.clone()).collect();
        let cached = self.cache.cached_texts(kind, &keys).await.unwrap_or_else(|e| {
            warn!(error = %e, "chat cache unreadable; asking the model");
            HashMap::new()
        });
        let pending: Vec<_> = prompts
            .iter()
            .filter(|(k, _)| !cached.contains_key(k))
            .map(|(k, prompt)| async move { (k.clone(), self.chat.complete(system, prompt, max_tokens).await) })
            .collect();
        let fresh: Vec<(String, Result<String, _>)> =
            futures::stream::iter(pending).buffer_unordered(PARALLEL_CALLS).collect().await;
        let mut answers = cached;
        let mut new_entries = Vec::new();
        for (k, outcome) in fresh {
            match outcome {
                Ok(text) if !text.is_empty() => {
                    new_entries.push((k.clone(), text.clone()));
                    answers.insert(k, text);
                }
                Ok(_) => warn!(kind, "chat model answered nothing"),
                Err(e) => warn!(kind, error = %e, "chat model failed; using the fallback"),
            }
        }
        if !new_entries.is_empty()
            && let Err(e) = self.cache.cache_texts(kind, &new_entries).await
        {
            warn!(error = %e, "could not cache chat answers");
        }
        keys.iter().map(|k| answers.get(k).cloned()).collect()
    }

    /// Prefix each chunk with a sentence situating it within `document`
    /// (`context\n---\nchunk`, as the anchor stores it); chunks whose call failed stay plain.
    /// Returns how many chunks got a context.
    pub async fn contextualize(&self, document: &str, chunks: &mut [Chunk]) -> usize {
        let doc = prefix(document, DOCUMENT_CHARS);
        let doc_key = key(&[doc]);
        let prompts = chunks
            .iter()
            .map(|c| {
                let prompt = format!(
                    "<document>\n{doc}\n</document>\nHere is the chunk we want to situate within the whole document:\n\
                     <chunk>\n{}\n</chunk>\nGive a short succinct context to situate this chunk within the overall \
                     document for the purposes of improving search retrieval of the chunk.",
                    c.content
                );
                (key(&[self.chat.model_id(), &doc_key, &c.content]), prompt)
            })
            .collect();
        let contexts = self.answers(CONTEXT_KIND, prompts, 200, CONTEXT_SYSTEM).await;
        let mut done = 0;
        for (chunk, context) in chunks.iter_mut().zip(contexts) {
            if let Some(context) = context {
                chunk.content = format!("{context}\n---\n{}", chunk.content);
                chunk.char_count = chunk.content.chars().count();
                done += 1;
            }
        }
        done
    }

    /// Replace extractive code summaries with the model's, where it answered.
    pub async fn summarize_code(&self, examples: &mut [CodeExample]) {
        let prompts = examples
            .iter()
            .map(|e| {
                let prompt = format!(
                    "<context_before>\n{}\n</context_before>\n<code language=\"{}\">\n{}\n</code>\n<context_after>\n{}\n\
                     </context_after>\nSummarize in 2-3 sentences what this code example demonstrates and its purpose.",
                    prefix(&e.context_before, 500),
                    e.language,
                    prefix(&e.code, 1500),
                    prefix(&e.context_after, 500)
                );
                (key(&[self.chat.model_id(), &e.language, &e.code]), prompt)
            })
            .collect();
        for (example, summary) in examples.iter_mut().zip(self.answers(CODE_KIND, prompts, 150, SUMMARY_SYSTEM).await) {
            if let Some(summary) = summary {
                example.summary = summary;
            }
        }
    }

    /// The model's summary of a source from one of its pages (asked once per source).
    pub async fn summarize_source(&self, source: &SourceId, document: &str) -> Option<String> {
        let prompt = format!(
            "<source>{source}</source>\n<content>\n{}\n</content>\nSummarize in 3-5 sentences what this source is \
             about and what it helps with.",
            prefix(document, DOCUMENT_CHARS)
        );
        let k = key(&[self.chat.model_id(), source.as_str()]);
        self.answers(SOURCE_KIND, vec![(k, prompt)], 200, SUMMARY_SYSTEM).await.pop().flatten()
    }

    /// Each chunk's entities and relations as the model reads them, after one gleaning pass;
    /// `None` for a chunk whose answer failed or did not validate (the structural extraction
    /// stands alone there). Both passes are cached by (model, chunk), so a rebuild costs no calls.
    pub async fn extract_graph(&self, chunks: &[Chunk]) -> Vec<Option<ModelGraph>> {
        let model = self.chat.model_id();
        let keys: Vec<String> = chunks.iter().map(|c| key(&[model, "graph-v1", &c.content])).collect();
        let prompts =
            chunks.iter().zip(&keys).map(|(c, k)| (k.clone(), entity_llm::extraction_prompt(&c.content))).collect();
        let first = self.answers(GRAPH_KIND, prompts, GRAPH_MAX_TOKENS, entity_llm::SYSTEM_PROMPT).await;
        let mut graphs: Vec<Option<ModelGraph>> = first
            .into_iter()
            .map(|answer| {
                let parsed = answer.as_deref().and_then(entity_llm::parse_answer);
                if answer.is_some() && parsed.is_none() {
                    warn!("the chat model's entity answer was not valid JSON of the expected shape; skipped");
                }
                parsed
            })
            .collect();
        let gleaning: Vec<(usize, (String, String))> = graphs
            .iter()
            .enumerate()
            .filter_map(|(i, g)| {
                g.as_ref().map(|g| (i, (keys[i].clone(), entity_llm::gleaning_prompt(&chunks[i].content, g))))
            })
            .collect();
        let (indexes, prompts): (Vec<usize>, Vec<(String, String)>) = gleaning.into_iter().unzip();
        let gleaned = self.answers(GLEANING_KIND, prompts, GRAPH_MAX_TOKENS, entity_llm::SYSTEM_PROMPT).await;
        for (i, answer) in indexes.into_iter().zip(gleaned) {
            if let (Some(graph), Some(extra)) =
                (graphs[i].as_mut(), answer.as_deref().and_then(entity_llm::parse_answer))
            {
                entity_llm::merge_gleaning(graph, extra);
            }
        }
        graphs
    }
}
