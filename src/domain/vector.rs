//! Exact nearest-neighbour search helpers for stores without a vector index (the embedded SQLite
//! store): cosine similarity and a bounded top-k that keeps memory at O(k) however many
//! candidates stream past.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

/// Cosine similarity of two equal-length vectors; 0 when either is all zeros.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let (mut dot, mut na, mut nb) = (0f32, 0f32, 0f32);
    for (x, y) in a.iter().zip(b) {
        dot += x * y;
        na += x * x;
        nb += y * y;
    }
    if na == 0.0 || nb == 0.0 { 0.0 } else { dot / (na.sqrt() * nb.sqrt()) }
}

/// Dot product of two equal-length vectors, summed in eight independent lanes so the compiler
/// can use SIMD registers (a single running sum is a dependency chain it must keep in order).
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut lanes = [0f32; 8];
    let (xs, ys) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = xs.remainder().iter().zip(ys.remainder()).map(|(x, y)| x * y).sum();
    for (x, y) in xs.zip(ys) {
        for i in 0..8 {
            lanes[i] += x[i] * y[i];
        }
    }
    lanes.iter().sum::<f32>() + tail
}

/// Encode a vector as little-endian f32 bytes.
pub fn to_le_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// Decode little-endian f32 bytes (a trailing partial value is ignored).
pub fn from_le_bytes(bytes: &[u8]) -> Vec<f32> {
    bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct Scored<T> {
    score: f32,
    item: T,
}

impl<T: PartialEq> Eq for Scored<T> {}

impl<T: PartialEq> PartialOrd for Scored<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<T: PartialEq> Ord for Scored<T> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.score.total_cmp(&other.score)
    }
}

/// The `k` best-scored items seen so far (a min-heap of size k).
#[derive(Debug)]
pub struct TopK<T> {
    k: usize,
    heap: BinaryHeap<Reverse<Scored<T>>>,
}

impl<T: PartialEq> TopK<T> {
    pub fn new(k: usize) -> Self {
        Self { k, heap: BinaryHeap::with_capacity(k + 1) }
    }

    pub fn push(&mut self, score: f32, item: T) {
        if self.k == 0 {
            return;
        }
        if self.heap.len() < self.k {
            self.heap.push(Reverse(Scored { score, item }));
        } else if self.heap.peek().is_some_and(|worst| score > worst.0.score) {
            self.heap.pop();
            self.heap.push(Reverse(Scored { score, item }));
        }
    }

    /// Items best first.
    pub fn into_sorted(self) -> Vec<(f32, T)> {
        let mut items: Vec<(f32, T)> = self.heap.into_iter().map(|Reverse(s)| (s.score, s.item)).collect();
        items.sort_by(|a, b| b.0.total_cmp(&a.0));
        items
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_matches_the_plain_sum_for_any_length() {
        for len in [0, 1, 7, 8, 9, 384] {
            let a: Vec<f32> = (0..len).map(|i| (i as f32 * 0.37).sin()).collect();
            let b: Vec<f32> = (0..len).map(|i| (i as f32 * 0.11).cos()).collect();
            let plain: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
            assert!((dot(&a, &b) - plain).abs() < 1e-4, "{len}");
        }
    }

    #[test]
    fn cosine_of_parallel_orthogonal_and_zero_vectors() {
        assert!((cosine(&[1.0, 2.0], &[2.0, 4.0]) - 1.0).abs() < 1e-6);
        assert!(cosine(&[1.0, 0.0], &[0.0, 1.0]).abs() < 1e-6);
        assert_eq!(cosine(&[0.0, 0.0], &[1.0, 1.0]), 0.0);
    }

    #[test]
    fn top_k_keeps_the_best_in_order_regardless_of_input_order() {
        let scores = [0.3, 0.9, 0.1, 0.7, 0.5, 0.8];
        let mut top = TopK::new(3);
        for (i, s) in scores.iter().enumerate() {
            top.push(*s, i);
        }
        assert_eq!(top.into_sorted().into_iter().map(|(_, i)| i).collect::<Vec<_>>(), vec![1, 5, 3]);
        let mut reversed = TopK::new(3);
        for (i, s) in scores.iter().enumerate().rev() {
            reversed.push(*s, i);
        }
        assert_eq!(reversed.into_sorted().into_iter().map(|(_, i)| i).collect::<Vec<_>>(), vec![1, 5, 3]);
    }

    #[test]
    fn bytes_round_trip() {
        let v = vec![0.5f32, -1.25, 3.0e-7];
        assert_eq!(from_le_bytes(&to_le_bytes(&v)), v);
    }
}
