//! An in-memory copy of the chunk vectors for exact search on SQLite: one contiguous f32 matrix
//! scanned with a bounded top-k, instead of decoding every blob from SQLite per query. It is
//! rebuilt when `index_generation` (bumped in every writer's transaction, in any process) moves,
//! so it is never stale after a commit. Memory is 4 bytes x dimensions per chunk, like any
//! vector index.

use std::collections::HashMap;

use crate::domain::vector::{TopK, dot, from_le_bytes};

#[derive(Debug, Default)]
pub(super) struct VectorCache {
    pub(super) generation: i64,
    dims: usize,
    ids: Vec<i64>,
    sources: Vec<u32>,
    source_index: HashMap<String, u32>,
    norms: Vec<f32>,
    data: Vec<f32>,
}

impl VectorCache {
    pub(super) fn new(generation: i64) -> Self {
        Self { generation, ..Self::default() }
    }

    pub(super) fn push(&mut self, id: i64, source: &str, blob: &[u8]) {
        let vector = from_le_bytes(blob);
        if self.dims == 0 {
            self.dims = vector.len();
        }
        if vector.len() != self.dims {
            return; // a foreign row; the meta table forbids mixed dimensions
        }
        let next = u32::try_from(self.source_index.len()).unwrap_or(u32::MAX);
        let source = *self.source_index.entry(source.to_owned()).or_insert(next);
        self.norms.push(vector.iter().map(|x| x * x).sum::<f32>().sqrt());
        self.ids.push(id);
        self.sources.push(source);
        self.data.extend_from_slice(&vector);
    }

    /// The best `k` (similarity, id), optionally within one source.
    pub(super) fn nearest(&self, query: &[f32], source: Option<&str>, k: usize) -> Vec<(f32, i64)> {
        let wanted = match source {
            Some(name) => match self.source_index.get(name) {
                Some(idx) => Some(*idx),
                None => return Vec::new(),
            },
            None => None,
        };
        if self.dims == 0 || query.len() != self.dims {
            return Vec::new();
        }
        let query_norm = query.iter().map(|x| x * x).sum::<f32>().sqrt().max(f32::MIN_POSITIVE);
        let mut top = TopK::new(k);
        for (row, vector) in self.data.chunks_exact(self.dims).enumerate() {
            if wanted.is_some_and(|w| self.sources[row] != w) {
                continue;
            }
            let norm = self.norms[row].max(f32::MIN_POSITIVE);
            top.push(dot(vector, query) / (norm * query_norm), self.ids[row]);
        }
        top.into_sorted()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::vector::to_le_bytes;

    #[test]
    fn nearest_respects_scores_and_sources() {
        let mut cache = VectorCache::new(1);
        cache.push(1, "a", &to_le_bytes(&[1.0, 0.0]));
        cache.push(2, "b", &to_le_bytes(&[0.8, 0.6]));
        cache.push(3, "a", &to_le_bytes(&[0.0, 1.0]));
        let all: Vec<i64> = cache.nearest(&[1.0, 0.1], None, 3).into_iter().map(|(_, id)| id).collect();
        assert_eq!(all, vec![1, 2, 3]);
        let only_a: Vec<i64> = cache.nearest(&[1.0, 0.1], Some("a"), 3).into_iter().map(|(_, id)| id).collect();
        assert_eq!(only_a, vec![1, 3]);
        assert!(cache.nearest(&[1.0, 0.0], Some("zzz"), 3).is_empty());
    }
}
