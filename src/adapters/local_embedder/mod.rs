//! `Embedder` running a sentence-transformers BERT model (all-MiniLM-L6-v2: 384 dims, mean
//! pooling, L2-normalised) in-process. Tokenising, windowing and pooling live here; the forward
//! pass runs on ONNX Runtime ([`onnx`], about twice candle's speed, when its library is present) or
//! on candle ([`candle`], pure Rust, always available). Both read the same `model.safetensors`.
//!
//! The model reads at most 256 tokens. Rather than let longer text silently fall out of the
//! embedding (the tokenizer file even truncates at 128), each text is cut into windows of 254
//! tokens (+[CLS]/[SEP]); the embedding is the mean over all windows' token states, then
//! normalised. For text within one window this is exactly sentence-transformers' output.

mod candle;
mod onnx;
mod onnx_graph;
mod protobuf;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use candle_transformers::models::bert::Config;
use tokenizers::Tokenizer;
use tokio::sync::{OnceCell, Semaphore};
use tracing::{info, instrument, warn};

use crate::ports::{EmbedError, Embedder};

/// Model name recorded in the database when none is configured.
pub use crate::domain::defaults::DEFAULT_LOCAL_MODEL_NAME;
/// Tokens per window, leaving room for [CLS] and [SEP] in the 256-token input.
const WINDOW_TOKENS: usize = 254;
/// About 4 characters per token for English prose: one chunk fits one window.
const PREFERRED_CHUNK_CHARS: usize = 1000;
/// Most windows in one forward pass (16: candle's best throughput on 2 cores).
const MAX_WINDOWS_PER_PASS: usize = 16;
/// A pass stops growing before padding would waste more than 1/`PADDING_SHARE` of its tokens.
const PADDING_SHARE: usize = 8;

/// Which forward pass runs the model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LocalRuntime {
    /// ONNX Runtime from this library when it is given and loads, candle otherwise (with a warning
    /// saying why).
    Auto {
        onnxruntime: Option<PathBuf>,
    },
    /// ONNX Runtime from this library, or an error.
    Onnx {
        onnxruntime: PathBuf,
    },
    Candle,
}

enum Forward {
    Onnx(onnx::OnnxBert),
    Candle(Box<candle::CandleBert>),
}

impl Forward {
    fn name(&self) -> &'static str {
        match self {
            Self::Onnx(_) => "onnxruntime",
            Self::Candle(_) => "candle",
        }
    }

    fn sums(&self, batch: &[Window]) -> Result<Vec<(Vec<f32>, f32)>, EmbedError> {
        match self {
            Self::Onnx(bert) => bert.forward_sums(batch),
            Self::Candle(bert) => bert.forward_sums(batch),
        }
        .map_err(EmbedError::Internal)
    }
}

struct Model {
    forward: Forward,
    tokenizer: Tokenizer,
    cls: u32,
    sep: u32,
    dimensions: usize,
}

pub struct LocalEmbedder {
    dir: PathBuf,
    name: String,
    config: Config,
    runtime: LocalRuntime,
    /// The weights, loaded on the first embedding: a server that only crawls, or has not been
    /// asked anything yet, does not hold ~90 MB of tensors (and starts at once).
    model: OnceCell<Arc<Model>>,
    model_id: String,
    /// One forward pass at a time: either runtime already spreads a pass over every core.
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
    pub fn load(dir: &Path, name: &str, runtime: LocalRuntime) -> Result<Self, EmbedError> {
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
            runtime,
            model: OnceCell::new(),
            model_id: format!("local:{name}"),
            gate: Semaphore::new(1),
        })
    }

    /// The forward pass in use (`onnxruntime` or `candle`); loads the model if needed.
    ///
    /// # Errors
    /// When the model cannot be loaded.
    pub async fn runtime_name(&self) -> Result<&'static str, EmbedError> {
        Ok(self.model().await?.forward.name())
    }

    async fn model(&self) -> Result<Arc<Model>, EmbedError> {
        let model = self
            .model
            .get_or_try_init(|| {
                let (dir, name, config, runtime) =
                    (self.dir.clone(), self.name.clone(), self.config.clone(), self.runtime.clone());
                async move {
                    tokio::task::spawn_blocking(move || Model::load(&dir, &name, &config, &runtime))
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
    fn load(dir: &Path, name: &str, config: &Config, runtime: &LocalRuntime) -> Result<Self, EmbedError> {
        let (tokenizer, cls, sep) = load_tokenizer(dir)?;
        let candle = || {
            candle::CandleBert::load(dir, config)
                .map(|bert| Forward::Candle(Box::new(bert)))
                .map_err(|e| load_error(dir, "candle", &e))
        };
        let forward = match runtime {
            LocalRuntime::Candle => candle()?,
            LocalRuntime::Onnx { onnxruntime } => {
                onnx::OnnxBert::load(dir, config, onnxruntime).map(Forward::Onnx).map_err(|e| {
                    EmbedError::Load(format!(
                        "ONNX Runtime: {e} (set CRAWLRAG_EMBEDDING_BACKEND=candle to run without it)"
                    ))
                })?
            }
            LocalRuntime::Auto { onnxruntime: Some(library) } => match onnx::OnnxBert::load(dir, config, library) {
                Ok(bert) => Forward::Onnx(bert),
                Err(e) => {
                    warn!(error = %e, "ONNX Runtime unusable; embedding with candle (about half the speed)");
                    candle()?
                }
            },
            LocalRuntime::Auto { onnxruntime: None } => {
                info!("no ONNX Runtime library found (scripts/onnxruntime.sh installs one); embedding with candle");
                candle()?
            }
        };
        info!(model = name, dimensions = config.hidden_size, runtime = forward.name(), "local embedding model loaded");
        Ok(Self { forward, tokenizer, cls, sep, dimensions: config.hidden_size })
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

/// A forward pass's input, row-major `[windows, longest]`: each window's ids padded with 0 to the
/// longest, and the mask (1 for a token, 0 for padding). Both runtimes read it, in their id type.
struct Padded<T> {
    ids: Vec<T>,
    mask: Vec<T>,
    longest: usize,
}

impl<T: Copy> Padded<T> {
    fn new(batch: &[Window], id: impl Fn(u32) -> T, zero: T, one: T) -> Self {
        let longest = batch.iter().map(|w| w.ids.len()).max().unwrap_or(2);
        let mut ids = Vec::with_capacity(batch.len() * longest);
        let mut mask = Vec::with_capacity(batch.len() * longest);
        for window in batch {
            ids.extend(window.ids.iter().map(|&v| id(v)));
            ids.extend(std::iter::repeat_n(zero, longest - window.ids.len()));
            mask.extend(std::iter::repeat_n(one, window.ids.len()));
            mask.extend(std::iter::repeat_n(zero, longest - window.ids.len()));
        }
        Self { ids, mask, longest }
    }
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
        windows.sort_by_key(|w| w.ids.len());
        // Per text: sum of token states and token count over all its windows.
        let mut sums = vec![vec![0f32; self.dimensions]; texts.len()];
        let mut counts = vec![0f32; texts.len()];
        for batch in passes(&windows) {
            for (window, (sum, count)) in batch.iter().zip(self.forward.sums(batch)?) {
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
}

/// Splits windows sorted by length into forward passes. Every window of a pass is padded to its
/// longest, and padding is wasted compute: a pass grows only while that waste stays under
/// 1/`PADDING_SHARE` of its tokens. Measured on 10-chunk pages of documentation: fixed passes of 16
/// embed 20 chunks/s, this 31-34 (as fast as one sorted call over 1,000 chunks).
fn passes(windows: &[Window]) -> Vec<&[Window]> {
    let mut passes = Vec::new();
    let (mut start, mut tokens) = (0, 0);
    for (i, window) in windows.iter().enumerate() {
        let len = window.ids.len();
        let count = i - start + 1;
        // Sorted ascending, so `len` is the longest: the pass would be `count * len` tokens padded.
        if count > MAX_WINDOWS_PER_PASS || (count * len - (tokens + len)) * PADDING_SHARE > count * len {
            passes.push(&windows[start..i]);
            (start, tokens) = (i, 0);
        }
        tokens += len;
    }
    if start < windows.len() {
        passes.push(&windows[start..]);
    }
    passes
}

#[cfg(test)]
mod tests {
    use super::{MAX_WINDOWS_PER_PASS, Window, passes};

    fn windows(lengths: &[usize]) -> Vec<Window> {
        lengths.iter().map(|&n| Window { text: 0, ids: vec![0; n] }).collect()
    }

    #[test]
    fn passes_group_similar_lengths_and_never_pad_much() {
        let w = windows(&[3, 3, 4, 100, 101, 102, 250, 254, 256]);
        let lens: Vec<Vec<usize>> = passes(&w).iter().map(|p| p.iter().map(|w| w.ids.len()).collect()).collect();
        assert_eq!(lens, [vec![3, 3], vec![4], vec![100, 101, 102], vec![250, 254, 256]]);
        for pass in passes(&w) {
            let longest = pass.iter().map(|w| w.ids.len()).max().unwrap();
            let real: usize = pass.iter().map(|w| w.ids.len()).sum();
            assert!((longest * pass.len() - real) * 8 <= longest * pass.len());
        }
        let same = windows(&[10; 40]);
        let sizes: Vec<usize> = passes(&same).iter().map(|p| p.len()).collect();
        assert_eq!(sizes, [MAX_WINDOWS_PER_PASS, MAX_WINDOWS_PER_PASS, 8]);
        assert!(passes(&[]).is_empty());
    }
}
