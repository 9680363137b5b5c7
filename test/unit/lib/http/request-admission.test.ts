import { MemorySharedStore } from "../../../../lib/coordination/memory-shared-store";
import type { SharedStore } from "../../../../lib/coordination/shared-store";
import { UnavailableError } from "../../../../lib/errors";
import { TrustedProxies } from "../../../../lib/http/client-address";
import { RequestAdmission, type AdmissionRequest } from "../../../../lib/http/request-admission";
import { silentLogger } from "../../../../lib/logger";
import { RateLimiter } from "../../../../lib/ratelimit/rate-limiter";

/** What the admission tells its observer (the rate-limit metrics) about refusals. */

const login: AdmissionRequest = { method: "POST", routePath: "/api/v1/auth/login", anonymous: true, headers: {}, peer: "203.0.113.7" };

function admission(store: SharedStore = new MemorySharedStore()) {
  const refused: Array<[string, string]> = [];
  const limiter = new RateLimiter({ routes: { "POST /api/v1/auth/login": { capacity: 1, refillPerSecond: 0.001 } } }, store);
  const a = new RequestAdmission(() => Promise.reject(new Error("no credential expected")), limiter, new TrustedProxies([]), silentLogger, {
    rateLimited: (method, route) => refused.push([method, route]),
  });
  return { a, refused };
}

describe("RequestAdmission's observer", () => {
  it("hears of each request its rate limits refuse, by route template, and of no other", async () => {
    const { a, refused } = admission();
    expect(await a.admit(login)).toMatchObject({ admitted: true });
    expect(refused).toEqual([]);
    expect(await a.admit(login)).toMatchObject({ admitted: false, error: { code: "RATE_LIMITED" } });
    expect(await a.admit({ ...login, routePath: "/api/v1/auth/refresh" })).toMatchObject({ admitted: true });
    expect(refused).toEqual([["POST", "/api/v1/auth/login"]]);
  });

  it("hears nothing when the shared store is down and requests pass unlimited", async () => {
    const down = Object.assign(Object.create(new MemorySharedStore()) as SharedStore, { takeTokens: () => Promise.reject(new UnavailableError("Redis down")) });
    const { a, refused } = admission(down);
    expect(await a.admit(login)).toMatchObject({ admitted: true });
    expect(await a.admit(login)).toMatchObject({ admitted: true });
    expect(refused).toEqual([]);
  });
});
