//! The consensus engine in plain Rust: no napi types, so `cargo test` runs it
//! without Node. The crate root (lib.rs) converts to and from the JavaScript shapes
//! (lib/consensus/types.ts) at the boundary.
//!
//! Indices are `usize` here and `u32` in JavaScript; the input limits below keep
//! them far inside `u32`.

use std::fmt;

/// Responses per aggregation (lib/consensus/limits.ts MAX_RESPONSES).
pub const MAX_RESPONSES: usize = 256;
/// UTF-8 bytes per response (MAX_RESPONSE_BYTES).
pub const MAX_RESPONSE_BYTES: usize = 64 * 1024;
/// UTF-8 bytes over all responses (MAX_TOTAL_BYTES).
pub const MAX_TOTAL_BYTES: usize = 4 * 1024 * 1024;
/// Upper bound of `Options::max_key_points` (MAX_KEY_POINTS_LIMIT).
pub const MAX_KEY_POINTS_LIMIT: usize = 50;

/// Options with every default filled in (ResolvedOptions).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Options {
    /// Average similarity needed to join a cluster, in [0, 1].
    pub threshold: f64,
    /// Share of TF-IDF cosine in the blended similarity, in [0, 1].
    pub cosine_weight: f64,
    /// Key points returned at most (0..=MAX_KEY_POINTS_LIMIT).
    pub max_key_points: usize,
}

impl Default for Options {
    /// The documented defaults (what lib/consensus fills in for missing options).
    fn default() -> Self {
        use crate::constants::{CLUSTER_THRESHOLD, COSINE_WEIGHT, MAX_KEY_POINTS};
        Options { threshold: CLUSTER_THRESHOLD, cosine_weight: COSINE_WEIGHT, max_key_points: MAX_KEY_POINTS }
    }
}

/// The kind of a final answer; `as_str` is the JavaScript spelling (AnswerKind).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AnswerKind {
    Number,
    Choice,
    YesNo,
    Text,
}

impl AnswerKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AnswerKind::Number => "number",
            AnswerKind::Choice => "choice",
            AnswerKind::YesNo => "yes-no",
            AnswerKind::Text => "text",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FinalAnswer {
    pub kind: AnswerKind,
    /// Canonical: "1250", "0.75", "B", "yes", "canberra".
    pub value: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RawCluster {
    /// Response indices, ascending.
    pub members: Vec<usize>,
    pub weight: f64,
    /// weight / total weight.
    pub share: f64,
    /// The medoid's index.
    pub representative: usize,
    /// Weighted mean similarity of the other members to the representative (1 alone).
    pub cohesion: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RawKeyPoint {
    pub text: String,
    /// Index of the response the sentence comes from.
    pub response: usize,
    /// Share of the total weight whose responses cover the sentence.
    pub support: f64,
    pub supporters: Vec<usize>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RawVoteOption {
    pub kind: AnswerKind,
    pub value: String,
    /// Share of the voters' weight.
    pub share: f64,
    pub voters: Vec<usize>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RawVote {
    /// Voters' weight / total weight.
    pub turnout: f64,
    /// Most weight first; options[0] wins.
    pub options: Vec<RawVoteOption>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RawConsensus {
    /// Index of the consensus response: the winning cluster's medoid.
    pub consensus: usize,
    /// Share of the total weight in the winning cluster.
    pub agreement: f64,
    /// Winning cluster first, then by weight.
    pub clusters: Vec<RawCluster>,
    /// Per response: position of its cluster in `clusters`.
    pub cluster_of: Vec<usize>,
    /// Per response: similarity to the consensus response (1 for itself).
    pub similarity: Vec<f64>,
    /// Per response: its final answer, if it has one.
    pub answers: Vec<Option<FinalAnswer>>,
    pub key_points: Vec<RawKeyPoint>,
    pub vote: Option<RawVote>,
}

/// Why the engine refused its input. Every variant is the caller's mistake
/// (`is_invalid_input`); the bindings report those as napi `InvalidArg`.
#[derive(Debug, Clone, PartialEq)]
pub enum EngineError {
    LengthMismatch { texts: usize, weights: usize },
    ResponseCount(usize),
    Weight { index: usize, value: f64 },
    ResponseTooLarge { index: usize, bytes: usize },
    TotalTooLarge(usize),
    Threshold(f64),
    CosineWeight(f64),
    MaxKeyPoints(usize),
}

impl EngineError {
    pub fn is_invalid_input(&self) -> bool {
        // Every variant today; an internal failure added later returns false.
        true
    }
}

impl fmt::Display for EngineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EngineError::LengthMismatch { texts, weights } => {
                write!(f, "texts and weights differ in length: {texts} texts, {weights} weights")
            }
            EngineError::ResponseCount(n) => {
                write!(f, "expected 1 to {MAX_RESPONSES} responses, got {n}")
            }
            EngineError::Weight { index, value } => {
                write!(f, "weights[{index}] is {value}; expected a finite number > 0")
            }
            EngineError::ResponseTooLarge { index, bytes } => {
                write!(f, "texts[{index}] is {bytes} bytes; at most {MAX_RESPONSE_BYTES} per response")
            }
            EngineError::TotalTooLarge(bytes) => {
                write!(f, "the texts total {bytes} bytes; at most {MAX_TOTAL_BYTES} per aggregation")
            }
            EngineError::Threshold(v) => {
                write!(f, "options.threshold is {v}; expected a number in [0, 1]")
            }
            EngineError::CosineWeight(v) => {
                write!(f, "options.cosineWeight is {v}; expected a number in [0, 1]")
            }
            EngineError::MaxKeyPoints(n) => {
                write!(f, "options.maxKeyPoints is {n}; expected an integer from 0 to {MAX_KEY_POINTS_LIMIT}")
            }
        }
    }
}

impl std::error::Error for EngineError {}

/// Checks what lib/consensus/limits.ts checks before calling the addon, so a
/// direct caller of the addon gets a clear error instead of a wrong result.
pub fn validate(texts: &[String], weights: &[f64], options: &Options) -> Result<(), EngineError> {
    if texts.len() != weights.len() {
        return Err(EngineError::LengthMismatch { texts: texts.len(), weights: weights.len() });
    }
    if texts.is_empty() || texts.len() > MAX_RESPONSES {
        return Err(EngineError::ResponseCount(texts.len()));
    }
    if let Some((index, &value)) = weights.iter().enumerate().find(|(_, w)| !(w.is_finite() && **w > 0.0)) {
        return Err(EngineError::Weight { index, value });
    }
    let mut total = 0;
    for (index, text) in texts.iter().enumerate() {
        if text.len() > MAX_RESPONSE_BYTES {
            return Err(EngineError::ResponseTooLarge { index, bytes: text.len() });
        }
        total += text.len();
    }
    if total > MAX_TOTAL_BYTES {
        return Err(EngineError::TotalTooLarge(total));
    }
    // `contains` is false for NaN, so NaN is refused too.
    if !(0.0..=1.0).contains(&options.threshold) {
        return Err(EngineError::Threshold(options.threshold));
    }
    if !(0.0..=1.0).contains(&options.cosine_weight) {
        return Err(EngineError::CosineWeight(options.cosine_weight));
    }
    if options.max_key_points > MAX_KEY_POINTS_LIMIT {
        return Err(EngineError::MaxKeyPoints(options.max_key_points));
    }
    Ok(())
}

/// The consensus over `texts` with their `weights` (native/README.md).
pub fn consensus(texts: &[String], weights: &[f64], options: &Options) -> Result<RawConsensus, EngineError> {
    validate(texts, weights, options)?;
    Ok(crate::pipeline::run(texts, weights, options))
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPTIONS: Options = Options { threshold: 0.3, cosine_weight: 0.7, max_key_points: 5 };

    #[test]
    fn defaults_are_the_documented_ones() {
        assert_eq!(Options::default(), OPTIONS);
    }

    fn texts(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn paraphrases_win_over_a_dissenter() {
        let r = consensus(
            &texts(&[
                "The capital of Australia is Canberra. It was chosen as a compromise between Sydney and Melbourne.\n\nFinal answer: Canberra",
                "Canberra is Australia's capital city, selected in 1908 as a compromise between Sydney and Melbourne. Answer: Canberra.",
                "The capital of Australia is Sydney, its largest and best known city. Final answer: Sydney",
            ]),
            &[1.0, 1.0, 1.0],
            &OPTIONS,
        )
        .unwrap();
        assert_eq!(r.clusters[0].members, vec![0, 1]);
        assert_eq!(r.cluster_of, vec![0, 0, 1]);
        assert!((r.agreement - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(r.similarity[r.consensus], 1.0);
        let vote = r.vote.unwrap();
        assert_eq!(vote.options[0].value, "canberra");
        assert_eq!(vote.options[0].voters, vec![0, 1]);
        assert!((vote.options[0].share - 2.0 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn shares_sum_to_one_and_cluster_of_points_back() {
        let w = [0.5, 3.0, 1.5, 1.5];
        let r = consensus(&texts(&["w", "x", "y", "z"]), &w, &OPTIONS).unwrap();
        assert!((r.clusters.iter().map(|c| c.share).sum::<f64>() - 1.0).abs() < 1e-12);
        for (i, &c) in r.cluster_of.iter().enumerate() {
            assert!(r.clusters[c].members.contains(&i));
        }
        // The heaviest response wins when nothing agrees.
        assert_eq!(r.consensus, 1);
    }

    #[test]
    fn the_same_result_on_one_thread_and_many() {
        let many: Vec<String> = (0..40)
            .map(|i| format!("Response {i} says the answer is {} because of reason {}. ", i % 3, i % 5).repeat(60))
            .collect();
        let weights = vec![1.0; many.len()];
        // The background pool (one thread per core), one thread doing the parallel steps, and the sequential path.
        let pooled = consensus(&many, &weights, &OPTIONS).unwrap();
        let one_thread = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
        let single = one_thread.install(|| crate::pipeline::compute(&many, &weights, &OPTIONS, true));
        let four_threads = rayon::ThreadPoolBuilder::new().num_threads(4).build().unwrap();
        let four = four_threads.install(|| crate::pipeline::compute(&many, &weights, &OPTIONS, true));
        let sequential = crate::pipeline::compute(&many, &weights, &OPTIONS, false);
        assert_eq!(pooled, single);
        assert_eq!(pooled, four);
        assert_eq!(pooled, sequential);
    }

    #[test]
    fn refuses_invalid_input() {
        let two = texts(&["a", "b"]);
        assert_eq!(consensus(&two, &[1.0], &OPTIONS), Err(EngineError::LengthMismatch { texts: 2, weights: 1 }));
        assert_eq!(consensus(&[], &[], &OPTIONS), Err(EngineError::ResponseCount(0)));
        let many = vec![String::new(); MAX_RESPONSES + 1];
        assert_eq!(consensus(&many, &vec![1.0; MAX_RESPONSES + 1], &OPTIONS), Err(EngineError::ResponseCount(257)));
        assert_eq!(consensus(&two, &[1.0, 0.0], &OPTIONS), Err(EngineError::Weight { index: 1, value: 0.0 }));
        assert!(matches!(consensus(&two, &[f64::NAN, 1.0], &OPTIONS), Err(EngineError::Weight { index: 0, .. })));
        assert!(matches!(consensus(&two, &[1.0, f64::INFINITY], &OPTIONS), Err(EngineError::Weight { index: 1, .. })));
        let threshold = Options { threshold: 1.5, ..OPTIONS };
        assert_eq!(consensus(&two, &[1.0, 1.0], &threshold), Err(EngineError::Threshold(1.5)));
        let cosine = Options { cosine_weight: f64::NAN, ..OPTIONS };
        assert!(matches!(consensus(&two, &[1.0, 1.0], &cosine), Err(EngineError::CosineWeight(_))));
        let key_points = Options { max_key_points: 51, ..OPTIONS };
        assert_eq!(consensus(&two, &[1.0, 1.0], &key_points), Err(EngineError::MaxKeyPoints(51)));
        let big = vec!["x".repeat(MAX_RESPONSE_BYTES + 1)];
        assert_eq!(
            consensus(&big, &[1.0], &OPTIONS),
            Err(EngineError::ResponseTooLarge { index: 0, bytes: MAX_RESPONSE_BYTES + 1 })
        );
        assert_eq!(
            EngineError::Weight { index: 1, value: 0.0 }.to_string(),
            "weights[1] is 0; expected a finite number > 0"
        );
    }
}
