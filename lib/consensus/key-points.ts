import { KEY_POINT_COVERAGE, KEY_POINT_DUPLICATE_JACCARD, KEY_POINT_MIN_TOKENS, KEY_POINT_SUPPORT } from "./constants";
import { hasAnswerMarker } from "./final-answer";
import { jaccard } from "./similarity";
import type { RawKeyPoint } from "./types";

/**
 * Key points: sentences of the consensus that most experts' responses cover
 * (native/README.md, "Key points"). An expert supports a sentence when its response contains at
 * least KEY_POINT_COVERAGE of the sentence's content words; a sentence whose
 * supporters hold more than KEY_POINT_SUPPORT of the weight is a key point.
 * Best supported first; a sentence saying what a chosen one already says is skipped.
 */

/** A sentence as key points need it: its text and its distinct term numbers, ascending. */
export interface SentenceTerms {
  text: string;
  terms: Int32Array;
  /** False when the response has no answer marker at all (then no sentence of it has one). */
  checkMarker: boolean;
}

interface Candidate extends RawKeyPoint {
  sentence: number;
  terms: Int32Array;
}

/** Candidate sentences come from `authors` (the winning cluster's members); any expert may support them. */
export function keyPoints(sentenceLists: readonly SentenceTerms[][], authors: readonly number[], postings: readonly number[][], weights: Float64Array, total: number, max: number): RawKeyPoint[] {
  if (max === 0) return [];
  const n = sentenceLists.length;
  const counts = new Int32Array(n);
  const candidates: Candidate[] = [];
  for (const response of authors) {
    sentenceLists[response]!.forEach(({ text, terms, checkMarker }, sentence) => {
      if (terms.length < KEY_POINT_MIN_TOKENS) return;
      for (const id of terms) for (const d of postings[id]!) counts[d]!++;
      const needed = KEY_POINT_COVERAGE * terms.length;
      const supporters: number[] = [];
      let weight = 0;
      for (let d = 0; d < n; d++) {
        if (counts[d]! >= needed) {
          supporters.push(d);
          weight += weights[d]!;
        }
        counts[d] = 0;
      }
      const support = weight / total;
      // The marker test last: it reads the sentence's text, and few sentences get this far.
      if (support > KEY_POINT_SUPPORT && !(checkMarker && hasAnswerMarker(text.toLowerCase()))) candidates.push({ text, response, sentence, support, supporters, terms });
    });
  }
  candidates.sort((a, b) => b.support - a.support || a.response - b.response || a.sentence - b.sentence);
  const chosen: Candidate[] = [];
  for (const candidate of candidates) {
    if (chosen.length >= max) break;
    if (chosen.some((c) => jaccard(c.terms, candidate.terms) >= KEY_POINT_DUPLICATE_JACCARD)) continue;
    chosen.push(candidate);
  }
  return chosen.map(({ text, response, support, supporters }) => ({ text, response, support, supporters }));
}
