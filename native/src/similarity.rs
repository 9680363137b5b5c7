//! TF-IDF vectors, word-pair shingles, the blended similarity matrix
//! (native/README.md §2; lib/consensus/similarity.ts). Sums run in ascending
//! term number, as in the reference, so every value is reproduced.

use crate::answer::Relation;
use crate::constants::{ANSWER_CONFLICT_FACTOR, ANSWER_MATCH_PULL, SIMILARITY_SCALE};
use rayon::prelude::*;

/// Term numbers ascending, L2-normalised weights.
pub struct TermVector {
    pub ids: Vec<u32>,
    pub weights: Vec<f64>,
}

/// Distinct global term numbers (ascending) and their counts, from a response's terms
/// as local numbers and the global number of each local one. Counted on the dense local
/// numbers; only the distinct terms are sorted.
pub fn count_terms(local_terms: &[u32], global: &[u32]) -> (Vec<u32>, Vec<u32>) {
    let mut local_counts = vec![0u32; global.len()];
    for &l in local_terms {
        local_counts[l as usize] += 1;
    }
    let mut pairs: Vec<(u32, u32)> =
        local_counts.iter().enumerate().filter(|&(_, &c)| c > 0).map(|(l, &c)| (global[l], c)).collect();
    pairs.sort_unstable_by_key(|&(id, _)| id);
    pairs.into_iter().unzip()
}

/// Smoothed inverse document frequency of every term: `ln((1 + N) / (1 + df)) + 1`.
pub fn inverse_document_frequencies(document_frequency: &[u32], n: usize) -> Vec<f64> {
    document_frequency.iter().map(|&df| ((1 + n) as f64 / (1 + df) as f64).ln() + 1.0).collect()
}

pub fn tfidf_vector(ids: Vec<u32>, counts: &[u32], idf: &[f64]) -> TermVector {
    let mut weights = Vec::with_capacity(ids.len());
    let mut sum_squares = 0.0;
    for (k, &id) in ids.iter().enumerate() {
        let w = (1.0 + (counts[k] as f64).ln()) * idf[id as usize];
        weights.push(w);
        sum_squares += w * w;
    }
    let norm = sum_squares.sqrt();
    if norm > 0.0 {
        for w in &mut weights {
            *w /= norm;
        }
    }
    TermVector { ids, weights }
}

/// Cosine by merging two sorted term lists: the definition `cosine_dense` must match bit for bit.
#[cfg(test)]
fn cosine(a: &TermVector, b: &TermVector) -> f64 {
    let (mut i, mut j, mut sum) = (0, 0, 0.0);
    while i < a.ids.len() && j < b.ids.len() {
        let (x, y) = (a.ids[i], b.ids[j]);
        if x == y {
            sum += a.weights[i] * b.weights[j];
            i += 1;
            j += 1;
        } else if x < y {
            i += 1;
        } else {
            j += 1;
        }
    }
    sum
}

/// 2^26: room for term numbers in each half of a pair key (the input caps keep vocabularies far below).
const SHINGLE_BASE: u64 = 1 << 26;

/// Word pairs as sorted distinct keys `(first + 1) × 2^26 + second`; a one-term response: its term.
pub fn shingles(terms: &[u32]) -> Vec<u64> {
    let mut keys: Vec<u64> = if terms.len() == 1 {
        vec![terms[0] as u64]
    } else {
        terms.windows(2).map(|p| (p[0] as u64 + 1) * SHINGLE_BASE + p[1] as u64).collect()
    };
    keys.sort_unstable();
    keys.dedup();
    keys
}

pub fn intersection_size<T: Ord>(a: &[T], b: &[T]) -> usize {
    let (mut i, mut j, mut common) = (0, 0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Equal => {
                common += 1;
                i += 1;
                j += 1;
            }
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
        }
    }
    common
}

pub fn jaccard<T: Ord>(a: &[T], b: &[T]) -> f64 {
    let common = intersection_size(a, b);
    let union = a.len() + b.len() - common;
    if union == 0 {
        0.0
    } else {
        common as f64 / union as f64
    }
}

pub fn blend(cos: f64, jac: f64, cosine_weight: f64, relation: Relation) -> f64 {
    let mut s = cosine_weight * cos + (1.0 - cosine_weight) * jac;
    match relation {
        Relation::Match => s += (1.0 - s) * ANSWER_MATCH_PULL,
        Relation::Conflict => s *= ANSWER_CONFLICT_FACTOR,
        Relation::None => {}
    }
    s = s.clamp(0.0, 1.0);
    (s * SIMILARITY_SCALE).round() / SIMILARITY_SCALE
}

/// The n × n matrix, row-major, 1 on the diagonal; rows computed in parallel when `parallel`.
/// Cosine of `b` with a vector spread over all term numbers (`dense`): the same
/// products, added in the same ascending term order as `cosine`, plus exact zeros.
fn cosine_dense(dense: &[f64], b: &TermVector) -> f64 {
    let mut sum = 0.0;
    for (k, &id) in b.ids.iter().enumerate() {
        sum += dense[id as usize] * b.weights[k];
    }
    sum
}

pub fn similarity_matrix(
    vectors: &[TermVector],
    shingle_sets: &[Vec<u64>],
    relation: impl Fn(usize, usize) -> Relation + Sync,
    cosine_weight: f64,
    parallel: bool,
) -> Vec<f64> {
    let n = vectors.len();
    let terms = vectors.iter().flat_map(|v| v.ids.last()).max().map_or(0, |&m| m as usize + 1);
    let row = |i: usize| -> Vec<f64> {
        // Row i against the later responses: i's weights spread out once, each other vector read once.
        let mut dense = vec![0.0; terms];
        for (k, &id) in vectors[i].ids.iter().enumerate() {
            dense[id as usize] = vectors[i].weights[k];
        }
        (i + 1..n)
            .map(|j| {
                blend(
                    cosine_dense(&dense, &vectors[j]),
                    jaccard(&shingle_sets[i], &shingle_sets[j]),
                    cosine_weight,
                    relation(i, j),
                )
            })
            .collect()
    };
    let rows: Vec<Vec<f64>> =
        if parallel { (0..n).into_par_iter().map(row).collect() } else { (0..n).map(row).collect() };
    let mut matrix = vec![0.0; n * n];
    for (i, values) in rows.into_iter().enumerate() {
        matrix[i * n + i] = 1.0;
        for (k, s) in values.into_iter().enumerate() {
            let j = i + 1 + k;
            matrix[i * n + j] = s;
            matrix[j * n + i] = s;
        }
    }
    matrix
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dense_cosine_is_the_merged_cosine_bit_for_bit() {
        // Deterministic pseudo-random sparse vectors over 500 terms.
        let mut seed = 12345u64;
        let mut next = move || {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (seed >> 33) as u32
        };
        let vectors: Vec<TermVector> = (0..20)
            .map(|_| {
                let mut ids: Vec<u32> = (0..(next() % 120)).map(|_| next() % 500).collect();
                ids.sort_unstable();
                ids.dedup();
                let counts: Vec<u32> = ids.iter().map(|_| 1 + next() % 4).collect();
                let idf: Vec<f64> = (0..500).map(|t| 1.0 + (t as f64 / 97.0)).collect();
                tfidf_vector(ids, &counts, &idf)
            })
            .collect();
        for a in &vectors {
            let mut dense = vec![0.0; 500];
            for (k, &id) in a.ids.iter().enumerate() {
                dense[id as usize] = a.weights[k];
            }
            for b in &vectors {
                assert_eq!(cosine_dense(&dense, b).to_bits(), cosine(a, b).to_bits());
            }
        }
    }
}
