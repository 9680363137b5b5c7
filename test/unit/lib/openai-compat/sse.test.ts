import { completionFrom, type CoreCompletionInfo } from "../../../../lib/openai-compat/completion";
import { eventsOf, sseCompletion, sseData, SSE_DONE, type CompletionEvent } from "../../../../lib/openai-compat/sse";
import { ProviderUnavailableError } from "../../../../lib/errors";
import { consultation } from "./fixtures";

const head = { id: "chatcmpl-1", created: 1_700_000_000, model: "core/gpt" };
const core: CoreCompletionInfo = { consultationId: "1", mode: "pass-through", agreement: null, costUsd: 0, cached: false, experts: [] };
const usage = { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 };

async function collect(gen: AsyncIterable<string>): Promise<string> {
  let out = "";
  for await (const s of gen) out += s;
  return out;
}

/** Parses an SSE text the way a client does: `data:` lines, blank-line separated. */
function frames(text: string): string[] {
  expect(text.endsWith("\n\n")).toBe(true);
  return text
    .slice(0, -2)
    .split("\n\n")
    .map((event) => {
      expect(event.startsWith("data: ")).toBe(true);
      expect(event).not.toContain("\n");
      return event.slice("data: ".length);
    });
}

async function* events(...list: Array<CompletionEvent | Error>): AsyncGenerator<CompletionEvent> {
  for (const e of list) {
    if (e instanceof Error) throw e;
    yield e;
  }
}

describe("SSE framing", () => {
  it("one data line per event, a blank line after each", () => {
    expect(sseData({ a: "line\nbreak" })).toBe('data: {"a":"line\\nbreak"}\n\n');
    expect(SSE_DONE).toBe("data: [DONE]\n\n");
  });

  it("a role chunk, content deltas, the finish chunk with CORE's account, then [DONE]", async () => {
    const text = await collect(sseCompletion(head, events({ type: "delta", text: "Hel" }, { type: "delta", text: "lo" }, { type: "end", finishReason: "stop", usage, core }), { includeUsage: false }));
    const f = frames(text);
    expect(f.at(-1)).toBe("[DONE]");
    const chunks = f.slice(0, -1).map((d) => JSON.parse(d));
    for (const c of chunks) expect(c).toMatchObject({ id: "chatcmpl-1", object: "chat.completion.chunk", created: 1_700_000_000, model: "core/gpt" });
    expect(chunks.map((c) => c.choices[0].delta)).toEqual([{ role: "assistant", content: "" }, { content: "Hel" }, { content: "lo" }, {}]);
    expect(chunks.map((c) => c.choices[0].finish_reason)).toEqual([null, null, null, "stop"]);
    expect(chunks[3].core).toEqual(core);
    expect(chunks.some((c) => "usage" in c)).toBe(false);
  });

  it("with include_usage: usage null on each chunk, then a usage chunk without choices", async () => {
    const f = frames(await collect(sseCompletion(head, events({ type: "delta", text: "x" }, { type: "end", finishReason: "length", usage, core }), { includeUsage: true })));
    const chunks = f.slice(0, -1).map((d) => JSON.parse(d));
    expect(chunks.slice(0, -1).every((c) => c.usage === null)).toBe(true);
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage });
    expect(chunks.at(-2).choices[0].finish_reason).toBe("length");
  });

  it("a failure mid-stream ends it with an OpenAI error event and no [DONE]", async () => {
    const err = new ProviderUnavailableError("the provider went away", { data: { expert: "gpt" } });
    const f = frames(await collect(sseCompletion(head, events({ type: "delta", text: "x" }, err), { includeUsage: false, requestId: "req-1" })));
    expect(f).not.toContain("[DONE]");
    expect(JSON.parse(f.at(-1)!)).toEqual({
      error: { message: "the provider went away", type: "server_error", param: null, code: "PROVIDER_UNAVAILABLE", requestId: "req-1", details: { expert: "gpt" } },
    });
  });

  it("events that stop before their end are an error too", async () => {
    const f = frames(await collect(sseCompletion(head, events({ type: "delta", text: "x" }), { includeUsage: false })));
    expect(JSON.parse(f.at(-1)!)).toMatchObject({ error: { code: "INTERNAL", type: "server_error" } });
  });

  it("a whole completion streams as one content chunk", async () => {
    const completion = completionFrom(consultation(), "core/circle", "consult");
    const f = frames(await collect(sseCompletion(head, eventsOf(completion), { includeUsage: false })));
    const chunks = f.slice(0, -1).map((d) => JSON.parse(d));
    expect(chunks).toHaveLength(3);
    expect(chunks[1].choices[0].delta.content).toBe(completion.choices[0].message.content);
  });
});
