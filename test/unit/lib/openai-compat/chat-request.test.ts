import { parseChatRequest } from "../../../../lib/openai-compat/chat-request";
import { ValidationError } from "../../../../lib/errors";

const issuesOf = (body: unknown) => {
  try {
    parseChatRequest(body);
  } catch (err) {
    if (err instanceof ValidationError) return err.issues;
    throw err;
  }
  throw new Error("expected a validation error");
};

describe("parseChatRequest", () => {
  it("reads a minimal request: no stream, no usage chunk, no knobs", () => {
    expect(parseChatRequest({ model: "core/circle", messages: [{ role: "user", content: "Hi" }] })).toEqual({
      model: "core/circle",
      messages: [{ role: "user", content: "Hi" }],
      stream: false,
      includeUsage: false,
    });
  });

  it("ignores fields it does not know, as OpenAI does, and reads null as not given", () => {
    const r = parseChatRequest({
      model: "core/gpt",
      messages: [{ role: "user", content: "Hi", name: "ann" }],
      top_p: 0.5,
      seed: 7,
      user: "u-1",
      tools: [],
      response_format: { type: "text" },
      temperature: null,
      max_tokens: null,
      stream: null,
      n: null,
    });
    expect(r).toEqual({ model: "core/gpt", messages: [{ role: "user", content: "Hi", name: "ann" }], stream: false, includeUsage: false });
  });

  it("takes max_completion_tokens before max_tokens, and the usage chunk only when streaming", () => {
    const r = parseChatRequest({
      model: "m",
      messages: [{ role: "user", content: "q" }],
      max_tokens: 10,
      max_completion_tokens: 20,
      temperature: 0.2,
      stream: true,
      stream_options: { include_usage: true },
    });
    expect(r).toMatchObject({ maxTokens: 20, temperature: 0.2, stream: true, includeUsage: true });
    expect(parseChatRequest({ model: "m", messages: [{ role: "user", content: "q" }], max_tokens: 10 }).maxTokens).toBe(10);
    expect(parseChatRequest({ model: "m", messages: [{ role: "user", content: "q" }], stream_options: { include_usage: true } }).includeUsage).toBe(false);
  });

  it("accepts content as text parts and an assistant turn without content; developer messages", () => {
    const r = parseChatRequest({
      model: "m",
      messages: [
        { role: "developer", content: [{ type: "text", text: "Be brief." }] },
        { role: "user", content: [{ type: "text", text: "a" }, { type: "text", text: "b" }] },
        { role: "assistant", content: null, tool_calls: [] },
        { role: "user", content: "c" },
      ],
    });
    expect(r.messages).toHaveLength(4);
  });

  it("refuses what CORE cannot honour, naming each field as the body names it", () => {
    expect(issuesOf({ messages: [] }).map((i) => i.field)).toEqual(["model", "messages"]);
    expect(issuesOf({ model: "m", messages: [{ role: "tool", content: "x" }] })[0]).toMatchObject({ field: "messages[0].role" });
    expect(issuesOf({ model: "m", messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "x" } }] }] })[0]).toMatchObject({
      field: "messages[0].content",
    });
    expect(issuesOf({ model: "m", messages: [{ role: "user" }] })[0]).toMatchObject({ field: "messages[0].content" });
    expect(issuesOf({ model: "m", messages: [{ role: "user", content: "q" }], n: 2 })[0]).toMatchObject({ field: "n", message: expect.stringContaining("1") });
    expect(issuesOf({ model: "m", messages: [{ role: "user", content: "q" }], temperature: 3 })[0]).toMatchObject({ field: "temperature" });
    expect(issuesOf({ model: "m", messages: [{ role: "user", content: "q" }], max_tokens: 0 })[0]).toMatchObject({ field: "max_tokens" });
    expect(issuesOf({ model: "m", messages: [{ role: "user", content: "q" }], stream: "yes" })[0]).toMatchObject({ field: "stream" });
  });

  it("answers VALIDATION_FAILED (422)", () => {
    expect(() => parseChatRequest(undefined)).toThrow(expect.objectContaining({ code: "VALIDATION_FAILED", status: 422 }));
  });
});
