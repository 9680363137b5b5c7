import type { ConsensusResult } from "../consensus";
import type { ExpertOutcome } from "./fan-out";

/** One consult, as `circle.consult` answers it and `circle.get` reads it back. */
export interface Consultation {
  id: string;
  /** Who asked: a user or key id, or `anonymous`/`system` for unauthenticated in-cluster calls. */
  principal: string;
  question: string;
  system?: string;
  /** The experts asked, in the order of `outcomes`. */
  experts: string[];
  status: "completed" | "failed";
  /** The merged answer; absent when the quorum was not reached. */
  consensus?: ConsensusResult;
  /** Every expert asked: its answer or its error, latency, tokens and cost. */
  outcomes: ExpertOutcome[];
  quorum: { required: number; answered: number };
  usage: { inputTokens: number; outputTokens: number };
  costUsd: number;
  /** Set when the consult failed as a whole (e.g. QUORUM_NOT_REACHED). */
  error?: { code: string; message: string };
  durationMs: number;
  nodeId: string;
  createdAt: string;
  /** The parameters that shaped it (deadlines, tokens, temperature). */
  params: Record<string, unknown>;
  cacheKey: string;
  /** True when this answer came from the cache rather than from the experts (then it cost nothing). */
  cached?: boolean;
  /** The consultation whose answer this one reuses. */
  cachedFrom?: string;
}

/** Totals over the answered experts. */
export function totals(outcomes: readonly ExpertOutcome[]): { usage: Consultation["usage"]; costUsd: number } {
  let inputTokens = 0;
  let outputTokens = 0;
  let costUsd = 0;
  for (const o of outcomes) {
    if (o.status !== "answered") continue;
    inputTokens += o.answer.usage.inputTokens;
    outputTokens += o.answer.usage.outputTokens;
    costUsd += o.answer.costUsd;
  }
  return { usage: { inputTokens, outputTokens }, costUsd };
}
