//! `Embedder` running a sentence-transformers BERT model (all-MiniLM-L6-v2: 384 dims, mean
//! pooling, L2-normalised) in-process with candle, in pure Rust.
//!
//! The model reads at most 256 tokens. Rather than let longer text silently fall out of the
//! embedding (the tokenizer file even truncates at 128), each text is cut into windows of 254
//! tokens (+[CLS]/[SEP]); the embedding is the mean over all windows' token states, then
//! normalised. For text within one window this is exactly sentence-transformers' output.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config, DTYPE};
use tokenizers::Tokenizer;
use tokio::sync::{OnceCell, Semaphore};
use tracing::{info, instrument};

use crate::ports::{EmbedError, Embedder};

/// Model name recorded in the database when none is configured.
pub use crate::domain::defaults::DEFAULT_LOCAL_MODEL_NAME;
/// Tokens per window, leaving room for [CLS] and [SEP] in the 256-token input.
const WINDOW_TOKENS: usize = 254;
/// About 4 characters per token for English prose: one chunk fits one window.
const PREFERRED_CHUNK_CHARS: usize = 1000;
/// Windows per forward pass (16 is the measured best throughput for candle BERT on 2 cores).
const WINDOWS_PER_PASS: usize = 16;

struct Model {
    bert: BertModel,
    tokenizer: Tokenizer,
    device: Device,
    cls: u32,
    sep: u32,
    dimensions: usize,
}

pub struct LocalEmbedder {
    dir: PathBuf,
    name: String,
    config: Config,
    /// The weights, loaded on the first embedding: a server that only crawls, or has not been
    /// asked anything yet, does not hold ~90 MB of tensors (and starts at once).
    model: OnceCell<Arc<Model>>,
    model_id: String,
    /// One forward pass at a time: candle already spreads a pass over every core.
    gate: Semaphore,
}

impl std::fmt::Debug for LocalEmbedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalEmbedder").field("model_id", &self.model_id).finish_non_exhaustive()
    }
}

fn load_error(dir: &Path, what: &str, e: &dyn std::fmt::Display) -> EmbedError {
    EmbedError::Load(format!(
        "{what} in {}: {e} (set CRAWLRAG_EMBEDDING_MODEL_PATH to a sentence-transformers model folder, e.g. the output of scripts/model.sh)",
        dir.display()
    ))
}

impl LocalEmbedder {
    /// Open a sentence-transformers BERT folder (`config.json`, `model.safetensors`,
    /// `tokenizer.json`): every file is checked now, the weights are loaded on first use.
    ///
    /// # Errors
    /// [`EmbedError::Load`] naming the missing or unreadable file.
    pub fn load(dir: &Path, name: &str) -> Result<Self, EmbedError> {
        let config_text = std::fs::read_to_string(dir.join("config.json"))
            .map_err(|e| load_error(dir, "cannot read config.json", &e))?;
        let config: Config =
            serde_json::from_str(&config_text).map_err(|e| load_error(dir, "invalid config.json", &e))?;
        load_tokenizer(dir)?;
        if !dir.join("model.safetensors").is_file() {
            return Err(load_error(dir, "missing model.safetensors", &"file not found"));
        }
        Ok(Self {
            dir: dir.to_owned(),
            name: name.to_owned(),
            config,
            model: OnceCell::new(),
            model_id: format!("local:{name}"),
            gate: Semaphore::new(1),
        })
    }

    async fn model(&self) -> Result<Arc<Model>, EmbedError> {
        let model = self
            .model
            .get_or_try_init(|| {
                let (dir, name, config) = (self.dir.clone(), self.name.clone(), self.config.clone());
                async move {
                    tokio::task::spawn_blocking(move || Model::load(&dir, &name, &config))
                        .await
                        .map_err(|e| EmbedError::Internal(format!("model loading failed: {e}")))?
                        .map(Arc::new)
                }
            })
            .await?;
        Ok(Arc::clone(model))
    }
}

fn load_tokenizer(dir: &Path) -> Result<(Tokenizer, u32, u32), EmbedError> {
    let mut tokenizer = Tokenizer::from_file(dir.join("tokenizer.json"))
        .map_err(|e| load_error(dir, "cannot load tokenizer.json", &e))?;
    // We window and pad ourselves; the file's truncation (128) would drop text.
    tokenizer.with_truncation(None).map_err(|e| load_error(dir, "tokenizer", &e))?;
    tokenizer.with_padding(None);
    let cls = tokenizer.token_to_id("[CLS]").ok_or_else(|| load_error(dir, "tokenizer", &"no [CLS] token"))?;
    let sep = tokenizer.token_to_id("[SEP]").ok_or_else(|| load_error(dir, "tokenizer", &"no [SEP] token"))?;
    Ok((tokenizer, cls, sep))
}

impl Model {
    fn load(dir: &Path, name: &str, config: &Config) -> Result<Self, EmbedError> {
        let (tokenizer, cls, sep) = load_tokenizer(dir)?;
        let device = Device::Cpu;
        // SAFETY: the file is mapped read-only and not modified while the model lives.
        let vb = unsafe { VarBuilder::from_mmaped_safetensors(&[dir.join("model.safetensors")], DTYPE, &device) }
            .map_err(|e| load_error(dir, "cannot map model.safetensors", &e))?;
        let bert = BertModel::load(vb, config).map_err(|e| load_error(dir, "cannot build BERT", &e))?;
        info!(model = name, dimensions = config.hidden_size, "local embedding model loaded");
        Ok(Self { bert, tokenizer, device, cls, sep, dimensions: config.hidden_size })
    }
}

#[async_trait]
impl Embedder for LocalEmbedder {
    fn model_id(&self) -> &str {
        &self.model_id
    }

    fn dimensions(&self) -> usize {
        self.config.hidden_size
    }

    fn preferred_chunk_chars(&self) -> usize {
        PREFERRED_CHUNK_CHARS
    }

    #[instrument(skip_all, fields(texts = texts.len()))]
    async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let _permit = self.gate.acquire().await.map_err(|e| EmbedError::Internal(e.to_string()))?;
        let model = self.model().await?;
        let texts = texts.to_vec();
        tokio::task::spawn_blocking(move || model.embed_blocking(&texts))
            .await
            .map_err(|e| EmbedError::Internal(format!("embedding task failed: {e}")))?
    }
}

/// One window of one text.
struct Window {
    text: usize,
    ids: Vec<u32>,
}

impl Model {
    fn embed_blocking(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let mut windows = Vec::new();
        for (text, content) in texts.iter().enumerate() {
            let encoding =
                self.tokenizer.encode(content.as_str(), false).map_err(|e| EmbedError::Internal(e.to_string()))?;
            let ids = encoding.get_ids();
            let mut pieces: Vec<&[u32]> = ids.chunks(WINDOW_TOKENS).collect();
            if pieces.is_empty() {
                pieces.push(&[]);
            }
            for piece in pieces {
                let mut window = Vec::with_capacity(piece.len() + 2);
                window.push(self.cls);
                window.extend_from_slice(piece);
                window.push(self.sep);
                windows.push(Window { text, ids: window });
            }
        }
        // Batch windows of similar length together: padding to the longest window in a pass is
        // wasted compute (measured: batch 16 slower than batch 1 on mixed-length chunks).
        windows.sort_by_key(|w| w.ids.len());
        // Per text: sum of token states and token count over all its windows.
        let mut sums = vec![vec![0f32; self.dimensions]; texts.len()];
        let mut counts = vec![0f32; texts.len()];
        for batch in windows.chunks(WINDOWS_PER_PASS) {
            let pooled = self.forward_sums(batch).map_err(|e| EmbedError::Internal(e.to_string()))?;
            for (window, (sum, count)) in batch.iter().zip(pooled) {
                for (acc, v) in sums[window.text].iter_mut().zip(sum) {
                    *acc += v;
                }
                counts[window.text] += count;
            }
        }
        Ok(sums
            .into_iter()
            .zip(counts)
            .map(|(sum, count)| {
                let mean: Vec<f32> = sum.iter().map(|v| v / count.max(1.0)).collect();
                let norm = mean.iter().map(|v| v * v).sum::<f32>().sqrt().max(1e-12);
                mean.into_iter().map(|v| v / norm).collect()
            })
            .collect())
    }

    /// Masked sums of the last hidden states of each window, with the number of real tokens.
    fn forward_sums(&self, batch: &[Window]) -> candle_core::Result<Vec<(Vec<f32>, f32)>> {
        let longest = batch.iter().map(|w| w.ids.len()).max().unwrap_or(2);
        let mut ids = Vec::with_capacity(batch.len() * longest);
        let mut mask = Vec::with_capacity(batch.len() * longest);
        for window in batch {
            ids.extend(window.ids.iter().copied());
            mask.extend(std::iter::repeat_n(1u32, window.ids.len()));
            ids.extend(std::iter::repeat_n(0u32, longest - window.ids.len()));
            mask.extend(std::iter::repeat_n(0u32, longest - window.ids.len()));
        }
        let ids = Tensor::from_vec(ids, (batch.len(), longest), &self.device)?;
        let mask = Tensor::from_vec(mask, (batch.len(), longest), &self.device)?;
        let states = self.bert.forward(&ids, &ids.zeros_like()?, Some(&mask))?; // [b, n, d]
        let mask_f = mask.to_dtype(DType::F32)?;
        let sums = states.broadcast_mul(&mask_f.unsqueeze(2)?)?.sum(1)?; // [b, d]
        let counts = mask_f.sum(1)?; // [b]
        let sums: Vec<Vec<f32>> = sums.to_vec2()?;
        let counts: Vec<f32> = counts.to_vec1()?;
        Ok(sums.into_iter().zip(counts).collect())
    }
}
