import type { ExpertAnswer } from "../../lib/circle/expert-answer";

/** An answer of `expertId` (answered by itself, priced, first attempt), with `overrides` on top. */
export function expertAnswer(expertId: string, text: string, overrides: Partial<ExpertAnswer> = {}): ExpertAnswer {
  return {
    expertId,
    answeredBy: expertId,
    provider: "openai",
    model: `model-${expertId}`,
    text,
    usage: { inputTokens: 100, outputTokens: 20 },
    costUsd: 0.001,
    priced: true,
    attempts: 1,
    latencyMs: 5,
    finishReason: "stop",
    ...overrides,
  };
}
