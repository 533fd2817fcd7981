//! Reciprocal rank fusion (Cormack, Clarke & Büttcher, SIGIR 2009): each list contributes
//! `1 / (k + rank)` for every item it ranks; items are ordered by the sum. Robust to lists whose
//! scores are not comparable (cosine similarity vs. BM25 / ts_rank), which is why hybrid search
//! fuses ranks, not scores.

use std::collections::HashMap;
use std::hash::Hash;

/// The constant from the paper; larger values flatten the contribution of top ranks.
pub const RRF_K: f64 = 60.0;

/// Fuse ranked lists of keys; returns (key, score) best first. Ties keep first-seen order.
pub fn reciprocal_rank_fusion<K: Clone + Eq + Hash>(lists: &[Vec<K>], k: f64) -> Vec<(K, f64)> {
    let mut scores: HashMap<K, (f64, usize)> = HashMap::new();
    let mut order = 0;
    for list in lists {
        for (rank, key) in list.iter().enumerate() {
            #[expect(clippy::cast_precision_loss, reason = "ranks are small")]
            let contribution = 1.0 / (k + (rank + 1) as f64);
            let entry = scores.entry(key.clone()).or_insert_with(|| {
                order += 1;
                (0.0, order)
            });
            entry.0 += contribution;
        }
    }
    let mut fused: Vec<(K, f64, usize)> = scores.into_iter().map(|(key, (score, seen))| (key, score, seen)).collect();
    fused.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.2.cmp(&b.2)));
    fused.into_iter().map(|(key, score, _)| (key, score)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_in_both_lists_win_and_input_order_does_not_matter() {
        let vector = vec!["a", "b", "c"];
        let keyword = vec!["c", "d", "a"];
        let fused = reciprocal_rank_fusion(&[vector.clone(), keyword.clone()], RRF_K);
        let keys: Vec<&str> = fused.iter().map(|(k, _)| *k).collect();
        assert_eq!(&keys[..2], &["a", "c"]);
        assert_eq!(keys.len(), 4);
        let swapped = reciprocal_rank_fusion(&[keyword, vector], RRF_K);
        let mut a: Vec<_> = fused.iter().map(|(k, s)| (*k, (s * 1e9) as i64)).collect();
        let mut b: Vec<_> = swapped.iter().map(|(k, s)| (*k, (s * 1e9) as i64)).collect();
        a.sort();
        b.sort();
        assert_eq!(a, b, "scores do not depend on list order");
        assert!((fused[0].1 - (1.0 / 61.0 + 1.0 / 63.0)).abs() < 1e-12);
    }
}
