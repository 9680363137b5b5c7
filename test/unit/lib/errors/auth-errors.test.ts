import { CoreError, errorClassFor, fromPlainError } from "../../../../lib/errors";
import * as authCatalog from "../../../../lib/errors/auth-errors";

const classes = (Object.values(authCatalog) as unknown[]).filter((v): v is typeof CoreError => typeof v === "function" && v.prototype instanceof CoreError);

describe("authentication errors", () => {
  it("are all 401, not retryable, with their own AUTH_ codes", () => {
    expect(classes.length).toBeGreaterThanOrEqual(10);
    expect(new Set(classes.map((c) => c.code)).size).toBe(classes.length);
    for (const cls of classes) {
      expect(cls.status).toBe(401);
      expect(cls.retryable).toBe(false);
      expect(cls.code).toMatch(/^AUTH_[A-Z_]+$/);
    }
  });

  it("are registered: each survives a trip through JSON, rebuilt from its code", () => {
    for (const cls of classes) {
      expect(errorClassFor(cls.code)).toBe(cls);
      const original = new (cls as unknown as new (m: string, o: object) => CoreError)("no", { data: { reason: "x" } });
      const rebuilt = fromPlainError(JSON.parse(JSON.stringify(original.toJSON())));
      expect(rebuilt).toBeInstanceOf(cls);
      expect(rebuilt).toMatchObject({ code: cls.code, status: 401, message: "no", data: { reason: "x" } });
    }
  });
});
