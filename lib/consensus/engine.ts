import { clusterResponses } from "./cluster";
import { finalAnswer, hasAnswerMarker } from "./final-answer";
import { keyPoints, type SentenceTerms } from "./key-points";
import { countTerms, shingles, similarityMatrix, tfidfVectors, Vocabulary } from "./similarity";
import { contentWords, documentTerms, splitSentences, words } from "./tokenize";
import type { FinalAnswer, RawConsensus, ResolvedOptions } from "./types";
import { vote } from "./vote";

/** One response read once: its terms, its sentences with theirs, its final answer. */
interface PreparedResponse {
  terms: string[];
  sentences: { text: string; terms: string[] }[];
  answer: FinalAnswer | null;
  /** Whether the response has an answer marker anywhere (else none of its sentences has). */
  hasMarker: boolean;
}

/**
 * Words are read sentence by sentence (a sentence never cuts a word, so the
 * response's words are its sentences' words in order). The terms are the
 * content words, or all words stemmed when every word is a stop word.
 */
function prepare(text: string): PreparedResponse {
  const allWords: string[] = [];
  const content: string[] = [];
  const shown: { text: string; terms: string[] }[] = [];
  for (const sentence of splitSentences(text)) {
    const w = words(sentence.raw);
    for (const word of w) allWords.push(word);
    const marker = contentWords(w.slice(0, sentence.markerWords));
    const terms = contentWords(w.slice(sentence.markerWords));
    for (const t of marker) content.push(t);
    for (const t of terms) content.push(t);
    if (sentence.text.length > 0) shown.push({ text: sentence.text, terms });
  }
  const terms = content.length > 0 ? content : documentTerms(allWords);
  return {
    terms,
    sentences: shown,
    answer: finalAnswer(text, allWords.length, shown.at(-1)?.text) ?? null,
    hasMarker: hasAnswerMarker(text.toLowerCase()),
  };
}

/**
 * The reference engine: the algorithm of native/README.md, step by step, on
 * already validated input (texts and weights > 0). The native addon computes
 * the same RawConsensus.
 */
export function consensusRaw(texts: readonly string[], weights: Float64Array, options: ResolvedOptions): RawConsensus {
  const n = texts.length;
  const prepared = texts.map(prepare);
  const vocabulary = new Vocabulary();
  const terms = prepared.map((p) => Int32Array.from(p.terms, (term) => vocabulary.idOf(term)));
  const counted = terms.map(countTerms);
  const documentFrequency = new Int32Array(vocabulary.size);
  const postings: number[][] = Array.from({ length: vocabulary.size }, () => []);
  counted.forEach(({ ids }, d) => {
    for (const id of ids) {
      documentFrequency[id]!++;
      postings[id]!.push(d);
    }
  });
  const vectors = tfidfVectors(counted, documentFrequency);
  const shingleSets = terms.map(shingles);
  const answers = prepared.map((p) => p.answer);
  const matrix = similarityMatrix(vectors, shingleSets, answers, options.cosineWeight);

  const { clusters, clusterOf } = clusterResponses(matrix, weights, options.threshold);
  const total = weights.reduce((s, w) => s + w, 0);
  const consensus = clusters[0]!.representative;
  const sentenceTerms: SentenceTerms[][] = prepared.map((p) =>
    p.sentences.map((s) => ({ text: s.text, terms: Int32Array.from(new Set(s.terms.map((t) => vocabulary.find(t)!))).sort(), checkMarker: p.hasMarker })),
  );
  return {
    consensus,
    agreement: clusters[0]!.share,
    clusters,
    clusterOf,
    similarity: Array.from({ length: n }, (_, i) => matrix[i * n + consensus]!),
    answers,
    keyPoints: keyPoints(sentenceTerms, clusters[0]!.members, postings, weights, total, options.maxKeyPoints),
    vote: vote(answers, weights, total),
  };
}
