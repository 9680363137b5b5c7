import { CircuitOpenError, CoreError, ForbiddenError, InvalidApiKeyError, QuorumNotReachedError, UnavailableError, ValidationError, BudgetExceededError, DeadlineExceededError } from "../../../../lib/errors";
import { JobPolicy, retryableForJobs } from "../../../../lib/jobs";

const quorum = (...outcomes: unknown[]) => new QuorumNotReachedError("0 of 2 answered", { data: { experts: outcomes } });
const failed = (code: string, retryable: boolean) => ({ expertId: "x", status: "failed", latencyMs: 1, error: { code, message: "m", status: 502, retryable } });

describe("retryableForJobs", () => {
  it("retries retryable errors and the codes that are transient for a job (breaker, deadline, unavailable)", () => {
    expect(retryableForJobs(new UnavailableError("down"))).toBe(true);
    expect(retryableForJobs(new CircuitOpenError("open"))).toBe(true);
    expect(retryableForJobs(new DeadlineExceededError("late"))).toBe(true);
    expect(retryableForJobs(new CoreError("x", { retryable: true }))).toBe(true);
  });

  it("does not retry invalid jobs, refused credentials or permissions, exhausted budgets or unexpected errors", () => {
    for (const err of [new ValidationError("bad"), new InvalidApiKeyError("no"), new ForbiddenError("no"), new BudgetExceededError("spent"), new CoreError("bug")]) {
      expect([err.code, retryableForJobs(err)]).toEqual([err.code, false]);
    }
  });

  it("retries a missed quorum when an expert failed for a transient reason or was late, not when all failed for good", () => {
    expect(retryableForJobs(quorum(failed("PROVIDER_UNAVAILABLE", true)))).toBe(true);
    // An expert whose own retries are spent marks its error not retryable; its kind still is transient.
    expect(retryableForJobs(quorum(failed("PROVIDER_UNAVAILABLE", false)))).toBe(true);
    expect(retryableForJobs(quorum(failed("PROVIDER_RATE_LIMITED", false)))).toBe(true);
    expect(retryableForJobs(quorum(failed("PROVIDER_AUTH_FAILED", false), failed("CIRCUIT_OPEN", false)))).toBe(true);
    expect(retryableForJobs(quorum({ expertId: "x", status: "late", latencyMs: 1, error: { code: "DEADLINE_EXCEEDED", retryable: false } }))).toBe(true);
    expect(retryableForJobs(quorum(failed("PROVIDER_AUTH_FAILED", false), failed("PROVIDER_BAD_REQUEST", false)))).toBe(false);
    expect(retryableForJobs(new QuorumNotReachedError("no data"))).toBe(false);
  });
});

describe("JobPolicy", () => {
  const policy = new JobPolicy({ maxAttempts: 3, backoff: { initialMs: 1_000, maxMs: 60_000, factor: 2 }, random: () => 0.5 });

  it("delivers one more time than it attempts: the extra delivery dead-letters a job whose last attempt never reported", () => {
    expect(policy.maxDeliver).toBe(4);
    expect([1, 2, 3, 4].map((n) => policy.exhausted(n))).toEqual([false, false, false, true]);
  });

  it("retries a retryable failure with a growing, jittered delay until the last attempt", () => {
    const err = new UnavailableError("down");
    expect(policy.afterFailure(err, 1)).toEqual({ retry: true, delayMs: 750 });
    expect(policy.afterFailure(err, 2)).toEqual({ retry: true, delayMs: 1_500 });
    expect(policy.afterFailure(err, 3)).toEqual({ retry: false, why: "last attempt" });
  });

  it("gives up at once on a failure no retry can mend", () => {
    expect(policy.afterFailure(new ForbiddenError("no"), 1)).toEqual({ retry: false, why: "not retryable" });
  });

  it("keeps every delay within [half, all] of the capped exponential", () => {
    const jittery = new JobPolicy({ maxAttempts: 50, backoff: { initialMs: 1_000, maxMs: 60_000, factor: 2 } });
    for (let attempt = 1; attempt < 50; attempt++) {
      const d = jittery.afterFailure(new UnavailableError("x"), attempt);
      const cap = Math.min(60_000, 1_000 * 2 ** (attempt - 1));
      expect(d.retry && d.delayMs >= cap / 2 && d.delayMs <= cap).toBe(true);
    }
  });

  it("refuses a number of attempts below one", () => {
    expect(() => new JobPolicy({ maxAttempts: 0 })).toThrow(RangeError);
  });
});
