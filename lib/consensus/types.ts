/** The consensus engine's input and output (native/README.md). */

export interface ExpertResponse {
  expertId: string;
  text: string;
  /** Relative say of this expert (default 1, > 0). */
  weight?: number;
  /** The expert's confidence in this answer, in (0, 1] (default 1); multiplies the weight. */
  confidence?: number;
}

export interface ConsensusOptions {
  /** Average similarity needed to join a cluster, in [0, 1]. */
  threshold?: number;
  /** Share of TF-IDF cosine in the blended similarity, in [0, 1]; the rest is shingle Jaccard. */
  cosineWeight?: number;
  /** Key points returned at most (0–50). */
  maxKeyPoints?: number;
}

export type AnswerKind = "number" | "choice" | "yes-no" | "text";

export interface FinalAnswer {
  kind: AnswerKind;
  /** Canonical: "1250", "0.75", "B", "yes", "canberra". */
  value: string;
}

/** What the engine computes, by response index: the same shape from the native addon and the reference. */
export interface RawCluster {
  /** Response indices, ascending. */
  members: number[];
  weight: number;
  /** weight / total weight. */
  share: number;
  /** The medoid's index. */
  representative: number;
  /** Weighted mean similarity of the other members to the representative (1 alone). */
  cohesion: number;
}

export interface RawKeyPoint {
  text: string;
  /** Index of the response the sentence comes from. */
  response: number;
  /** Share of the total weight whose responses cover the sentence. */
  support: number;
  supporters: number[];
}

export interface RawVoteOption {
  kind: AnswerKind;
  value: string;
  /** Share of the voters' weight. */
  share: number;
  voters: number[];
}

export interface RawVote {
  /** Voters' weight / total weight. */
  turnout: number;
  /** Most weight first; options[0] wins. */
  options: RawVoteOption[];
}

export interface RawConsensus {
  /** Index of the consensus response: the winning cluster's medoid. */
  consensus: number;
  /** Share of the total weight in the winning cluster. */
  agreement: number;
  /** Winning cluster first, then by weight. */
  clusters: RawCluster[];
  /** Per response: position of its cluster in `clusters`. */
  clusterOf: number[];
  /** Per response: similarity to the consensus response (1 for itself). */
  similarity: number[];
  /** Per response: its final answer, or null. */
  answers: (FinalAnswer | null)[];
  keyPoints: RawKeyPoint[];
  vote: RawVote | null;
}

/** Options with every default filled in. */
export interface ResolvedOptions {
  threshold: number;
  cosineWeight: number;
  maxKeyPoints: number;
}
