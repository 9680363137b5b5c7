import type { AnswerKind, ExpertResponse, FinalAnswer, RawConsensus } from "./types";

/** What callers get: the engine's result by expert id and text (DESIGN.md §11; fields may be added, never changed). */
export interface ConsensusResult {
  /** The consensus answer: the winning cluster's medoid. */
  consensus: { expertId: string; text: string };
  /** Share of the total weight in the winning cluster, in [0, 1]. */
  agreement: number;
  /** Winning cluster first. */
  clusters: { members: string[]; weight: number; share: number; representative: string; cohesion: number }[];
  /** Per expert, in input order: similarity to the consensus answer, its cluster, its final answer. */
  experts: { expertId: string; agreement: number; cluster: number; inConsensus: boolean; answer: FinalAnswer | null }[];
  /** The other clusters, each with its representative answer. */
  dissent: { cluster: number; expertId: string; text: string; share: number; members: string[] }[];
  /** The key points' sentences, best supported first. */
  keyPoints: string[];
  /** The same key points with who supports them. */
  keyPointDetails: { text: string; expertId: string; support: number; experts: string[] }[];
  /** Majority vote over final answers; absent when no response gives one. */
  vote?: {
    answer: string;
    kind: AnswerKind;
    /** The winner's share of the voters' weight. */
    share: number;
    /** Voters per answer. */
    counts: Record<string, number>;
    /** Voters' weight / total weight. */
    turnout: number;
    options: { answer: string; kind: AnswerKind; share: number; experts: string[] }[];
  };
  /** Which implementation computed it. */
  engine: "native" | "reference";
}

export function presentResult(raw: RawConsensus, responses: readonly ExpertResponse[], engine: ConsensusResult["engine"]): ConsensusResult {
  const id = (i: number) => responses[i]!.expertId;
  return {
    consensus: { expertId: id(raw.consensus), text: responses[raw.consensus]!.text },
    agreement: raw.agreement,
    clusters: raw.clusters.map((c) => ({ members: c.members.map(id), weight: c.weight, share: c.share, representative: id(c.representative), cohesion: c.cohesion })),
    experts: responses.map((r, i) => ({
      expertId: r.expertId,
      agreement: raw.similarity[i]!,
      cluster: raw.clusterOf[i]!,
      inConsensus: raw.clusterOf[i] === 0,
      answer: raw.answers[i] ?? null,
    })),
    dissent: raw.clusters.slice(1).map((c, k) => ({ cluster: k + 1, expertId: id(c.representative), text: responses[c.representative]!.text, share: c.share, members: c.members.map(id) })),
    keyPoints: raw.keyPoints.map((p) => p.text),
    keyPointDetails: raw.keyPoints.map((p) => ({ text: p.text, expertId: id(p.response), support: p.support, experts: p.supporters.map(id) })),
    ...(raw.vote
      ? {
          vote: {
            answer: raw.vote.options[0]!.value,
            kind: raw.vote.options[0]!.kind,
            share: raw.vote.options[0]!.share,
            counts: Object.fromEntries(raw.vote.options.map((o) => [o.value, o.voters.length])),
            turnout: raw.vote.turnout,
            options: raw.vote.options.map((o) => ({ answer: o.value, kind: o.kind, share: o.share, experts: o.voters.map(id) })),
          },
        }
      : {}),
    engine,
  };
}
