import {
  ConfigError,
  CoreError,
  describeError,
  errorClassFor,
  ForeignCoreError,
  fromPlainError,
  isPlainCoreError,
  RateLimitedError,
  UnavailableError,
  ValidationError,
} from "../../../../lib/errors";
import * as circleCatalog from "../../../../lib/errors/circle-errors";
import * as catalog from "../../../../lib/errors/errors";

const classes = ([...Object.values(catalog), ...Object.values(circleCatalog)] as unknown[]).filter(
  (v): v is typeof CoreError => typeof v === "function" && v.prototype instanceof CoreError,
);

describe("CORE errors", () => {
  it("carry code, status, retryable and data", () => {
    const err = new UnavailableError("NATS is down", { data: { url: "nats://x" } });
    expect(err).toBeInstanceOf(Error);
    expect(err).toMatchObject({ name: "UnavailableError", code: "UNAVAILABLE", type: "UNAVAILABLE", status: 503, retryable: true, data: { url: "nats://x" } });
    expect(new RateLimitedError("slow down", { retryable: false }).retryable).toBe(false);
  });

  it("every class survives a trip through JSON, rebuilt from its code", () => {
    expect(classes.length).toBeGreaterThan(10);
    for (const cls of classes) {
      const original = new (cls as unknown as new (m: string, o: object) => CoreError)("boom", { data: { n: 1 } });
      const wire = JSON.parse(JSON.stringify(original.toJSON()));
      expect(isPlainCoreError(wire)).toBe(true);
      const rebuilt = fromPlainError(wire);
      const expected = errorClassFor(original.code)!;
      expect(rebuilt).toBeInstanceOf(expected);
      expect(rebuilt).toMatchObject({ code: original.code, status: original.status, retryable: original.retryable, message: "boom" });
      expect(rebuilt.data).toMatchObject({ n: 1 });
    }
  });

  it("keeps a per-instance retryable flag across the trip", () => {
    const rebuilt = fromPlainError(new UnavailableError("x", { retryable: false }).toJSON());
    expect(rebuilt).toBeInstanceOf(UnavailableError);
    expect(rebuilt.retryable).toBe(false);
  });

  it("keeps every field of an error whose code this process does not know", () => {
    const rebuilt = fromPlainError({ name: "QuotaFromTheFutureError", code: "QUOTA_FROM_THE_FUTURE", status: 402, message: "over quota", retryable: false, data: { limit: 5 } });
    expect(rebuilt).toBeInstanceOf(ForeignCoreError);
    expect(rebuilt).toMatchObject({ name: "QuotaFromTheFutureError", code: "QUOTA_FROM_THE_FUTURE", status: 402, retryable: false, data: { limit: 5 } });
  });

  it("validation issues travel in data", () => {
    const rebuilt = fromPlainError(new ValidationError("bad", { issues: [{ field: "q", message: "required" }] }).toJSON());
    expect(rebuilt).toBeInstanceOf(ValidationError);
    expect((rebuilt as ValidationError).issues).toEqual([{ field: "q", message: "required" }]);
  });

  it("describes errors for a terminal without stack traces", () => {
    const text = describeError(new ConfigError("Invalid configuration (1 problem)", { issues: [{ field: "CORE_API_PORT", message: 'received "abc"' }] }));
    expect(text).toBe('Invalid configuration (1 problem) [CONFIG_INVALID]\n  - CORE_API_PORT: received "abc"');
    expect(describeError(new Error("plain"))).toBe("plain [INTERNAL]");
    expect(describeError("text")).toBe("text [INTERNAL]");
  });
});
