//! `Reranker` running a BERT cross-encoder (ms-marco-MiniLM-L-6-v2 class:
//! `BertForSequenceClassification` with one logit) in-process with candle, in pure Rust. Query and
//! document are read together (`[CLS] query [SEP] document [SEP]`, truncated to the model's 512
//! positions, document side first), the [CLS] state goes through the pooler (dense + tanh) and the
//! classifier; the logit is the relevance score.

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use candle_core::{Device, Module, Tensor};
use candle_nn::{Linear, VarBuilder, linear};
use candle_transformers::models::bert::{BertModel, Config, DTYPE};
use tokenizers::{Tokenizer, TruncationDirection, TruncationParams, TruncationStrategy};
use tokio::sync::Semaphore;
use tracing::{info, instrument};

use crate::ports::{ModelError, Reranker};

pub use crate::domain::defaults::DEFAULT_CROSS_ENCODER_REPO;
const MAX_TOKENS: usize = 512;
/// Pairs per forward pass.
const PAIRS_PER_PASS: usize = 16;

struct Model {
    bert: BertModel,
    pooler: Linear,
    classifier: Linear,
    tokenizer: Tokenizer,
    device: Device,
}

pub struct CrossEncoder {
    model: Arc<Model>,
    model_id: String,
    gate: Semaphore,
}

impl std::fmt::Debug for CrossEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CrossEncoder").field("model_id", &self.model_id).finish_non_exhaustive()
    }
}

impl CrossEncoder {
    /// Load a cross-encoder folder (`config.json`, `model.safetensors`, `tokenizer.json`).
    ///
    /// # Errors
    /// [`ModelError::Unavailable`] naming the missing or unreadable part.
    pub fn load(dir: &Path, name: &str) -> Result<Self, ModelError> {
        let fail = |what: &str, e: &dyn std::fmt::Display| {
            ModelError::Unavailable(format!(
                "{what} in {}: {e} (set CRAWLRAG_RERANK_MODEL_PATH to a cross-encoder folder such as \
                 {DEFAULT_CROSS_ENCODER_REPO})",
                dir.display()
            ))
        };
        let config: Config = std::fs::read_to_string(dir.join("config.json"))
            .map_err(|e| fail("cannot read config.json", &e))
            .and_then(|text| serde_json::from_str(&text).map_err(|e| fail("invalid config.json", &e)))?;
        let mut tokenizer =
            Tokenizer::from_file(dir.join("tokenizer.json")).map_err(|e| fail("cannot load tokenizer.json", &e))?;
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: MAX_TOKENS,
                strategy: TruncationStrategy::OnlySecond,
                direction: TruncationDirection::Right,
                stride: 0,
            }))
            .map_err(|e| fail("tokenizer", &e))?;
        tokenizer.with_padding(None);
        let weights = dir.join("model.safetensors");
        if !weights.is_file() {
            return Err(fail("missing model.safetensors", &"file not found"));
        }
        let device = Device::Cpu;
        // SAFETY: the file is mapped read-only and not modified while the model lives.
        let vb = unsafe { VarBuilder::from_mmaped_safetensors(&[weights], DTYPE, &device) }
            .map_err(|e| fail("cannot map model.safetensors", &e))?;
        let bert = BertModel::load(vb.clone(), &config).map_err(|e| fail("cannot build BERT", &e))?;
        let pooler = linear(config.hidden_size, config.hidden_size, vb.pp("bert.pooler.dense"))
            .map_err(|e| fail("no pooler (is this a cross-encoder?)", &e))?;
        let classifier = linear(config.hidden_size, 1, vb.pp("classifier"))
            .map_err(|e| fail("no one-logit classifier (is this a cross-encoder?)", &e))?;
        info!(model = name, "cross-encoder loaded");
        Ok(Self {
            model: Arc::new(Model { bert, pooler, classifier, tokenizer, device }),
            model_id: format!("local:{name}"),
            gate: Semaphore::new(1),
        })
    }
}

impl Model {
    fn score_blocking(&self, query: &str, documents: &[String]) -> Result<Vec<f64>, ModelError> {
        let internal = |e: &dyn std::fmt::Display| ModelError::Unavailable(format!("cross-encoder failed: {e}"));
        let mut scores = Vec::with_capacity(documents.len());
        for batch in documents.chunks(PAIRS_PER_PASS) {
            let encodings = batch
                .iter()
                .map(|doc| self.tokenizer.encode((query, doc.as_str()), true))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| internal(&e))?;
            let longest = encodings.iter().map(tokenizers::Encoding::len).max().unwrap_or(1);
            let (mut ids, mut types, mut mask) = (Vec::new(), Vec::new(), Vec::new());
            for enc in &encodings {
                let pad = longest - enc.len();
                ids.extend(enc.get_ids().iter().copied().chain(std::iter::repeat_n(0, pad)));
                types.extend(enc.get_type_ids().iter().copied().chain(std::iter::repeat_n(0, pad)));
                mask.extend(enc.get_attention_mask().iter().copied().chain(std::iter::repeat_n(0, pad)));
            }
            let shape = (batch.len(), longest);
            let logits = (|| {
                let ids = Tensor::from_vec(ids, shape, &self.device)?;
                let types = Tensor::from_vec(types, shape, &self.device)?;
                let mask = Tensor::from_vec(mask, shape, &self.device)?;
                let states = self.bert.forward(&ids, &types, Some(&mask))?;
                let cls = states.narrow(1, 0, 1)?.squeeze(1)?;
                let pooled = self.pooler.forward(&cls)?.tanh()?;
                self.classifier.forward(&pooled)?.squeeze(1)?.to_vec1::<f32>()
            })()
            .map_err(|e| internal(&e))?;
            scores.extend(logits.into_iter().map(f64::from));
        }
        Ok(scores)
    }
}

#[async_trait]
impl Reranker for CrossEncoder {
    fn model_id(&self) -> &str {
        &self.model_id
    }

    #[instrument(skip_all, fields(documents = documents.len()))]
    async fn rerank(&self, query: &str, documents: &[String]) -> Result<Vec<f64>, ModelError> {
        let _permit = self.gate.acquire().await.map_err(|e| ModelError::Unavailable(e.to_string()))?;
        let (model, query, documents) = (Arc::clone(&self.model), query.to_owned(), documents.to_vec());
        tokio::task::spawn_blocking(move || model.score_blocking(&query, &documents))
            .await
            .map_err(|e| ModelError::Unavailable(format!("cross-encoder task failed: {e}")))?
    }
}
