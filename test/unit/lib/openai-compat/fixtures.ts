import type { Consultation } from "../../../../lib/circle/consultation";
import { consensusReference } from "../../../../lib/consensus";
import { expertAnswer } from "../../../helpers/expert-answer";

/** A completed consult of `a` and `b` answering, `c` failed. */
export function consultation(): Consultation {
  const a = expertAnswer("a", "Paris is the capital of France. Final answer: Paris");
  const b = expertAnswer("b", "The capital of France is Paris. Final answer: Paris", { finishReason: "length" });
  return {
    id: "6f1c2f7e-0000-4000-8000-000000000001",
    principal: "u",
    question: "Capital of France?",
    experts: ["a", "b", "c"],
    status: "completed",
    consensus: consensusReference([
      { expertId: "a", text: a.text },
      { expertId: "b", text: b.text },
    ]),
    outcomes: [
      { expertId: "a", status: "answered", latencyMs: 5, answer: a },
      { expertId: "b", status: "answered", latencyMs: 6, answer: b },
      { expertId: "c", status: "failed", latencyMs: 7, error: { code: "PROVIDER_UNAVAILABLE", message: "down", status: 502, retryable: true } },
    ],
    quorum: { required: 2, answered: 2 },
    usage: { inputTokens: 200, outputTokens: 40 },
    costUsd: 0.002,
    durationMs: 12,
    nodeId: "n",
    createdAt: "2025-01-02T03:04:05.678Z",
    params: {},
    cacheKey: "k",
  };
}
