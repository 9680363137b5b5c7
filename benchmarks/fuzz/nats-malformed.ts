import type { CoreSubjects } from "../../lib/transport/subjects";
import { prng } from "../consensus-corpus";

/**
 * Malformed requests for CORE's NATS ingress (`<prefix>.v1.consult`,
 * `.mcp.call`, `.experts.list`): each message is wrong in at least one way the
 * ingress refuses before any action runs, so every one that has a reply
 * subject must be answered once with a 4xx. Deterministic for a seed.
 * Used by `npm run fuzz` (benchmarks/fuzz/nats-part.ts).
 */

export interface MalformedMessage {
  /** What is wrong with it (the report groups by this). */
  kind: MalformedKind;
  subject: string;
  data: Uint8Array;
  headers: Array<[string, string]>;
  /** False: published without a reply subject (nobody can be answered; the ingress counts and drops it). */
  withReply: boolean;
  /** The status the ingress answers when the message alone decides it (a rate limit may still say 429); undefined: some 4xx. */
  expected: number | undefined;
}

export type MalformedKind =
  | "random bytes"
  | "bad JSON"
  | "wrong types"
  | "deep nesting"
  | "over the size limit"
  | "field over its limit"
  | "bad credentials"
  | "bad Core-Timeout-Ms";

export interface MalformedContext {
  subjects: CoreSubjects;
  /** A valid `Authorization` value (an operator's bearer token), so a message can be wrong in one way only. */
  authorization: string;
  /** The ingress's body limit (256 KiB by default). */
  maxBytes: number;
}


const encoder = new TextEncoder();
const json = (value: unknown) => encoder.encode(JSON.stringify(value));

/** Weights: the bulk cheap, the 256 KiB+ messages rare. */
const KINDS: Array<[MalformedKind, number]> = [
  ["random bytes", 14],
  ["bad JSON", 16],
  ["wrong types", 20],
  ["deep nesting", 8],
  ["over the size limit", 2],
  ["field over its limit", 6],
  ["bad credentials", 18],
  ["bad Core-Timeout-Ms", 16],
];
const TOTAL_WEIGHT = KINDS.reduce((s, [, w]) => s + w, 0);

const BAD_JSON = ['{"question": "unterminated', '{"question": "q",}', "{question: 'q'}", "{'a': 1}", "NaN", "[1, 2", '{"a": 1}}', '{"question": "\\x41"}', '{"a":01}', "undefined", '{"q": "\u0000" ', "\ufeff\ufeff{}"];
const BAD_AUTH = ["Bearer", "Bearer ", "Bearer not.a.token", "Basic dXNlcjpwYXNz", "bearer\ttoken", "Token abc", "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.", "Bearer a.b", " ", "Bearer ....", "Bearer " + "A".repeat(8_000)];
const BAD_KEYS = ["", "x", "core_" + "0".repeat(40), "ck_live_🙂".replace(/[^\x20-\x7e]/g, "?"), "'; DROP TABLE api_keys; --", "A".repeat(4_000)];
const BAD_TIMEOUTS = ["abc", "", " ", "-1", "0", "99", "1e3", "12.5", "99999999999", "0x10", "5 00", "Infinity", "NaN", "1000ms", "+500", "400.0", "999999999"];
const BAD_REQUEST_IDS = ["", " ", "a b", "x".repeat(200), "../../etc/passwd", "id\u00e9".replace(/[^\x20-\x7e]/g, "?"), "{}"];
const ODD_HEADERS: Array<[string, string]> = [["__proto__", "x"], ["constructor", "y"], ["Core-Status", "200"], ["X-Forwarded-For", "1.2.3.4"], ["Content-Type", "text/xml"]];

/** Generates malformed messages for the ingress's three subjects. */
export class MalformedMessages {
  private readonly random: () => number;

  constructor(
    private readonly context: MalformedContext,
    seed: number,
  ) {
    this.random = prng(seed);
  }

  private int(min: number, max: number): number {
    return min + Math.floor(this.random() * (max - min + 1));
  }

  private pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.random() * items.length)]!;
  }

  private chance(p: number): boolean {
    return this.random() < p;
  }

  private ascii(length: number): string {
    let s = "";
    for (let i = 0; i < length; i++) s += String.fromCharCode(this.int(0x20, 0x7e));
    return s;
  }

  /** A body the subject accepts, to be made wrong elsewhere (headers). */
  private validBody(subject: string): Uint8Array {
    const { subjects } = this.context;
    if (subject === subjects.consult) return json({ question: `What is ${this.int(1, 99)} times ${this.int(1, 99)}?` });
    if (subject === subjects.mcpCall) return json({ server: "everything", tool: "echo", arguments: { message: "hi" } });
    return new Uint8Array(0);
  }

  /** A body of the right JSON but wrong types or fields for the subject (422). */
  private wrongTypes(subject: string): { data: Uint8Array; expected: number | undefined } {
    const { subjects } = this.context;
    const junk = this.pick<unknown>([42, null, [], {}, true, "all", -1, 1e308, [1, 2], { a: 1 }]);
    if (this.chance(0.15)) {
      // Not an object at all (JSON null on a subject that takes no body is left open).
      const top = this.pick<unknown>([42, "question", [], true, [{ question: "q" }], null]);
      return { data: json(top), expected: top === null ? undefined : 422 };
    }
    if (subject === subjects.consult) {
      const body = this.pick<Record<string, unknown>>([
        { question: junk === "all" ? 42 : junk },
        { question: "q", experts: this.pick(["all", 5, [1], [null], {}]) },
        { question: "q", timeoutMs: this.pick(["x", -5, 1e12, 0.5, null]) },
        { question: "q", cache: this.pick(["yes", 1, null]) },
        { question: "q", colour: "red" },
        { question: "" },
        { question: "q\u0000" },
        { questions: "q" },
      ]);
      return { data: json(body), expected: 422 };
    }
    if (subject === subjects.mcpCall) {
      const body = this.pick<Record<string, unknown>>([
        { server: junk === "all" ? 1 : junk, tool: "echo" },
        { server: "everything", tool: this.pick([null, 5, [], ""]) },
        { server: "everything", tool: "echo", arguments: this.pick(["x", [], 5, true]) },
        { server: "everything", tool: "echo", extra: 1 },
        { tool: "echo" },
        { server: "a/b", tool: "../x" },
      ]);
      // A well-formed name of a server that does not exist is a 404, not a 422.
      return { data: json(body), expected: undefined };
    }
    // experts.list takes no body at all.
    return { data: json(this.pick<unknown>([{ a: 1 }, { expert: "x" }, [1], "x", 0])), expected: 422 };
  }

  /** Nesting thousands deep, under the size limit: in the body itself, or in a field. */
  private deepNesting(subject: string): Uint8Array {
    const depth = this.int(1_000, Math.floor(this.context.maxBytes / 12));
    const open = this.pick(["[", '{"a":']);
    const close = open === "[" ? "]" : "}";
    const nest = open.repeat(depth) + (open === "[" ? "" : "1") + close.repeat(depth);
    const { subjects } = this.context;
    if (this.chance(0.3)) return encoder.encode(nest);
    if (subject === subjects.mcpCall) return encoder.encode(`{"server":"everything","tool":"echo","arguments":{"message":${nest}}}`);
    if (subject === subjects.consult) return encoder.encode(`{"question":"q","experts":${open === "[" ? nest : `[${nest}]`}}`);
    return encoder.encode(`{"x":${nest}}`);
  }

  /** The next message. */
  next(): MalformedMessage {
    const { subjects, authorization, maxBytes } = this.context;
    let roll = this.random() * TOTAL_WEIGHT;
    const kind = KINDS.find(([, w]) => (roll -= w) < 0)?.[0] ?? "bad JSON";
    const subject = this.pick([subjects.consult, subjects.consult, subjects.mcpCall, subjects.expertsList]);
    const headers: Array<[string, string]> = [];
    let data: Uint8Array;
    let expected: number | undefined;
    // Credentials are valid unless the kind is about them, so the message is wrong in its own way only.
    let credentials = true;
    switch (kind) {
      case "random bytes": {
        data = new Uint8Array(this.int(1, 512)).map(() => this.int(0, 255));
        // One byte UTF-8 never has: the message cannot be text.
        data[this.int(0, data.length - 1)] = this.pick([0xc0, 0xc1, 0xf5, 0xff, 0xfe]);
        expected = 400;
        break;
      }
      case "bad JSON":
        data = encoder.encode(this.chance(0.5) ? this.pick(BAD_JSON) : `{${this.ascii(this.int(0, 200))},`);
        expected = 400;
        break;
      case "wrong types":
        ({ data, expected } = this.wrongTypes(subject));
        break;
      case "deep nesting":
        data = this.deepNesting(subject);
        expected = undefined;
        break;
      case "over the size limit": {
        const size = this.int(maxBytes + 1, maxBytes + 256 * 1024);
        data = this.chance(0.5) ? encoder.encode(JSON.stringify({ question: "x".repeat(size) })) : new Uint8Array(size).fill(0x7b);
        expected = 413;
        break;
      }
      case "field over its limit":
        data = subject === subjects.consult ? json({ question: "why ".repeat(this.int(8_001, 40_000)) }) : json({ server: "s".repeat(this.int(200, 5_000)), tool: "t".repeat(this.int(1, 5_000)) });
        expected = 422;
        break;
      case "bad credentials": {
        data = this.validBody(subject);
        credentials = false;
        const how = this.int(0, 3);
        if (how === 0) headers.push(["Authorization", this.pick(BAD_AUTH)]);
        else if (how === 1) headers.push(["X-Api-Key", this.pick(BAD_KEYS)]);
        else if (how === 2) headers.push(["Authorization", this.pick(BAD_AUTH)], ["X-Api-Key", this.pick(BAD_KEYS)]);
        // how === 3: none at all.
        expected = 401;
        break;
      }
      case "bad Core-Timeout-Ms":
        data = this.validBody(subject);
        headers.push(["Core-Timeout-Ms", this.pick(BAD_TIMEOUTS)]);
        expected = 422;
        break;
    }
    if (credentials) headers.push([this.chance(0.2) ? "authorization" : "Authorization", authorization]);
    if (this.chance(0.2)) headers.push(["Core-Request-Id", this.pick(BAD_REQUEST_IDS)]);
    if (this.chance(0.1)) headers.push(this.pick(ODD_HEADERS));
    return { kind, subject, data, headers, withReply: !this.chance(1 / 6), expected };
  }
}
