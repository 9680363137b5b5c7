import { MAX_QUESTION_CHARS } from "../../../../lib/circle/consult-request";
import { parseChatRequest } from "../../../../lib/openai-compat/chat-request";
import { toConsultQuestion, toExpertMessages } from "../../../../lib/openai-compat/conversation";

const messagesOf = (messages: unknown[]) => parseChatRequest({ model: "core/circle", messages }).messages;

describe("a conversation for one expert (pass-through)", () => {
  it("keeps the turns in order, developer as system, text parts joined, empty assistant turns left out", () => {
    expect(
      toExpertMessages(
        messagesOf([
          { role: "developer", content: "Be brief." },
          { role: "user", content: [{ type: "text", text: "Line 1" }, { type: "text", text: "Line 2" }] },
          { role: "assistant", content: null },
          { role: "assistant", content: "Answer." },
          { role: "user", content: "Why?" },
        ]),
      ),
    ).toEqual([
      { role: "system", content: "Be brief." },
      { role: "user", content: "Line 1\nLine 2" },
      { role: "assistant", content: "Answer." },
      { role: "user", content: "Why?" },
    ]);
  });

  it("refuses a conversation of system messages only", () => {
    expect(() => toExpertMessages(messagesOf([{ role: "system", content: "x" }]))).toThrow(expect.objectContaining({ code: "VALIDATION_FAILED" }));
  });
});

describe("a conversation for the circle (one consult question)", () => {
  it("one user message is the question; system messages are the system prompt", () => {
    expect(toConsultQuestion(messagesOf([{ role: "system", content: "Be brief." }, { role: "developer", content: "Cite." }, { role: "user", content: "Capital of France?" }]))).toEqual({
      question: "Capital of France?",
      system: "Be brief.\n\nCite.",
    });
    expect(toConsultQuestion(messagesOf([{ role: "user", content: "Q" }]))).toEqual({ question: "Q" });
  });

  it("earlier turns become a transcript above the last user message", () => {
    const asked = toConsultQuestion(
      messagesOf([
        { role: "user", content: "Capital of France?" },
        { role: "assistant", content: "Paris." },
        { role: "user", content: "And of Italy?" },
      ]),
    );
    expect(asked.question).toBe(
      ["The conversation so far:", "", "User: Capital of France?", "", "Assistant: Paris.", "", "Answer the user's last message:", "And of Italy?"].join("\n"),
    );
  });

  it("refuses a conversation that does not end with the user, or that is longer than a consult question", () => {
    expect(() => toConsultQuestion(messagesOf([{ role: "user", content: "Q" }, { role: "assistant", content: "A" }]))).toThrow(
      expect.objectContaining({ code: "VALIDATION_FAILED", data: { issues: [expect.objectContaining({ field: "messages" })] } }),
    );
    expect(() => toConsultQuestion(messagesOf([{ role: "user", content: "  " }]))).toThrow(expect.objectContaining({ code: "VALIDATION_FAILED" }));
    expect(() => toConsultQuestion(messagesOf([{ role: "user", content: "x".repeat(MAX_QUESTION_CHARS + 1) }]))).toThrow(
      expect.objectContaining({ code: "VALIDATION_FAILED", data: { issues: [expect.objectContaining({ field: "messages" })] } }),
    );
  });
});
