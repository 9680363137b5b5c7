//! Key points: sentences most experts' responses cover (native/README.md §4; lib/consensus/key-points.ts).

use crate::answer::has_answer_marker;
use crate::constants::{KEY_POINT_COVERAGE, KEY_POINT_DUPLICATE_JACCARD, KEY_POINT_MIN_TOKENS, KEY_POINT_SUPPORT};
use crate::engine::RawKeyPoint;
use crate::similarity::jaccard;
use crate::tokenize::{content_words, words};
use rayon::prelude::*;
use std::collections::HashMap;

struct Candidate {
    point: RawKeyPoint,
    sentence: usize,
    terms: Vec<u32>,
}

/// The candidates of one response's sentences.
fn candidates_of(
    response: usize,
    sentences: &[String],
    vocabulary: &HashMap<String, u32>,
    postings: &[Vec<u32>],
    weights: &[f64],
    total: f64,
) -> Vec<Candidate> {
    let n = weights.len();
    let mut counts = vec![0u32; n];
    let mut out = Vec::new();
    for (sentence, text) in sentences.iter().enumerate() {
        if has_answer_marker(&text.to_lowercase()) {
            continue;
        }
        let mut terms: Vec<u32> =
            content_words(&words(text)).iter().filter_map(|t| vocabulary.get(t).copied()).collect();
        terms.sort_unstable();
        terms.dedup();
        if terms.len() < KEY_POINT_MIN_TOKENS {
            continue;
        }
        for &id in &terms {
            for &d in &postings[id as usize] {
                counts[d as usize] += 1;
            }
        }
        let needed = KEY_POINT_COVERAGE * terms.len() as f64;
        let mut supporters = Vec::new();
        let mut weight = 0.0;
        for (d, count) in counts.iter_mut().enumerate() {
            if *count as f64 >= needed {
                supporters.push(d);
                weight += weights[d];
            }
            *count = 0;
        }
        let support = weight / total;
        if support > KEY_POINT_SUPPORT {
            out.push(Candidate {
                point: RawKeyPoint { text: text.clone(), response, support, supporters },
                sentence,
                terms,
            });
        }
    }
    out
}

pub fn key_points(
    sentence_lists: &[Vec<String>],
    vocabulary: &HashMap<String, u32>,
    postings: &[Vec<u32>],
    weights: &[f64],
    total: f64,
    max: usize,
    parallel: bool,
) -> Vec<RawKeyPoint> {
    if max == 0 {
        return Vec::new();
    }
    let of = |(response, sentences): (usize, &Vec<String>)| {
        candidates_of(response, sentences, vocabulary, postings, weights, total)
    };
    let mut candidates: Vec<Candidate> = if parallel {
        sentence_lists.par_iter().enumerate().flat_map_iter(of).collect()
    } else {
        sentence_lists.iter().enumerate().flat_map(of).collect()
    };
    candidates.sort_by(|a, b| {
        b.point
            .support
            .total_cmp(&a.point.support)
            .then(a.point.response.cmp(&b.point.response))
            .then(a.sentence.cmp(&b.sentence))
    });
    let mut chosen: Vec<Candidate> = Vec::new();
    for candidate in candidates {
        if chosen.len() >= max {
            break;
        }
        if chosen.iter().any(|c| jaccard(&c.terms, &candidate.terms) >= KEY_POINT_DUPLICATE_JACCARD) {
            continue;
        }
        chosen.push(candidate);
    }
    chosen.into_iter().map(|c| c.point).collect()
}
