//! Entity name vectors searched in memory, shared by the graph backends that have no vector
//! index of their own to rely on: the embedded tables (`sql_body/graph.rs`) and Bolt servers
//! (`bolt/`), whose vector indexes differ from server to server. Each backend decides when to
//! reload: by id and a generation (embedded), by a sequence number and a generation (Bolt).

use crate::domain::vector::{TopK, dot, from_le_bytes};

/// The name vectors of every entity, as one contiguous matrix (4 bytes x dimensions each).
#[derive(Debug, Default)]
pub(crate) struct EntityVectors {
    /// The generation this copy was loaded at; `None` before the first load.
    pub(crate) generation: Option<i64>,
    /// Highest id (or sequence number) loaded: rows above it are new.
    pub(crate) max_id: i64,
    dims: usize,
    keys: Vec<String>,
    data: Vec<f32>,
}

impl EntityVectors {
    pub(crate) fn reset(&mut self, generation: i64) {
        *self = Self { generation: Some(generation), ..Self::default() };
    }

    /// A vector stored as little-endian `f32` bytes.
    pub(crate) fn push(&mut self, id: i64, key: String, blob: &[u8]) {
        self.push_vector(id, key, from_le_bytes(blob));
    }

    /// A vector; the first one pushed sets the dimension, and vectors of another are skipped.
    pub(crate) fn push_vector(&mut self, id: i64, key: String, mut vector: Vec<f32>) {
        if self.dims == 0 {
            self.dims = vector.len();
        }
        self.max_id = self.max_id.max(id);
        if vector.len() != self.dims || vector.is_empty() {
            return;
        }
        // Normalised once here, so a query is one dot product per entity.
        let norm = vector.iter().map(|x| x * x).sum::<f32>().sqrt().max(f32::MIN_POSITIVE);
        vector.iter_mut().for_each(|x| *x /= norm);
        self.keys.push(key);
        self.data.extend_from_slice(&vector);
    }

    /// The best `k` keys by cosine similarity to `query`, best first.
    pub(crate) fn nearest(&self, query: &[f32], k: usize) -> Vec<(f32, String)> {
        if self.dims == 0 || query.len() != self.dims {
            return Vec::new();
        }
        let norm = query.iter().map(|x| x * x).sum::<f32>().sqrt().max(f32::MIN_POSITIVE);
        let mut top = TopK::new(k);
        for (row, vector) in self.data.chunks_exact(self.dims).enumerate() {
            top.push(dot(vector, query) / norm, row);
        }
        top.into_sorted().into_iter().map(|(score, row)| (score, self.keys[row].clone())).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::vector::to_le_bytes;

    #[test]
    fn entity_vectors_rank_by_cosine_and_append_by_id() {
        let mut vectors = EntityVectors::default();
        vectors.reset(0);
        vectors.push(1, "tokio".into(), &to_le_bytes(&[1.0, 0.0]));
        vectors.push(2, "serde".into(), &to_le_bytes(&[0.0, 2.0]));
        vectors.push_vector(3, "axum".into(), vec![1.0, 1.0]);
        let ranked = vectors.nearest(&[0.0, 1.0], 2);
        assert_eq!(ranked.iter().map(|(_, k)| k.as_str()).collect::<Vec<_>>(), ["serde", "axum"]);
        assert!((ranked[0].0 - 1.0).abs() < 1e-6);
        assert_eq!(vectors.max_id, 3);
        assert!(vectors.nearest(&[1.0, 0.0, 0.0], 2).is_empty(), "a query of another dimension matches nothing");
    }
}
