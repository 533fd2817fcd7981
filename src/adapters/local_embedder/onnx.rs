//! The BERT forward pass on ONNX Runtime, loaded at run time from a `libonnxruntime.so` (the one
//! in PyPI's `onnxruntime` wheel, which `scripts/onnxruntime.sh` installs). The graph is written
//! from the model's own safetensors by [`super::onnx_graph`], so no `.onnx` file is needed.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use candle_transformers::models::bert::Config;
use ort::environment::Environment;
use ort::session::Session;
use ort::session::builder::GraphOptimizationLevel;
use ort::value::Tensor;

use super::onnx_graph::{self, ATTENTION_MASK, HIDDEN_STATES, INPUT_IDS, POSITION_IDS};
use super::{Padded, Window};

/// ONNX Runtime is loaded once per process (ort keeps the first library for good); a failed load
/// is not kept, so a later call may name a library that works.
static RUNTIME: Mutex<Option<(PathBuf, &'static Environment)>> = Mutex::new(None);

fn runtime(library: &Path) -> Result<&'static Environment, String> {
    let mut loaded = RUNTIME.lock().map_err(|_| "the ONNX Runtime loader was poisoned".to_owned())?;
    if let Some((first, env)) = loaded.as_ref() {
        return if first == library {
            Ok(*env)
        } else {
            Err(format!("already loaded from {} (one library per process), not {}", first.display(), library.display()))
        };
    }
    let builder = ort::init_from(library).map_err(|e| format!("cannot load {}: {e}", library.display()))?;
    let env = builder
        .with_name("crawlrag")
        .build()
        .map_err(|e| format!("cannot start ONNX Runtime from {}: {e}", library.display()))?;
    let env: &'static Environment = Box::leak(Box::new(env));
    *loaded = Some((library.to_owned(), env));
    Ok(env)
}

pub(super) struct OnnxBert {
    /// `Session::run` takes `&mut`; the embedder runs one pass at a time anyway.
    session: Mutex<Session>,
    hidden: usize,
}

impl OnnxBert {
    /// Loads ONNX Runtime from `library` and builds a session for the model in `dir`.
    ///
    /// # Errors
    /// A sentence saying what failed (library, weights, graph or session).
    pub(super) fn load(dir: &Path, config: &Config, library: &Path) -> Result<Self, String> {
        let env = runtime(library)?;
        let weights_path = dir.join("model.safetensors");
        let weights =
            std::fs::read(&weights_path).map_err(|e| format!("cannot read {}: {e}", weights_path.display()))?;
        let model = onnx_graph::bert_model(config, &weights).map_err(|e| e.to_string())?;
        drop(weights);
        let session = Session::builder(env)
            .map_err(|e| e.to_string())?
            .with_optimization_level(GraphOptimizationLevel::All)
            .map_err(|e| e.to_string())?
            // Idle pool threads sleep instead of spinning for work: pages arrive one at a time,
            // and spinning between passes burned most of a crawl's CPU (several workers on one
            // host made it worse: each process's pool spun against the others).
            .with_intra_op_spinning(false)
            .map_err(|e| e.to_string())?
            .commit_from_memory(&model)
            .map_err(|e| format!("ONNX Runtime refused the BERT graph: {e}"))?;
        Ok(Self { session: Mutex::new(session), hidden: config.hidden_size })
    }

    /// Masked sums of the last hidden states of each window, with the number of real tokens.
    pub(super) fn forward_sums(&self, batch: &[Window]) -> Result<Vec<(Vec<f32>, f32)>, String> {
        let Padded { ids, mask, longest } = Padded::new(batch, |id| id as i32, 0i32, 1i32);
        let positions: Vec<i32> = (0..longest as i32).collect();
        let shape = [batch.len() as i64, longest as i64];
        let tensor_error = |e: ort::Error| e.to_string();
        let inputs = ort::inputs![
            INPUT_IDS => Tensor::from_array((shape, ids)).map_err(tensor_error)?,
            POSITION_IDS => Tensor::from_array(([longest as i64], positions)).map_err(tensor_error)?,
            ATTENTION_MASK => Tensor::from_array((shape, mask)).map_err(tensor_error)?,
        ];
        let mut session = self.session.lock().map_err(|_| "the ONNX session was poisoned".to_owned())?;
        let outputs = session.run(inputs).map_err(|e| e.to_string())?;
        let (_, states) = outputs[HIDDEN_STATES].try_extract_tensor::<f32>().map_err(|e| e.to_string())?;
        let d = self.hidden;
        Ok(batch
            .iter()
            .enumerate()
            .map(|(row, window)| {
                let mut sum = vec![0f32; d];
                let start = row * longest * d;
                for token in states[start..start + window.ids.len() * d].chunks_exact(d) {
                    for (acc, v) in sum.iter_mut().zip(token) {
                        *acc += v;
                    }
                }
                (sum, window.ids.len() as f32)
            })
            .collect())
    }
}
