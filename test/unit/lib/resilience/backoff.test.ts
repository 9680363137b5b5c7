import fc from "fast-check";
import { backoffDelay, retryWithBackoff, type BackoffPolicy } from "../../../../lib/resilience/backoff";

const policy: BackoffPolicy = { initialMs: 100, maxMs: 2_000, factor: 2 };

describe("backoffDelay", () => {
  it("stays between half and all of the capped exponential delay", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 60 }), fc.double({ min: 0, max: 0.999999, noNaN: true }), (attempt, r) => {
        const cap = Math.min(policy.maxMs, policy.initialMs * 2 ** (attempt - 1));
        const d = backoffDelay(attempt, policy, () => r);
        return d >= Math.floor(cap / 2) && d <= cap;
      }),
    );
  });

  it("grows exponentially, then holds at the cap", () => {
    const mid = () => 0.5;
    expect([1, 2, 3, 4, 5, 6, 10].map((a) => backoffDelay(a, policy, mid))).toEqual([75, 150, 300, 600, 1200, 1500, 1500]);
  });
});

describe("retryWithBackoff", () => {
  const fast: BackoffPolicy = { initialMs: 1, maxMs: 2, factor: 2 };

  it("retries until success and reports each wait", async () => {
    const waits: number[] = [];
    let calls = 0;
    const result = await retryWithBackoff(
      async () => {
        if (++calls < 4) throw new Error(`fail ${calls}`);
        return "ok";
      },
      { policy: fast, onRetry: (e) => waits.push(e.attempt) },
    );
    expect(result).toBe("ok");
    expect(waits).toEqual([1, 2, 3]);
  });

  it("stops at an error that shouldRetry rejects", async () => {
    let calls = 0;
    await expect(
      retryWithBackoff(
        async () => {
          calls++;
          throw new Error("fatal");
        },
        { policy: fast, shouldRetry: () => false },
      ),
    ).rejects.toThrow("fatal");
    expect(calls).toBe(1);
  });

  it("gives up with the last error when aborted", async () => {
    const controller = new AbortController();
    const p = retryWithBackoff(
      async (attempt) => {
        if (attempt === 2) controller.abort();
        throw new Error(`attempt ${attempt}`);
      },
      { policy: { initialMs: 10_000, maxMs: 10_000, factor: 1 }, signal: controller.signal, onRetry: () => setTimeout(() => controller.abort(), 5) },
    );
    await expect(p).rejects.toThrow("attempt 1");
  });
});
