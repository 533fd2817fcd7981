//! Writes a BERT encoder (`config.json` + `model.safetensors`) as an ONNX model, in memory, for
//! ONNX Runtime: no export step, no Python, the very weights the candle path reads. The graph uses
//! ONNX Runtime's fused transformer kernels (`com.microsoft` `Attention`,
//! `SkipLayerNormalization`, `BiasGelu`), the ops its own BERT optimizer would produce.

use candle_transformers::models::bert::{Config, HiddenAct};
use safetensors::{Dtype, SafeTensors};

use super::protobuf::Message;

/// int32 `[batch, sequence]` token ids.
pub(super) const INPUT_IDS: &str = "input_ids";
/// int32 `[sequence]`: 0, 1, 2, ... (the caller's, so the graph needs no shape arithmetic).
pub(super) const POSITION_IDS: &str = "position_ids";
/// int32 `[batch, sequence]`: 1 for a token, 0 for padding.
pub(super) const ATTENTION_MASK: &str = "attention_mask";
/// f32 `[batch, sequence, hidden]`.
pub(super) const HIDDEN_STATES: &str = "last_hidden_state";

/// onnx.proto's field numbers and enum values used here.
mod onnx {
    pub(super) const MODEL_IR_VERSION: u32 = 1;
    pub(super) const MODEL_PRODUCER: u32 = 2;
    pub(super) const MODEL_GRAPH: u32 = 7;
    pub(super) const MODEL_OPSET: u32 = 8;
    pub(super) const OPSET_DOMAIN: u32 = 1;
    pub(super) const OPSET_VERSION: u32 = 2;
    pub(super) const GRAPH_NODE: u32 = 1;
    pub(super) const GRAPH_NAME: u32 = 2;
    pub(super) const GRAPH_INITIALIZER: u32 = 5;
    pub(super) const GRAPH_INPUT: u32 = 11;
    pub(super) const GRAPH_OUTPUT: u32 = 12;
    pub(super) const NODE_INPUT: u32 = 1;
    pub(super) const NODE_OUTPUT: u32 = 2;
    pub(super) const NODE_NAME: u32 = 3;
    pub(super) const NODE_OP: u32 = 4;
    pub(super) const NODE_ATTRIBUTE: u32 = 5;
    pub(super) const NODE_DOMAIN: u32 = 7;
    pub(super) const ATTR_NAME: u32 = 1;
    pub(super) const ATTR_FLOAT: u32 = 2;
    pub(super) const ATTR_INT: u32 = 3;
    pub(super) const ATTR_TYPE: u32 = 20;
    pub(super) const ATTR_TYPE_FLOAT: i64 = 1;
    pub(super) const ATTR_TYPE_INT: i64 = 2;
    pub(super) const TENSOR_DIMS: u32 = 1;
    pub(super) const TENSOR_TYPE: u32 = 2;
    pub(super) const TENSOR_NAME: u32 = 8;
    pub(super) const TENSOR_RAW: u32 = 9;
    pub(super) const VALUE_NAME: u32 = 1;
    pub(super) const VALUE_TYPE: u32 = 2;
    pub(super) const TYPE_TENSOR: u32 = 1;
    pub(super) const TENSOR_TYPE_ELEM: u32 = 1;
    pub(super) const TENSOR_TYPE_SHAPE: u32 = 2;
    pub(super) const SHAPE_DIM: u32 = 1;
    pub(super) const DIM_PARAM: u32 = 2;
    pub(super) const FLOAT: i64 = 1;
    pub(super) const INT32: i64 = 6;
    /// IR version 8 goes with opset 17, which every ONNX Runtime since 1.13 reads.
    pub(super) const IR_VERSION: i64 = 8;
    pub(super) const OPSET: i64 = 17;
}

const MICROSOFT: &str = "com.microsoft";

#[derive(Debug, thiserror::Error)]
pub(super) enum GraphError {
    #[error("model.safetensors: {0}")]
    Weights(String),
    #[error("config.json: {0}")]
    Config(String),
}

/// The ONNX model bytes of the BERT encoder described by `config` with `weights`
/// (a `model.safetensors` file's contents).
///
/// # Errors
/// [`GraphError`] when a weight is missing, has an unexpected shape or is not f32.
pub(super) fn bert_model(config: &Config, weights: &[u8]) -> Result<Vec<u8>, GraphError> {
    let weights = Weights::open(weights)?;
    let d = config.hidden_size;
    if config.num_attention_heads == 0 || !d.is_multiple_of(config.num_attention_heads) {
        return Err(GraphError::Config(format!(
            "hidden_size {d} is not a multiple of num_attention_heads {}",
            config.num_attention_heads
        )));
    }
    let eps = config.layer_norm_eps as f32;
    let mut g = Graph::default();

    let words = weights.matrix("embeddings.word_embeddings.weight", None, d)?;
    g.initializer("embeddings.words", &[words.rows, d], &words.data);
    // Token types are always 0 here: fold type 0 into the position table.
    let positions = weights.matrix("embeddings.position_embeddings.weight", None, d)?;
    let types = weights.matrix("embeddings.token_type_embeddings.weight", None, d)?;
    let table: Vec<f32> =
        positions.data.chunks(d).flat_map(|row| row.iter().zip(&types.data[..d]).map(|(p, t)| p + t)).collect();
    g.initializer("embeddings.positions", &[positions.rows, d], &table);
    g.layer_norm_weights(&weights, "embeddings.LayerNorm", d)?;

    g.node("Gather", "", &["embeddings.words", INPUT_IDS], "embed.words", &[]);
    g.node("Gather", "", &["embeddings.positions", POSITION_IDS], "embed.positions", &[]);
    g.node("Add", "", &["embed.words", "embed.positions"], "embed.sum", &[]);
    let mut x = g.node(
        "LayerNormalization",
        "",
        &["embed.sum", "embeddings.LayerNorm.weight", "embeddings.LayerNorm.bias"],
        "embed.out",
        &[Attr::Int("axis", -1), Attr::Float("epsilon", eps)],
    );

    for l in 0..config.num_hidden_layers {
        let p = format!("encoder.layer.{l}");
        // Attention wants one [d, 3d] matrix: the q, k and v projections side by side.
        let q = weights.matrix(&format!("{p}.attention.self.query.weight"), Some(d), d)?;
        let k = weights.matrix(&format!("{p}.attention.self.key.weight"), Some(d), d)?;
        let v = weights.matrix(&format!("{p}.attention.self.value.weight"), Some(d), d)?;
        let (qt, kt, vt) = (q.transposed(), k.transposed(), v.transposed());
        let qkv: Vec<f32> = (0..d)
            .flat_map(|i| [&qt, &kt, &vt].into_iter().flat_map(move |m| &m[i * d..(i + 1) * d]))
            .copied()
            .collect();
        g.initializer(&format!("{p}.qkv.weight"), &[d, 3 * d], &qkv);
        let mut qkv_bias = weights.vector(&format!("{p}.attention.self.query.bias"), d)?;
        qkv_bias.extend(weights.vector(&format!("{p}.attention.self.key.bias"), d)?);
        qkv_bias.extend(weights.vector(&format!("{p}.attention.self.value.bias"), d)?);
        g.initializer(&format!("{p}.qkv.bias"), &[3 * d], &qkv_bias);
        let attention = g.node(
            "Attention",
            MICROSOFT,
            &[&x, &format!("{p}.qkv.weight"), &format!("{p}.qkv.bias"), ATTENTION_MASK],
            &format!("{p}.attention"),
            &[Attr::Int("num_heads", config.num_attention_heads as i64)],
        );
        let projected = g.linear(&weights, &attention, &format!("{p}.attention.output.dense"), d, d)?;
        g.layer_norm_weights(&weights, &format!("{p}.attention.output.LayerNorm"), d)?;
        x = g.skip_layer_norm(&projected, &x, &format!("{p}.attention.output"), eps);

        let hidden = g.linear(&weights, &x, &format!("{p}.intermediate.dense"), d, config.intermediate_size)?;
        let bias = format!("{p}.intermediate.dense.bias");
        let activated = format!("{p}.intermediate.act");
        match config.hidden_act {
            HiddenAct::Gelu => g.node("BiasGelu", MICROSOFT, &[&hidden, &bias], &activated, &[]),
            HiddenAct::GeluApproximate => g.node("FastGelu", MICROSOFT, &[&hidden, &bias], &activated, &[]),
            HiddenAct::Relu => {
                let sum = g.node("Add", "", &[&hidden, &bias], &format!("{p}.intermediate.sum"), &[]);
                g.node("Relu", "", &[&sum], &activated, &[])
            }
        };
        let out = g.linear(&weights, &activated, &format!("{p}.output.dense"), config.intermediate_size, d)?;
        g.layer_norm_weights(&weights, &format!("{p}.output.LayerNorm"), d)?;
        x = g.skip_layer_norm(&out, &x, &format!("{p}.output"), eps);
    }
    g.node("Identity", "", &[&x], HIDDEN_STATES, &[]);
    Ok(g.into_model())
}

enum Attr<'a> {
    Int(&'a str, i64),
    Float(&'a str, f32),
}

#[derive(Default)]
struct Graph {
    nodes: Vec<Message>,
    initializers: Vec<Message>,
}

impl Graph {
    /// Adds a node with one output and returns that output's name.
    fn node(&mut self, op: &str, domain: &str, inputs: &[&str], output: &str, attrs: &[Attr]) -> String {
        let mut node = Message::new();
        for input in inputs {
            node.string(onnx::NODE_INPUT, input);
        }
        node.string(onnx::NODE_OUTPUT, output).string(onnx::NODE_NAME, output).string(onnx::NODE_OP, op);
        for attr in attrs {
            let mut a = Message::new();
            match attr {
                Attr::Int(name, v) => {
                    a.string(onnx::ATTR_NAME, name).int(onnx::ATTR_INT, *v).int(onnx::ATTR_TYPE, onnx::ATTR_TYPE_INT)
                }
                Attr::Float(name, v) => a
                    .string(onnx::ATTR_NAME, name)
                    .float(onnx::ATTR_FLOAT, *v)
                    .int(onnx::ATTR_TYPE, onnx::ATTR_TYPE_FLOAT),
            };
            node.message(onnx::NODE_ATTRIBUTE, &a);
        }
        if !domain.is_empty() {
            node.string(onnx::NODE_DOMAIN, domain);
        }
        self.nodes.push(node);
        output.to_owned()
    }

    fn initializer(&mut self, name: &str, dims: &[usize], data: &[f32]) {
        let mut t = Message::new();
        for dim in dims {
            t.int(onnx::TENSOR_DIMS, *dim as i64);
        }
        let raw: Vec<u8> = data.iter().flat_map(|v| v.to_le_bytes()).collect();
        t.int(onnx::TENSOR_TYPE, onnx::FLOAT).string(onnx::TENSOR_NAME, name).bytes(onnx::TENSOR_RAW, &raw);
        self.initializers.push(t);
    }

    /// `input · Wᵀ` (a `[outputs, inputs]` Linear weight, stored transposed for MatMul). The
    /// bias is stored as `name.bias` and added by the fused op that follows.
    fn linear(
        &mut self,
        weights: &Weights,
        input: &str,
        name: &str,
        inputs: usize,
        outputs: usize,
    ) -> Result<String, GraphError> {
        let w = weights.matrix(&format!("{name}.weight"), Some(outputs), inputs)?;
        self.initializer(&format!("{name}.weight.t"), &[inputs, outputs], &w.transposed());
        let bias = weights.vector(&format!("{name}.bias"), outputs)?;
        self.initializer(&format!("{name}.bias"), &[outputs], &bias);
        Ok(self.node("MatMul", "", &[input, &format!("{name}.weight.t")], &format!("{name}.matmul"), &[]))
    }

    fn layer_norm_weights(&mut self, weights: &Weights, name: &str, d: usize) -> Result<(), GraphError> {
        self.initializer(&format!("{name}.weight"), &[d], &weights.vector(&format!("{name}.weight"), d)?);
        self.initializer(&format!("{name}.bias"), &[d], &weights.vector(&format!("{name}.bias"), d)?);
        Ok(())
    }

    /// `LayerNorm(input + dense bias + skip)` of the block `name` (`name.dense.bias`,
    /// `name.LayerNorm.*`), one fused kernel.
    fn skip_layer_norm(&mut self, input: &str, skip: &str, name: &str, eps: f32) -> String {
        self.node(
            "SkipLayerNormalization",
            MICROSOFT,
            &[
                input,
                skip,
                &format!("{name}.LayerNorm.weight"),
                &format!("{name}.LayerNorm.bias"),
                &format!("{name}.dense.bias"),
            ],
            &format!("{name}.out"),
            &[Attr::Float("epsilon", eps)],
        )
    }

    fn into_model(self) -> Vec<u8> {
        let mut graph = Message::new();
        for node in &self.nodes {
            graph.message(onnx::GRAPH_NODE, node);
        }
        graph.string(onnx::GRAPH_NAME, "bert");
        for init in &self.initializers {
            graph.message(onnx::GRAPH_INITIALIZER, init);
        }
        drop(self.initializers);
        graph.message(onnx::GRAPH_INPUT, &value_info(INPUT_IDS, onnx::INT32, &[Dim::Batch, Dim::Sequence]));
        graph.message(onnx::GRAPH_INPUT, &value_info(POSITION_IDS, onnx::INT32, &[Dim::Sequence]));
        graph.message(onnx::GRAPH_INPUT, &value_info(ATTENTION_MASK, onnx::INT32, &[Dim::Batch, Dim::Sequence]));
        graph.message(
            onnx::GRAPH_OUTPUT,
            &value_info(HIDDEN_STATES, onnx::FLOAT, &[Dim::Batch, Dim::Sequence, Dim::Hidden]),
        );
        let mut model = Message::new();
        model.int(onnx::MODEL_IR_VERSION, onnx::IR_VERSION).string(onnx::MODEL_PRODUCER, "crawlrag");
        for (domain, version) in [("", onnx::OPSET), (MICROSOFT, 1)] {
            let mut opset = Message::new();
            opset.string(onnx::OPSET_DOMAIN, domain).int(onnx::OPSET_VERSION, version);
            model.message(onnx::MODEL_OPSET, &opset);
        }
        model.message(onnx::MODEL_GRAPH, &graph);
        model.into_bytes()
    }
}

enum Dim {
    Batch,
    Sequence,
    Hidden,
}

fn value_info(name: &str, elem: i64, dims: &[Dim]) -> Message {
    let mut shape = Message::new();
    for dim in dims {
        let mut d = Message::new();
        match dim {
            Dim::Batch => d.string(onnx::DIM_PARAM, "batch"),
            Dim::Sequence => d.string(onnx::DIM_PARAM, "sequence"),
            Dim::Hidden => d.string(onnx::DIM_PARAM, "hidden"),
        };
        shape.message(onnx::SHAPE_DIM, &d);
    }
    let mut tensor = Message::new();
    tensor.int(onnx::TENSOR_TYPE_ELEM, elem).message(onnx::TENSOR_TYPE_SHAPE, &shape);
    let mut ty = Message::new();
    ty.message(onnx::TYPE_TENSOR, &tensor);
    let mut info = Message::new();
    info.string(onnx::VALUE_NAME, name).message(onnx::VALUE_TYPE, &ty);
    info
}

/// A row-major f32 matrix read from the weights file.
struct Matrix {
    rows: usize,
    cols: usize,
    data: Vec<f32>,
}

impl Matrix {
    fn transposed(&self) -> Vec<f32> {
        let mut out = vec![0f32; self.data.len()];
        for r in 0..self.rows {
            for c in 0..self.cols {
                out[c * self.rows + r] = self.data[r * self.cols + c];
            }
        }
        out
    }
}

struct Weights<'a> {
    tensors: SafeTensors<'a>,
    /// `""` or `"bert."`: checkpoints saved from BertModel and from BertFor* differ.
    prefix: &'static str,
}

impl<'a> Weights<'a> {
    fn open(bytes: &'a [u8]) -> Result<Self, GraphError> {
        let tensors = SafeTensors::deserialize(bytes).map_err(|e| GraphError::Weights(e.to_string()))?;
        let prefix = if tensors.tensor("embeddings.word_embeddings.weight").is_ok() { "" } else { "bert." };
        Ok(Self { tensors, prefix })
    }

    fn floats(&self, name: &str) -> Result<(Vec<usize>, Vec<f32>), GraphError> {
        let full = format!("{}{name}", self.prefix);
        let view = self.tensors.tensor(&full).map_err(|e| GraphError::Weights(format!("{full}: {e}")))?;
        if view.dtype() != Dtype::F32 {
            return Err(GraphError::Weights(format!(
                "{full} is {:?}; the ONNX path reads f32 weights (set CRAWLRAG_EMBEDDING_BACKEND=candle)",
                view.dtype()
            )));
        }
        let data = view.data().chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
        Ok((view.shape().to_vec(), data))
    }

    /// A 2-D weight with `cols` columns (and `rows` rows when given).
    fn matrix(&self, name: &str, rows: Option<usize>, cols: usize) -> Result<Matrix, GraphError> {
        let (shape, data) = self.floats(name)?;
        match shape[..] {
            [r, c] if c == cols && rows.is_none_or(|rows| rows == r) => Ok(Matrix { rows: r, cols: c, data }),
            _ => Err(GraphError::Weights(format!("{name} has shape {shape:?}, expected [{rows:?}, {cols}]"))),
        }
    }

    fn vector(&self, name: &str, len: usize) -> Result<Vec<f32>, GraphError> {
        let (shape, data) = self.floats(name)?;
        if shape != [len] {
            return Err(GraphError::Weights(format!("{name} has shape {shape:?}, expected [{len}]")));
        }
        Ok(data)
    }
}
