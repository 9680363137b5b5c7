/**
 * Every constant of the consensus algorithm, with why it has its value.
 * native/src/constants.rs holds the same values; native/README.md is the
 * specification both implementations follow.
 */

/** Share of TF-IDF cosine in the blended similarity; the rest is word-shingle Jaccard.
 * Cosine carries the vocabulary two answers share, weighted by how telling each word
 * is; Jaccard over word pairs adds phrasing and order, which cosine ignores. Cosine is
 * the more reliable signal on paraphrases (which reorder words), so it weighs more. */
export const COSINE_WEIGHT = 0.7;

/** Average (weighted) similarity to a cluster needed to join it. Swept from 0.2 to 0.45
 * over test/fixtures/consensus: 0.2 → 44/50 sets right, 0.25 → 46, 0.3 to 0.45 → 48; the
 * lowest of the plateau keeps paraphrases (which score 0.2–0.6 against each other)
 * together most often. */
export const CLUSTER_THRESHOLD = 0.3;

/** Two responses with the same extracted final answer: their similarity moves this
 * share of the way to 1 (the same number or choice is strong evidence of agreement). */
export const ANSWER_MATCH_PULL = 0.5;

/** Two responses with different final answers: their similarity is multiplied by this
 * (sharing the question's vocabulary is not agreement when the answers differ). */
export const ANSWER_CONFLICT_FACTOR = 0.3;

/** Similarities are rounded to 12 decimals (× this, round, ÷ this) before anything is decided
 * on them: the two implementations' logarithms may differ in the last bit, and rounding makes
 * every later comparison (clusters, medoids, ties) see the same numbers. Far below any
 * meaningful difference. */
export const SIMILARITY_SCALE = 1e12;

/** Characters of a final answer looked at after its marker; an answer is a few words. */
export const MAX_ANSWER_CHARS = 200;

/** A sentence needs this many content words to be a key point (shorter ones are headings, list markers, "Yes."). */
export const KEY_POINT_MIN_TOKENS = 3;

/** Share of a sentence's content words an expert's response must contain to support it. */
export const KEY_POINT_COVERAGE = 0.6;

/** A key point is shared by most experts: more than this share of the total weight supports it. */
export const KEY_POINT_SUPPORT = 0.5;

/** Two candidate key points whose word sets overlap at least this much (Jaccard) say the same thing; the better supported one is kept. */
export const KEY_POINT_DUPLICATE_JACCARD = 0.5;

/** Key points returned at most, by default. */
export const MAX_KEY_POINTS = 5;

/** A response of at most this many words, with no answer marker, is its own final answer ("B", "Yes.", "3.5 km"). */
export const SHORT_RESPONSE_MAX_TOKENS = 6;

/** A last sentence of at most this many words may conclude with a number ("So a week has 604,800 seconds."); longer ones mention numbers in passing. */
export const CONCLUDING_SENTENCE_MAX_WORDS = 12;

/** A final answer that is neither a number, a choice nor yes/no counts if it has at most this many content words ("Canberra", "O(n log n)"). */
export const TEXT_ANSWER_MAX_TOKENS = 4;

/** Digits a number may have (mantissa); longer digit runs are identifiers, not answers. */
export const MAX_NUMBER_DIGITS = 30;

/** Digits of each part of a fraction ("3/4"); keeps exact arithmetic within 128 bits. */
export const MAX_FRACTION_DIGITS = 9;

/** Exponent range a number may have (1e300); beyond it the text is not a plausible answer. */
export const MAX_NUMBER_EXPONENT = 300;
