//! Pure ranking for graph retrieval: relations scored by how well both ends match the query
//! (the `global` mode), round-robin merging (`hybrid`), weighted reciprocal rank fusion of
//! graph chunks with plain chunk search (`mix`), and the response token budget.

use std::collections::{HashMap, HashSet};
use std::hash::Hash;

use crate::domain::fusion::RRF_K;
use crate::ports::RelationRecord;

/// Weight of the graph's chunk list against plain chunk search in `mix`: below 1, so a chunk
/// only the graph found never displaces plain search's top results, while chunks both find rise.
pub const MIX_GRAPH_WEIGHT: f64 = 0.5;

/// Rank relations for the `global` mode: the mean query similarity of both ends (an end that is
/// not among the query's entities counts 0), scaled by the log of the relation's weight.
pub fn rank_relations(relations: Vec<RelationRecord>, similarity: &HashMap<String, f32>) -> Vec<(RelationRecord, f64)> {
    let sim = |key: &str| f64::from(similarity.get(key).copied().unwrap_or(0.0).max(0.0));
    let mut scored: Vec<(RelationRecord, f64)> = relations
        .into_iter()
        .map(|r| {
            let score = (sim(&r.source) + sim(&r.target)) / 2.0 * (1.0 + r.weight.max(0.0)).ln_1p();
            (r, score)
        })
        .collect();
    scored
        .sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| (&a.0.source, &a.0.target).cmp(&(&b.0.source, &b.0.target))));
    scored
}

/// Alternate between two ranked lists, skipping what was already taken (by `key`).
pub fn round_robin<T, K: Eq + Hash>(a: Vec<T>, b: Vec<T>, key: impl Fn(&T) -> K) -> Vec<T> {
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut a, mut b) = (a.into_iter(), b.into_iter());
    loop {
        let (x, y) = (a.next(), b.next());
        if x.is_none() && y.is_none() {
            return out;
        }
        for item in [x, y].into_iter().flatten() {
            if seen.insert(key(&item)) {
                out.push(item);
            }
        }
    }
}

/// Reciprocal rank fusion with a weight per list: `weight / (k + rank)` summed; best first,
/// ties in first-seen order.
pub fn weighted_rrf<K: Clone + Eq + Hash>(lists: &[(&[K], f64)]) -> Vec<(K, f64)> {
    let mut scores: HashMap<K, (f64, usize)> = HashMap::new();
    let mut order = 0;
    for (list, weight) in lists {
        for (rank, key) in list.iter().enumerate() {
            #[expect(clippy::cast_precision_loss, reason = "ranks are small")]
            let contribution = weight / (RRF_K + (rank + 1) as f64);
            let entry = scores.entry(key.clone()).or_insert_with(|| {
                order += 1;
                (0.0, order)
            });
            entry.0 += contribution;
        }
    }
    let mut fused: Vec<(K, f64, usize)> = scores.into_iter().map(|(k, (s, o))| (k, s, o)).collect();
    fused.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.2.cmp(&b.2)));
    fused.into_iter().map(|(k, s, _)| (k, s)).collect()
}

/// Rough token count of a text (4 characters per token, the usual estimate for English).
pub fn estimated_tokens(text: &str) -> usize {
    text.len().div_ceil(4)
}

/// Keep the longest prefix of `items` whose estimated size fits `budget` tokens; answers the
/// tokens left.
pub fn fit_budget<T>(items: &mut Vec<T>, budget: usize, size: impl Fn(&T) -> usize) -> usize {
    let mut used = 0;
    let keep = items
        .iter()
        .take_while(|item| {
            used += size(item);
            used <= budget
        })
        .count();
    items.truncate(keep);
    budget.saturating_sub(items.iter().map(&size).sum())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn relation(source: &str, target: &str, weight: f64) -> RelationRecord {
        RelationRecord {
            source: source.into(),
            target: target.into(),
            relation_type: "CO_OCCURS".into(),
            weight,
            count: 1,
        }
    }

    #[test]
    fn relations_whose_both_ends_match_the_query_rank_first() {
        let similarity: HashMap<String, f32> =
            [("tokio".into(), 0.9), ("axum".into(), 0.8), ("serde".into(), 0.1)].into();
        let ranked = rank_relations(
            vec![relation("serde", "json", 5.0), relation("axum", "tokio", 1.0), relation("tokio", "json", 1.0)],
            &similarity,
        );
        let order: Vec<(&str, &str)> = ranked.iter().map(|(r, _)| (r.source.as_str(), r.target.as_str())).collect();
        assert_eq!(order, [("axum", "tokio"), ("tokio", "json"), ("serde", "json")]);
    }

    #[test]
    fn round_robin_alternates_without_repeats() {
        let merged = round_robin(vec!["a", "b", "c"], vec!["b", "d"], |s| *s);
        assert_eq!(merged, ["a", "b", "d", "c"]);
    }

    #[test]
    fn graph_only_chunks_never_displace_plain_top_results_in_mix() {
        let plain = ["p0", "p1", "p2", "p3", "p4", "p5", "p6", "p7", "p8", "p9"];
        let graph = ["g0", "p5"];
        let fused = weighted_rrf(&[(&plain, 1.0), (&graph, MIX_GRAPH_WEIGHT)]);
        let keys: Vec<&str> = fused.iter().map(|(k, _)| *k).collect();
        assert_eq!(keys[0], "p5", "a chunk both lists rank rises to the top: {keys:?}");
        let g0 = keys.iter().position(|k| *k == "g0").unwrap();
        assert_eq!(g0, keys.len() - 1, "the graph-only chunk comes after every plain result: {keys:?}");
    }

    #[test]
    fn the_budget_keeps_a_prefix() {
        let mut items = vec!["aaaa", "bbbbbbbb", "cccc"];
        let left = fit_budget(&mut items, 2, |s| estimated_tokens(s));
        assert_eq!(items, ["aaaa"]);
        assert_eq!(left, 1);
    }
}
