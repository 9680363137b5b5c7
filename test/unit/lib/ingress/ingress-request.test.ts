import { BadRequestError, PayloadTooLargeError, ValidationError } from "../../../../lib/errors";
import { headerRecord, lowerCaseHeaders } from "../../../../lib/ingress/ingress-message";
import { clientRequestId, DEFAULT_INGRESS_MAX_BYTES, parseBody, requestedTimeoutMs } from "../../../../lib/ingress/ingress-request";

const bytes = (text: string) => new TextEncoder().encode(text);
const thrown = (fn: () => unknown): unknown => {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error("expected a throw");
};

describe("parseBody", () => {
  it("reads JSON of any kind; an empty or blank message is no body", () => {
    expect(parseBody(bytes('{"question":"Why?"}'), 1024)).toEqual({ question: "Why?" });
    expect(parseBody(bytes("[1,2]"), 1024)).toEqual([1, 2]);
    expect(parseBody(bytes("null"), 1024)).toBeNull();
    expect(parseBody(new Uint8Array(0), 1024)).toBeUndefined();
    expect(parseBody(bytes(" \n"), 1024)).toBeUndefined();
  });

  it("refuses a message over the limit with 413 before decoding it (even bytes that are not UTF-8)", () => {
    const err = thrown(() => parseBody(new Uint8Array(2049).fill(0xff), 2048));
    expect(err).toBeInstanceOf(PayloadTooLargeError);
    expect(err).toMatchObject({ status: 413, data: { bytes: 2049, limit: 2048 } });
    expect(parseBody(bytes(JSON.stringify("x".repeat(2046))), 2048)).toHaveLength(2046);
  });

  it("the default limit is REST's 256 KiB", () => {
    expect(DEFAULT_INGRESS_MAX_BYTES).toBe(262_144);
  });

  it("400 for bytes that are not UTF-8 and for text that is not JSON, without echoing the message", () => {
    expect(thrown(() => parseBody(new Uint8Array([0x7b, 0xc3, 0x28, 0x7d]), 1024))).toMatchObject({ status: 400, code: "BAD_REQUEST", message: expect.stringMatching(/not UTF-8/) });
    const err = thrown(() => parseBody(bytes('{"question": secret-sauce}'), 1024));
    expect(err).toBeInstanceOf(BadRequestError);
    expect((err as Error).message).toMatch(/^The message is not valid JSON( \(at position \d+\))?: send a JSON object$/);
    expect((err as Error).message).not.toContain("secret");
  });
});

describe("request headers", () => {
  it("nats.js headers become a record; names are matched without regard to case", () => {
    const record = headerRecord([
      ["Authorization", ["Bearer a"]],
      ["core-request-id", ["r-1"]],
      ["__proto__", ["x"]],
    ]);
    expect(Object.getPrototypeOf(record)).toBeNull();
    expect(record.__proto__).toEqual(["x"]);
    const lower = lowerCaseHeaders({ ...record, AUTHORIZATION: ["Bearer b"] });
    expect(lower.authorization).toEqual(["Bearer a", "Bearer b"]);
    expect(clientRequestId(lower)).toBe("r-1");
  });

  it("takes the client's request id only when REST would", () => {
    expect(clientRequestId(lowerCaseHeaders({ "Core-Request-Id": ["order-42:try.1"] }))).toBe("order-42:try.1");
    expect(clientRequestId(lowerCaseHeaders({ "Core-Request-Id": ["has space"] }))).toBeUndefined();
    expect(clientRequestId(lowerCaseHeaders({ "Core-Request-Id": ["x".repeat(129)] }))).toBeUndefined();
    expect(clientRequestId({})).toBeUndefined();
  });

  it("Core-Timeout-Ms: whole milliseconds from 100 to 600000, else 422 naming the header", () => {
    expect(requestedTimeoutMs({})).toBeUndefined();
    expect(requestedTimeoutMs(lowerCaseHeaders({ "Core-Timeout-Ms": ["2500"] }))).toBe(2500);
    expect(requestedTimeoutMs(lowerCaseHeaders({ "core-timeout-ms": [" 100 "] }))).toBe(100);
    expect(requestedTimeoutMs(lowerCaseHeaders({ "Core-Timeout-Ms": ["600000"] }))).toBe(600_000);
    for (const bad of ["99", "600001", "1e4", "-5", "1.5", "soon", "", "9".repeat(50)]) {
      const err = thrown(() => requestedTimeoutMs(lowerCaseHeaders({ "Core-Timeout-Ms": [bad] })));
      expect(err).toBeInstanceOf(ValidationError);
      expect((err as ValidationError).issues).toEqual([expect.objectContaining({ field: "headers.Core-Timeout-Ms", message: "an integer of milliseconds from 100 to 600000" })]);
    }
  });
});
