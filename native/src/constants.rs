//! Every constant of the algorithm; the reasons for their values are in
//! lib/consensus/constants.ts and native/README.md (the same values, by name).

/// Share of TF-IDF cosine in the blended similarity (option `cosineWeight`).
pub const COSINE_WEIGHT: f64 = 0.7;
/// Weighted average similarity needed to join a cluster (option `threshold`).
pub const CLUSTER_THRESHOLD: f64 = 0.3;
/// The same final answer moves the similarity this share of the way to 1.
pub const ANSWER_MATCH_PULL: f64 = 0.5;
/// Conflicting final answers multiply the similarity by this.
pub const ANSWER_CONFLICT_FACTOR: f64 = 0.3;
/// Similarities are rounded to 12 decimals: × this, round, ÷ this.
pub const SIMILARITY_SCALE: f64 = 1e12;
/// Characters of a final answer looked at after its marker.
pub const MAX_ANSWER_CHARS: usize = 200;
/// Content words a sentence needs to be a key point.
pub const KEY_POINT_MIN_TOKENS: usize = 3;
/// Share of a sentence's content words a response must contain to support it.
pub const KEY_POINT_COVERAGE: f64 = 0.6;
/// Support (share of the total weight) a key point must exceed.
pub const KEY_POINT_SUPPORT: f64 = 0.5;
/// Candidate key points this similar (term-set Jaccard) to a chosen one are skipped.
pub const KEY_POINT_DUPLICATE_JACCARD: f64 = 0.5;
/// Key points returned at most, by default.
pub const MAX_KEY_POINTS: usize = 5;
/// A response of at most this many words is its own final answer.
pub const SHORT_RESPONSE_MAX_TOKENS: usize = 6;
/// A last sentence of at most this many words may conclude with a number.
pub const CONCLUDING_SENTENCE_MAX_WORDS: usize = 12;
/// A short text answer has at most this many content words.
pub const TEXT_ANSWER_MAX_TOKENS: usize = 4;
/// Significant digits a number may have.
pub const MAX_NUMBER_DIGITS: usize = 30;
/// Digits of each part of a fraction.
pub const MAX_FRACTION_DIGITS: usize = 9;
/// Exponent range a number may have.
pub const MAX_NUMBER_EXPONENT: i64 = 300;
