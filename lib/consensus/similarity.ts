import { ANSWER_CONFLICT_FACTOR, ANSWER_MATCH_PULL, SIMILARITY_SCALE } from "./constants";
import { answerRelation } from "./final-answer";
import type { FinalAnswer } from "./types";

/**
 * TF-IDF vectors, word-pair shingles and the blended similarity matrix
 * (native/README.md, "Similarity"). Terms are numbered in order of first
 * appearance (response 0 first), and every sum runs in term-number order, so the
 * native engine reproduces each value.
 */

/** A response's TF-IDF vector: term numbers ascending, L2-normalised weights. */
export interface TermVector {
  ids: Int32Array;
  weights: Float64Array;
}

/** Numbers for terms, in order of first appearance. */
export class Vocabulary {
  private readonly ids = new Map<string, number>();

  idOf(term: string): number {
    let id = this.ids.get(term);
    if (id === undefined) this.ids.set(term, (id = this.ids.size));
    return id;
  }

  find(term: string): number | undefined {
    return this.ids.get(term);
  }

  get size(): number {
    return this.ids.size;
  }
}

/** Distinct ids ascending and how often each occurs. */
export function countTerms(terms: Int32Array): { ids: Int32Array; counts: Int32Array } {
  const sorted = Int32Array.from(terms).sort();
  const ids: number[] = [];
  const counts: number[] = [];
  for (let i = 0; i < sorted.length; i++) {
    if (i > 0 && sorted[i] === sorted[i - 1]) counts[counts.length - 1]!++;
    else {
      ids.push(sorted[i]!);
      counts.push(1);
    }
  }
  return { ids: Int32Array.from(ids), counts: Int32Array.from(counts) };
}

/**
 * Sublinear term frequency (1 + ln count: a verbose answer repeating a word does not
 * outweigh a terse one) times smoothed inverse document frequency
 * (ln((1 + N) / (1 + df)) + 1: never zero, so two responses sharing every word still
 * match), L2-normalised.
 */
export function tfidfVectors(counted: readonly { ids: Int32Array; counts: Int32Array }[], documentFrequency: Int32Array): TermVector[] {
  const n = counted.length;
  return counted.map(({ ids, counts }) => {
    const weights = new Float64Array(ids.length);
    let sumSquares = 0;
    for (let k = 0; k < ids.length; k++) {
      const w = (1 + Math.log(counts[k]!)) * (Math.log((1 + n) / (1 + documentFrequency[ids[k]!]!)) + 1);
      weights[k] = w;
      sumSquares += w * w;
    }
    const norm = Math.sqrt(sumSquares);
    if (norm > 0) for (let k = 0; k < weights.length; k++) weights[k] = weights[k]! / norm;
    return { ids, weights };
  });
}

export function cosine(a: TermVector, b: TermVector): number {
  let i = 0;
  let j = 0;
  let sum = 0;
  while (i < a.ids.length && j < b.ids.length) {
    const x = a.ids[i]!;
    const y = b.ids[j]!;
    if (x === y) {
      sum += a.weights[i++]! * b.weights[j++]!;
    } else if (x < y) i++;
    else j++;
  }
  return sum;
}

/** Room for 2^26 term numbers per shingle half; the input size caps keep vocabularies far below. */
const SHINGLE_BASE = 2 ** 26;

/**
 * Word pairs (2-shingles) of a response as sorted distinct keys; a one-word
 * response is its word. Pairs, not triples: triples almost never repeat between
 * paraphrases. Key = (first + 1) × 2^26 + second, exact in a double.
 */
export function shingles(terms: Int32Array): Float64Array {
  const keys: number[] = [];
  if (terms.length === 1) keys.push(terms[0]!);
  for (let k = 0; k + 1 < terms.length; k++) keys.push((terms[k]! + 1) * SHINGLE_BASE + terms[k + 1]!);
  const sorted = Float64Array.from(keys).sort();
  let unique = 0;
  for (let k = 0; k < sorted.length; k++) if (k === 0 || sorted[k] !== sorted[k - 1]) sorted[unique++] = sorted[k]!;
  return sorted.subarray(0, unique);
}

/** Size of the intersection of two sorted distinct arrays. */
export function intersectionSize(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let i = 0;
  let j = 0;
  let common = 0;
  while (i < a.length && j < b.length) {
    if (a[i] === b[j]) {
      common++;
      i++;
      j++;
    } else if (a[i]! < b[j]!) i++;
    else j++;
  }
  return common;
}

export function jaccard(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const common = intersectionSize(a, b);
  const union = a.length + b.length - common;
  return union === 0 ? 0 : common / union;
}

/**
 * Blended similarity of two responses: cosine and Jaccard mixed, then moved
 * towards 1 when both give the same final answer or scaled down when their
 * answers conflict, clamped to [0, 1] and rounded to 12 decimals.
 */
export function blend(cos: number, jac: number, cosineWeight: number, answers: "match" | "conflict" | "none"): number {
  let s = cosineWeight * cos + (1 - cosineWeight) * jac;
  if (answers === "match") s = s + (1 - s) * ANSWER_MATCH_PULL;
  else if (answers === "conflict") s = s * ANSWER_CONFLICT_FACTOR;
  s = Math.min(1, Math.max(0, s));
  return Math.round(s * SIMILARITY_SCALE) / SIMILARITY_SCALE;
}

/** The n × n similarity matrix, row-major, 1 on the diagonal. */
export function similarityMatrix(vectors: readonly TermVector[], shingleSets: readonly Float64Array[], answers: readonly (FinalAnswer | null)[], cosineWeight: number): Float64Array {
  const n = vectors.length;
  const matrix = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    matrix[i * n + i] = 1;
    for (let j = i + 1; j < n; j++) {
      const s = blend(cosine(vectors[i]!, vectors[j]!), jaccard(shingleSets[i]!, shingleSets[j]!), cosineWeight, answerRelation(answers[i]!, answers[j]!));
      matrix[i * n + j] = s;
      matrix[j * n + i] = s;
    }
  }
  return matrix;
}
