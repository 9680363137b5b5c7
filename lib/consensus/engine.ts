import { clusterResponses } from "./cluster";
import { finalAnswer } from "./final-answer";
import { keyPoints } from "./key-points";
import { countTerms, shingles, similarityMatrix, tfidfVectors, Vocabulary } from "./similarity";
import { documentTerms, sentences, words } from "./tokenize";
import type { RawConsensus, ResolvedOptions } from "./types";
import { vote } from "./vote";

/**
 * The reference engine: the algorithm of native/README.md, step by step, on
 * already validated input (texts and weights > 0). The native addon computes
 * the same RawConsensus.
 */
export function consensusRaw(texts: readonly string[], weights: Float64Array, options: ResolvedOptions): RawConsensus {
  const n = texts.length;
  const vocabulary = new Vocabulary();
  const allWords = texts.map(words);
  const terms = allWords.map((w) => Int32Array.from(documentTerms(w), (term) => vocabulary.idOf(term)));
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
  const sentenceLists = texts.map(sentences);
  const answers = texts.map((text, d) => finalAnswer(text, allWords[d]!.length, sentenceLists[d]!.at(-1)) ?? null);
  const matrix = similarityMatrix(vectors, shingleSets, answers, options.cosineWeight);

  const { clusters, clusterOf } = clusterResponses(matrix, weights, options.threshold);
  const total = weights.reduce((s, w) => s + w, 0);
  const consensus = clusters[0]!.representative;
  return {
    consensus,
    agreement: clusters[0]!.share,
    clusters,
    clusterOf,
    similarity: Array.from({ length: n }, (_, i) => matrix[i * n + consensus]!),
    answers,
    keyPoints: keyPoints(sentenceLists, vocabulary, postings, weights, total, options.maxKeyPoints),
    vote: vote(answers, weights, total),
  };
}
