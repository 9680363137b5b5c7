//! Key points: sentences most experts' responses cover (native/README.md §4; lib/consensus/key-points.ts).

use crate::answer::has_answer_marker;
use crate::constants::{KEY_POINT_COVERAGE, KEY_POINT_DUPLICATE_JACCARD, KEY_POINT_MIN_TOKENS, KEY_POINT_SUPPORT};
use crate::engine::RawKeyPoint;
use crate::similarity::jaccard;
use rayon::prelude::*;

/// A sentence as key points need it: its text and distinct term numbers, ascending.
pub struct SentenceTerms<'a> {
    pub text: &'a str,
    pub terms: Vec<u32>,
    /// Whether the sentence states a final answer (has a marker); None: read its text to know.
    pub states_answer: Option<bool>,
}

/// A sentence that passed: where it is and its support (the rest is read again for the few chosen).
struct Candidate {
    response: usize,
    sentence: usize,
    support: f64,
}

/// What coverage is counted from: which responses hold each term, and their weights.
#[derive(Clone, Copy)]
pub struct Coverage<'a> {
    pub postings: &'a [Vec<u32>],
    pub weights: &'a [f64],
    pub total: f64,
}

/// Responses covering a sentence (index order) and their share of the weight.
fn supporters_of(terms: &[u32], coverage: Coverage<'_>, counts: &mut [u32]) -> (Vec<usize>, f64) {
    let Coverage { postings, weights, total } = coverage;
    for &id in terms {
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
    (supporters, weight / total)
}

fn candidates_of(response: usize, sentences: &[SentenceTerms<'_>], coverage: Coverage<'_>) -> Vec<Candidate> {
    let mut counts = vec![0u32; coverage.weights.len()];
    let mut out = Vec::new();
    for (sentence, s) in sentences.iter().enumerate() {
        if s.terms.len() < KEY_POINT_MIN_TOKENS {
            continue;
        }
        let (_, support) = supporters_of(&s.terms, coverage, &mut counts);
        // The marker test last: it reads the sentence's text, and few sentences get this far.
        if support > KEY_POINT_SUPPORT && !s.states_answer.unwrap_or_else(|| has_answer_marker(&s.text.to_lowercase()))
        {
            out.push(Candidate { response, sentence, support });
        }
    }
    out
}

/// `sentences_of(response)` gives a response's sentences; it is called for the authors only.
pub fn key_points<'t>(
    n: usize,
    sentences_of: impl Fn(usize) -> Vec<SentenceTerms<'t>> + Sync,
    authors: &[usize],
    coverage: Coverage<'_>,
    max: usize,
    parallel: bool,
) -> Vec<RawKeyPoint> {
    if max == 0 {
        return Vec::new();
    }
    // Each author's sentences and candidates in one step.
    let of = |&response: &usize| {
        let sentences = sentences_of(response);
        let candidates = candidates_of(response, &sentences, coverage);
        (response, sentences, candidates)
    };
    let per_author: Vec<_> =
        if parallel { authors.par_iter().map(of).collect() } else { authors.iter().map(of).collect() };
    let mut sentence_lists: Vec<Vec<SentenceTerms<'t>>> = (0..n).map(|_| Vec::new()).collect();
    let mut candidates: Vec<Candidate> = Vec::new();
    for (response, sentences, found) in per_author {
        sentence_lists[response] = sentences;
        candidates.extend(found);
    }
    candidates.sort_by(|a, b| {
        b.support.total_cmp(&a.support).then(a.response.cmp(&b.response)).then(a.sentence.cmp(&b.sentence))
    });
    let sentence = |c: &Candidate| &sentence_lists[c.response][c.sentence];
    let mut chosen: Vec<&Candidate> = Vec::new();
    for candidate in &candidates {
        if chosen.len() >= max {
            break;
        }
        let terms = &sentence(candidate).terms;
        if chosen.iter().any(|c| jaccard(&sentence(c).terms, terms) >= KEY_POINT_DUPLICATE_JACCARD) {
            continue;
        }
        chosen.push(candidate);
    }
    let mut counts = vec![0u32; coverage.weights.len()];
    chosen
        .into_iter()
        .map(|c| {
            let s = sentence(c);
            let (supporters, support) = supporters_of(&s.terms, coverage, &mut counts);
            RawKeyPoint { text: s.text.to_string(), response: c.response, support, supporters }
        })
        .collect()
}
