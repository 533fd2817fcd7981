//! The BERT forward pass in pure Rust (candle): always available, no native library. About half
//! the speed of the ONNX Runtime path on the same CPU, so it is the fallback.

use std::path::Path;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config, DTYPE};

use super::{Padded, Window};

pub(super) struct CandleBert {
    bert: BertModel,
    device: Device,
}

impl CandleBert {
    /// Maps `model.safetensors` in `dir` and builds the encoder.
    ///
    /// # Errors
    /// A sentence saying what failed.
    pub(super) fn load(dir: &Path, config: &Config) -> Result<Self, String> {
        let device = Device::Cpu;
        // SAFETY: the file is mapped read-only and not modified while the model lives.
        let vb = unsafe { VarBuilder::from_mmaped_safetensors(&[dir.join("model.safetensors")], DTYPE, &device) }
            .map_err(|e| format!("cannot map model.safetensors: {e}"))?;
        let bert = BertModel::load(vb, config).map_err(|e| format!("cannot build BERT: {e}"))?;
        Ok(Self { bert, device })
    }

    /// Masked sums of the last hidden states of each window, with the number of real tokens.
    pub(super) fn forward_sums(&self, batch: &[Window]) -> Result<Vec<(Vec<f32>, f32)>, String> {
        self.forward(batch).map_err(|e| e.to_string())
    }

    fn forward(&self, batch: &[Window]) -> candle_core::Result<Vec<(Vec<f32>, f32)>> {
        let Padded { ids, mask, longest } = Padded::new(batch, |id| id, 0u32, 1u32);
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
