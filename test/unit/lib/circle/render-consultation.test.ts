import type { Consultation } from "../../../../lib/circle/consultation";
import { renderConsultation } from "../../../../lib/circle/render-consultation";
import { consensusReference } from "../../../../lib/consensus";

const answered = (expertId: string, text: string, priced = true) => ({
  expertId,
  status: "answered" as const,
  latencyMs: 1_234,
  answer: { expertId, answeredBy: expertId === "b" ? "c" : expertId, provider: "openai", model: `m-${expertId}`, text, usage: { inputTokens: 10, outputTokens: 20 }, costUsd: priced ? 0.00042 : 0, priced, attempts: 1, latencyMs: 1_234, finishReason: "stop" },
});

describe("renderConsultation", () => {
  it("shows the consensus, then one line per expert (answer or error), then the totals", () => {
    const outcomes = [
      answered("a", "The answer is Paris, the capital of France. Final answer: Paris"),
      answered("b", "Paris. Final answer: Paris", false),
      { expertId: "d", status: "failed" as const, latencyMs: 2_500, error: { code: "PROVIDER_UNAVAILABLE", message: "ollama answered HTTP 500", status: 502, retryable: false } },
    ];
    const consensus = consensusReference(outcomes.flatMap((o) => (o.status === "answered" ? [{ expertId: o.expertId, text: o.answer.text }] : [])));
    const c: Consultation = {
      id: "11111111-2222-4333-8444-555555555555",
      principal: "p",
      question: "Capital of France?",
      experts: ["a", "b", "d"],
      status: "completed",
      consensus,
      outcomes,
      quorum: { required: 2, answered: 2 },
      usage: { inputTokens: 20, outputTokens: 40 },
      costUsd: 0.00042,
      durationMs: 2_500,
      nodeId: "n",
      createdAt: "2026-11-30T00:00:00.000Z",
      params: {},
      cacheKey: "k",
    };
    const text = renderConsultation(c);
    expect(text).toMatch(/^Consensus of 2 of 3 experts \(agreement \d+ %; vote: paris \(100 %\)\), from [ab]:/);
    expect(text).toMatch(/│ a +│ answered │ m-a +│ 1\.23 s +│ 10\/20 +│ \$0\.000420 │/);
    expect(text).toMatch(/│ b \(by c\) +│ answered │ m-b .*│ unpriced +│/);
    expect(text).toMatch(/│ d +│ failed +│ .*│ PROVIDER_UNAVAILABLE: ollama answered HTTP 500/);
    expect(text).toMatch(/20 input \+ 40 output tokens, \$0\.000420, 2\.50 s; consultation 11111111-2222-4333-8444-555555555555$/);
  });
});
