//! The algorithm end to end (native/README.md), on validated input: the steps
//! that are independent per response (or per similarity row) run in parallel
//! when the input is large enough to pay for it; term numbering, clustering,
//! ranking and the vote run in order. The result does not depend on the thread count.

use crate::answer::{answer_relation, final_answer};
use crate::cluster::cluster_responses;
use crate::engine::{FinalAnswer, Options, RawConsensus};
use crate::key_points::key_points;
use crate::similarity::{count_terms, shingles, similarity_matrix, tfidf_vector};
use crate::tokenize::{document_terms, sentences, words};
use crate::vote::vote;
use rayon::prelude::*;
use std::collections::HashMap;

/// Below this much text, spreading work over threads costs more than it saves
/// (measured with benchmarks/consensus: 5 × 1 KB runs fastest on one thread).
const PARALLEL_MIN_BYTES: usize = 16 * 1024;

struct Prepared {
    terms: Vec<String>,
    sentences: Vec<String>,
    answer: Option<FinalAnswer>,
}

fn prepare(text: &str) -> Prepared {
    let all = words(text);
    let sentences = sentences(text);
    let answer = final_answer(text, all.len(), sentences.last().map(String::as_str));
    Prepared { terms: document_terms(&all), sentences, answer }
}

/// `f` over `items`, in parallel or not, results in item order.
fn map<T: Sync, R: Send>(parallel: bool, items: &[T], f: impl Fn(&T) -> R + Sync + Send) -> Vec<R> {
    if parallel {
        items.par_iter().map(f).collect()
    } else {
        items.iter().map(f).collect()
    }
}

pub fn run(texts: &[String], weights: &[f64], options: &Options) -> RawConsensus {
    let n = texts.len();
    let parallel = n > 1 && texts.iter().map(String::len).sum::<usize>() >= PARALLEL_MIN_BYTES;
    let prepared = map(parallel, texts, |t| prepare(t));

    // Term numbers in order of first appearance, response 0 first.
    let mut vocabulary: HashMap<String, u32> = HashMap::new();
    let mut sentence_lists = Vec::with_capacity(n);
    let mut answers = Vec::with_capacity(n);
    let mut term_ids: Vec<Vec<u32>> = Vec::with_capacity(n);
    for p in prepared {
        let ids = p
            .terms
            .into_iter()
            .map(|term| {
                let next = vocabulary.len() as u32;
                *vocabulary.entry(term).or_insert(next)
            })
            .collect();
        term_ids.push(ids);
        sentence_lists.push(p.sentences);
        answers.push(p.answer);
    }

    let counted = map(parallel, &term_ids, |terms| count_terms(terms));
    let mut document_frequency = vec![0u32; vocabulary.len()];
    let mut postings: Vec<Vec<u32>> = vec![Vec::new(); vocabulary.len()];
    for (d, (ids, _)) in counted.iter().enumerate() {
        for &id in ids {
            document_frequency[id as usize] += 1;
            postings[id as usize].push(d as u32);
        }
    }
    let vectors = map(parallel, &counted, |(ids, counts)| tfidf_vector(ids.clone(), counts, &document_frequency, n));
    let shingle_sets = map(parallel, &term_ids, |terms| shingles(terms));
    let matrix = similarity_matrix(
        &vectors,
        &shingle_sets,
        |i, j| answer_relation(answers[i].as_ref(), answers[j].as_ref()),
        options.cosine_weight,
        parallel,
    );

    let (clusters, cluster_of) = cluster_responses(&matrix, weights, options.threshold);
    let total: f64 = weights.iter().sum();
    let consensus = clusters[0].representative;
    let key_points =
        key_points(&sentence_lists, &vocabulary, &postings, weights, total, options.max_key_points, parallel);
    let vote = vote(&answers, weights, total);
    RawConsensus {
        consensus,
        agreement: clusters[0].share,
        similarity: (0..n).map(|i| matrix[i * n + consensus]).collect(),
        clusters,
        cluster_of,
        answers,
        key_points,
        vote,
    }
}
