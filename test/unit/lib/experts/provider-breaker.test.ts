import { CoreError, ProviderBadRequestError, ProviderUnavailableError } from "../../../../lib/errors";
import { ProviderBreaker, type BreakerState } from "../../../../lib/experts/provider-breaker";

describe("ProviderBreaker", () => {
  it("opens after consecutive failures, answers CIRCUIT_OPEN without calling, half-opens, then closes on success", async () => {
    const changes: BreakerState[] = [];
    const breaker = new ProviderBreaker("openai http://x", { failures: 3, halfOpenAfterMs: 100 }, (s) => changes.push(s));
    let calls = 0;
    const failing = () => {
      calls++;
      return Promise.reject(new ProviderUnavailableError("500"));
    };
    for (let i = 0; i < 3; i++) await expect(breaker.run(failing)).rejects.toMatchObject({ code: "PROVIDER_UNAVAILABLE" });
    expect(breaker.state).toBe("open");
    await expect(breaker.run(failing)).rejects.toMatchObject({ code: "CIRCUIT_OPEN", status: 503, retryable: false });
    expect(calls).toBe(3);
    await new Promise((r) => setTimeout(r, 120));
    await expect(
      breaker.run(async () => {
        calls++;
        return "ok";
      }),
    ).resolves.toBe("ok");
    expect(calls).toBe(4);
    expect(breaker.state).toBe("closed");
    expect(changes).toEqual(["open", "half-open", "closed"]);
  });

  it("does not count refused requests (bad request) against the endpoint", async () => {
    const breaker = new ProviderBreaker("x", { failures: 2, halfOpenAfterMs: 1_000 });
    for (let i = 0; i < 5; i++) await expect(breaker.run(() => Promise.reject(new ProviderBadRequestError("unknown model")))).rejects.toBeInstanceOf(CoreError);
    expect(breaker.state).toBe("closed");
  });
});
