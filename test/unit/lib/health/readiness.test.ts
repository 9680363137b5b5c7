import { readinessStatus } from "../../../../lib/health/readiness";

const ok = { ok: true, critical: true, detail: "" };
const down = (critical: boolean) => ({ ok: false, critical, detail: "down" });

describe("readinessStatus", () => {
  it("is ready when every check passes (or there are none)", () => {
    expect(readinessStatus({ store: ok, transporter: ok })).toBe("ready");
    expect(readinessStatus({})).toBe("ready");
  });

  it("is degraded when only non-critical checks fail", () => {
    expect(readinessStatus({ store: ok, cache: down(false) })).toBe("degraded");
  });

  it("is not ready when a critical check fails, whatever else holds", () => {
    expect(readinessStatus({ store: down(true), cache: ok })).toBe("not ready");
    expect(readinessStatus({ store: down(true), cache: down(false) })).toBe("not ready");
  });
});
