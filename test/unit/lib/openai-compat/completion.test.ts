import { completionFrom, openAiFinishReason } from "../../../../lib/openai-compat/completion";
import { consultation } from "./fixtures";

describe("a consultation as a chat.completion", () => {
  it("has OpenAI's fields: id from the consultation, created in seconds, the consensus as the message, usage of every expert", () => {
    const c = consultation();
    const completion = completionFrom(c, "core/circle", "consult");
    const winner = c.consensus!.consensus.expertId;
    expect(completion).toMatchObject({
      id: "chatcmpl-6f1c2f7e-0000-4000-8000-000000000001",
      object: "chat.completion",
      created: Math.floor(Date.parse("2025-01-02T03:04:05.678Z") / 1000),
      model: "core/circle",
      choices: [{ index: 0, message: { role: "assistant", content: c.consensus!.consensus.text, refusal: null }, logprobs: null, finish_reason: winner === "b" ? "length" : "stop" }],
      usage: { prompt_tokens: 200, completion_tokens: 40, total_tokens: 240 },
    });
  });

  it("carries CORE's account under `core`: consultation, agreement, vote, cost and each expert", () => {
    const c = consultation();
    const { core } = completionFrom(c, "core/circle", "consult");
    expect(core).toMatchObject({
      consultationId: c.id,
      mode: "consult",
      agreement: c.consensus!.agreement,
      vote: { answer: "paris", share: 1 },
      costUsd: 0.002,
      cached: false,
      experts: [
        { id: "a", status: "answered", model: "model-a", costUsd: 0.001, agreement: expect.any(Number) },
        { id: "b", status: "answered", model: "model-b" },
        { id: "c", status: "failed", code: "PROVIDER_UNAVAILABLE" },
      ],
    });
  });

  it("without a consensus, answers with the first answer", () => {
    const c = { ...consultation(), consensus: undefined };
    const completion = completionFrom(c, "core/a", "pass-through");
    expect(completion.choices[0].message.content).toBe("Paris is the capital of France. Final answer: Paris");
    expect(completion.core.agreement).toBeNull();
  });

  it("says CORE's finish reasons in OpenAI's words", () => {
    expect(["stop", "length", "content_filter", "tool_use", "other", undefined].map(openAiFinishReason)).toEqual(["stop", "length", "content_filter", "tool_calls", "stop", "stop"]);
  });
});
