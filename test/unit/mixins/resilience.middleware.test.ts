import type { CallingOptions } from "moleculer";
import { Errors } from "moleculer";
import type { ResiliencePolicy } from "../../../config/resilience-policies";
import { DeadlineExceededError, RateLimitedError, UnavailableError, ValidationError } from "../../../lib/errors";
import { CALL_DEADLINE_META, DEADLINE_META, ResilienceMiddleware } from "../../../mixins/resilience.middleware";

type CallFn = (action: string, params?: unknown, opts?: CallingOptions) => Promise<unknown>;

const policy: ResiliencePolicy = {
  timeoutMs: 1_000,
  retries: 3,
  backoff: { initialMs: 10, maxMs: 20, factor: 2 },
  circuitBreaker: { threshold: 0.5, minRequestCount: 20, windowTimeSec: 60, halfOpenTimeMs: 10_000 },
  mailbox: { concurrency: 1, capacity: 1 },
};

function wrap(next: CallFn, policies: Record<string, ResiliencePolicy> = { default: policy }): CallFn {
  const mw = ResilienceMiddleware(policies) as unknown as { call(n: CallFn): CallFn };
  return mw.call(next);
}

function failing(errors: unknown[], result = "ok") {
  const calls: CallingOptions[] = [];
  const next: CallFn = async (_a, _p, opts = {}) => {
    calls.push(opts);
    const err = errors.shift();
    if (err) throw err;
    return result;
  };
  return { calls, next };
}

describe("ResilienceMiddleware", () => {
  it("retries retryable errors with backoff and succeeds", async () => {
    const { calls, next } = failing([new UnavailableError("down"), new Errors.ServiceNotAvailableError({ action: "x.y" })]);
    expect(await wrap(next)("x.y", {})).toBe("ok");
    expect(calls).toHaveLength(3);
    expect(calls.every((c) => c.retries === 0)).toBe(true);
  });

  it("never retries a non-retryable error", async () => {
    const { calls, next } = failing([new ValidationError("bad")]);
    await expect(wrap(next)("x.y", {})).rejects.toBeInstanceOf(ValidationError);
    expect(calls).toHaveLength(1);
  });

  it("gives up after the policy's retries", async () => {
    const { calls, next } = failing([1, 2, 3, 4, 5].map(() => new UnavailableError("down")));
    await expect(wrap(next)("x.y", {})).rejects.toBeInstanceOf(UnavailableError);
    expect(calls).toHaveLength(4);
  });

  it("sets a deadline, carries it in meta, and turns Moleculer's per-call timers off", async () => {
    const { calls, next } = failing([new UnavailableError("down")]);
    const t0 = Date.now();
    await wrap(next)("x.y", {}, { timeout: 500 });
    const meta = calls[0]!.meta as Record<string, number>;
    expect(meta[DEADLINE_META]).toBeGreaterThanOrEqual(t0 + 500);
    expect(meta[DEADLINE_META]).toBeLessThanOrEqual(Date.now() + 500);
    // The call's deadline is the request's: no separate key travels.
    expect(meta[CALL_DEADLINE_META]).toBeUndefined();
    expect(calls.map((c) => c.timeout)).toEqual([0, 0]);
    expect((calls[1]!.meta as Record<string, number>)[DEADLINE_META]).toBe(meta[DEADLINE_META]);
  });

  it("a call that does not answer fails with DEADLINE_EXCEEDED at its deadline, not later", async () => {
    jest.useFakeTimers();
    try {
      const next: CallFn = () => new Promise(() => undefined);
      let outcome: unknown;
      void wrap(next)("x.y", {}, { timeout: 120 }).catch((e: unknown) => (outcome = e));
      await jest.advanceTimersByTimeAsync(110);
      expect(outcome).toBeUndefined();
      await jest.advanceTimersByTimeAsync(30);
      expect(outcome).toBeInstanceOf(DeadlineExceededError);
    } finally {
      jest.useRealTimers();
    }
  });

  it("inherits the parent call's deadline (a deadline set at the edge travels end to end)", async () => {
    const { calls, next } = failing([]);
    const deadline = Date.now() + 250;
    await wrap(next)("x.y", {}, { parentCtx: { meta: { [DEADLINE_META]: deadline } } } as unknown as CallingOptions);
    expect((calls[0]!.meta as Record<string, number>)[DEADLINE_META]).toBe(deadline);
    expect((calls[0]!.meta as Record<string, number>)[CALL_DEADLINE_META]).toBeUndefined();
  });

  it("a shorter timeout of the call itself wins over a distant inherited deadline, which meta keeps unchanged", async () => {
    const { calls, next } = failing([]);
    const requestDeadline = Date.now() + 60_000;
    await wrap(next)("x.y", {}, { timeout: 100, parentCtx: { meta: { [DEADLINE_META]: requestDeadline } } } as unknown as CallingOptions);
    expect((calls[0]!.meta as Record<string, number>)[CALL_DEADLINE_META]).toBeLessThanOrEqual(Date.now() + 100);
    // Moleculer merges a sub-call's meta back into the parent: it must still say the request's deadline.
    expect((calls[0]!.meta as Record<string, number>)[DEADLINE_META]).toBe(requestDeadline);
  });

  it("does not start a retry that could not finish before the deadline", async () => {
    const slow = { ...policy, backoff: { initialMs: 400, maxMs: 400, factor: 1 } };
    const { calls, next } = failing([new UnavailableError("down"), new UnavailableError("down")]);
    const t0 = Date.now();
    await expect(wrap(next, { default: slow })("x.y", {}, { timeout: 200 })).rejects.toBeInstanceOf(UnavailableError);
    expect(calls).toHaveLength(1);
    // It gave up at once instead of waiting the 400 ms backoff.
    expect(Date.now() - t0).toBeLessThan(390);
  });

  it("fails at once with DEADLINE_EXCEEDED when the inherited deadline already passed", async () => {
    const { calls, next } = failing([]);
    const err = await wrap(next)("x.y", {}, { meta: { [DEADLINE_META]: Date.now() - 1 } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeadlineExceededError);
    expect(calls).toHaveLength(0);
  });

  it("waits at least what a rate-limited answer asks for", async () => {
    const { calls, next } = failing([new RateLimitedError("slow down", { data: { retryAfterSec: 0.15 } })]);
    const t0 = Date.now();
    await wrap(next)("x.y", {});
    expect(calls).toHaveLength(2);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(140);
  });

  it("uses the policy of the target's kind", async () => {
    const { calls, next } = failing([new UnavailableError("a"), new UnavailableError("b")]);
    await expect(wrap(next, { default: policy, expert: { ...policy, retries: 1 } })("expert.claude.ask", {})).rejects.toBeInstanceOf(UnavailableError);
    expect(calls).toHaveLength(2);
  });

  it("leaves Moleculer's internal $node calls alone", async () => {
    const { calls, next } = failing([]);
    await wrap(next)("$node.list", {}, { nodeID: "a" });
    expect(calls[0]).toEqual({ nodeID: "a" });
  });

  it("a request sent to another node fails at its deadline through the transit's table, counted against its endpoint", async () => {
    jest.useFakeTimers();
    try {
      const mw = ResilienceMiddleware({ default: { ...policy, retries: 0 } }) as unknown as { created(b: unknown): void; call(n: CallFn): CallFn };
      const pendingRequests = new Map<string, { ctx: { meta: unknown; action: { name: string } }; reject(err: Error): void }>();
      mw.created({ transit: { pendingRequests, removePendingRequest: (id: string) => pendingRequests.delete(id) } });
      // As Moleculer's transit does: the request waits in the table until answered; its rejection is the call's.
      let endpointSaw: unknown;
      const next: CallFn = (action, _p, opts = {}) => {
        const ctx = { id: "ctx-1", meta: opts.meta, action: { name: action } };
        const call = new Promise((_resolve, reject) => pendingRequests.set(ctx.id, { ctx, reject })).catch((err: unknown) => {
          endpointSaw = err; // the circuit breaker sits here, inside `next`
          throw err;
        });
        return Object.assign(call, { ctx });
      };
      let outcome: unknown;
      const result = mw.call(next)("x.y", {}, { timeout: 120 });
      void result.catch((e: unknown) => (outcome = e));
      // The caller's promise is not the transit's: Moleculer would merge the meta of one carrying its context into the parent's.
      expect((result as { ctx?: unknown }).ctx).toBeUndefined();
      await jest.advanceTimersByTimeAsync(110);
      expect(outcome).toBeUndefined();
      await jest.advanceTimersByTimeAsync(30);
      expect(outcome).toBeInstanceOf(DeadlineExceededError);
      expect(endpointSaw).toBe(outcome);
      expect(pendingRequests.size).toBe(0);
    } finally {
      jest.useRealTimers();
    }
  });
});
