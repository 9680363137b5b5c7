import { readLines } from "../../../../lib/providers/line-reader";
import { redact } from "../../../../lib/providers/provider-error";
import { goDurationSec, protobufDurationSec, retryAfterSec } from "../../../../lib/providers/retry-after";
import { readSse } from "../../../../lib/providers/sse";

async function* bytes(...parts: (string | Uint8Array)[]): AsyncGenerator<Uint8Array> {
  for (const part of parts) yield typeof part === "string" ? new TextEncoder().encode(part) : part;
}

async function all<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

describe("readLines", () => {
  it("splits LF and CRLF across chunk boundaries, a multi-byte character split too", async () => {
    const euro = new TextEncoder().encode("€");
    const lines = await all(readLines(bytes("a\r", "\nb", "c\n\nd", euro.slice(0, 1), euro.slice(1), "\r\n", "last")));
    expect(lines).toEqual(["a", "bc", "", "d€", "last"]);
  });
});

describe("readSse", () => {
  it("dispatches on blank lines, with event names, multi-line data, comments and CRLF", async () => {
    const text = ": keep-alive\r\nevent: message_start\r\ndata: {\"a\":1}\r\n\r\ndata: line1\ndata: line2\n\nid: 7\nretry: 100\ndata:no-space\n\n";
    const events = await all(readSse(readLines(bytes(text.slice(0, 17), text.slice(17, 40), text.slice(40)))));
    expect(events).toEqual([
      { event: "message_start", data: '{"a":1}' },
      { event: "message", data: "line1\nline2" },
      { event: "message", data: "no-space" },
    ]);
  });

  it("delivers an event the server did not close with a blank line", async () => {
    expect(await all(readSse(readLines(bytes("data: [DONE]"))))).toEqual([{ event: "message", data: "[DONE]" }]);
  });
});

describe("retryAfterSec", () => {
  const now = Date.parse("2025-01-01T00:00:00Z");

  it("reads seconds, an HTTP date and retry-after-ms", () => {
    expect(retryAfterSec(new Headers({ "retry-after": "1" }), now)).toBe(1);
    expect(retryAfterSec(new Headers({ "retry-after": "2.5" }), now)).toBe(2.5);
    expect(retryAfterSec(new Headers({ "retry-after": "Wed, 01 Jan 2025 00:00:30 GMT" }), now)).toBe(30);
    expect(retryAfterSec(new Headers({ "retry-after": "Tue, 31 Dec 2024 23:59:00 GMT" }), now)).toBe(0);
    expect(retryAfterSec(new Headers({ "retry-after-ms": "1500", "retry-after": "9" }), now)).toBe(1.5);
    expect(retryAfterSec(new Headers({ "retry-after": "soon" }), now)).toBeUndefined();
    expect(retryAfterSec(new Headers(), now)).toBeUndefined();
  });

  it("uses OpenAI's reset durations only for a limit that ran out", () => {
    const headers = new Headers({
      "x-ratelimit-remaining-requests": "0",
      "x-ratelimit-reset-requests": "1.5s",
      "x-ratelimit-remaining-tokens": "1200",
      "x-ratelimit-reset-tokens": "6m0s",
    });
    expect(retryAfterSec(headers, now)).toBe(1.5);
    headers.set("x-ratelimit-remaining-tokens", "0");
    expect(retryAfterSec(headers, now)).toBe(360);
    headers.set("retry-after", "3");
    expect(retryAfterSec(headers, now)).toBe(3);
  });

  it("parses Go and protobuf durations", () => {
    expect(goDurationSec("20ms")).toBeCloseTo(0.02);
    expect(goDurationSec("1h2m3.5s")).toBe(3723.5);
    expect(goDurationSec("soon")).toBeUndefined();
    expect(protobufDurationSec("37s")).toBe(37);
    expect(protobufDurationSec("0.5s")).toBe(0.5);
    expect(protobufDurationSec(37)).toBeUndefined();
  });
});

describe("redact", () => {
  it("removes the key and masked keys, keeps the rest", () => {
    expect(redact("Incorrect API key provided: sk-ab****wxyz. See docs.", "sk-abcdefwxyz")).toBe("Incorrect API key provided: [redacted]. See docs.");
    expect(redact("key sk-abcdefwxyz refused", "sk-abcdefwxyz")).toBe("key [redacted] refused");
    expect(redact("x".repeat(600)).length).toBeLessThanOrEqual(501);
  });
});
