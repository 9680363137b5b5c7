import { fanOut } from "../../../../lib/circle/fan-out";
import type { ExpertAnswer } from "../../../../lib/circle/expert-answer";
import { ProviderUnavailableError } from "../../../../lib/errors";
import { later } from "../../../helpers/wait";

const answer = (expertId: string): ExpertAnswer => ({
  expertId,
  answeredBy: expertId,
  provider: "openai",
  model: "m",
  text: `answer of ${expertId}`,
  usage: { inputTokens: 10, outputTokens: 5 },
  costUsd: 0.001,
  priced: true,
  attempts: 1,
  latencyMs: 1,
  finishReason: "stop",
});


describe("fanOut", () => {
  it("asks every expert at once and reports each one, answered, failed or late, in the order asked", async () => {
    const started = Date.now();
    const asked: string[] = [];
    const result = await fanOut({
      experts: ["a", "b", "hang", "c"],
      minResponses: 2,
      deadline: Date.now() + 300,
      ask: (id) => {
        asked.push(id);
        if (id === "hang") return new Promise(() => undefined);
        if (id === "b") return later(10, () => {
          throw new ProviderUnavailableError("b is down", { data: { provider: "openai", status: 500 } });
        });
        return later(id === "a" ? 20 : 40, () => answer(id));
      },
    });
    const took = Date.now() - started;
    expect(asked).toEqual(["a", "b", "hang", "c"]);
    expect(result.answered).toBe(2);
    expect(result.quorum).toBe(true);
    expect(result.outcomes.map((o) => [o.expertId, o.status])).toEqual([
      ["a", "answered"],
      ["b", "failed"],
      ["hang", "late"],
      ["c", "answered"],
    ]);
    const b = result.outcomes[1]!;
    expect(b.status === "failed" && b.error).toMatchObject({ code: "PROVIDER_UNAVAILABLE", status: 502, retryable: true, data: { status: 500 } });
    const hang = result.outcomes[2]!;
    expect(hang.status === "late" && hang.error.code).toBe("DEADLINE_EXCEEDED");
    // Returned at the deadline, not when the hanging expert gave up.
    expect(took).toBeGreaterThanOrEqual(290);
    expect(took).toBeLessThan(1_000);
  });

  it("asks in the order given and still reports outcomes in the experts' order", async () => {
    const asked: string[] = [];
    const result = await fanOut({
      experts: ["a", "b", "c"],
      order: [2, 0, 1],
      minResponses: 1,
      deadline: Date.now() + 10_000,
      ask: (id) => {
        asked.push(id);
        return later(1, () => answer(id));
      },
    });
    expect(asked).toEqual(["c", "a", "b"]);
    expect(result.outcomes.map((o) => o.expertId)).toEqual(["a", "b", "c"]);
  });

  it("refuses an order that does not list every expert once, before asking any", () => {
    const asked: string[] = [];
    const ask = (id: string) => {
      asked.push(id);
      return Promise.resolve(answer(id));
    };
    for (const order of [[0, 1], [0, 0, 1], [0, 1, 3], [0, 1, 1.5]]) {
      expect(() => fanOut({ experts: ["a", "b", "c"], order, minResponses: 1, deadline: Date.now() + 1_000, ask })).toThrow(RangeError);
    }
    expect(asked).toEqual([]);
  });

  it("returns as soon as every expert settled", async () => {
    const started = Date.now();
    const result = await fanOut({ experts: ["a", "b"], minResponses: 1, deadline: Date.now() + 10_000, ask: (id) => later(5, () => answer(id)) });
    expect(result.answered).toBe(2);
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it("after the quorum, waits only the grace period for the others", async () => {
    const started = Date.now();
    const result = await fanOut({
      experts: ["a", "b", "slow"],
      minResponses: 2,
      deadline: Date.now() + 10_000,
      graceMs: 50,
      ask: (id) => (id === "slow" ? new Promise<ExpertAnswer>(() => undefined) : later(5, () => answer(id))),
    });
    expect(result.outcomes.map((o) => o.status)).toEqual(["answered", "answered", "late"]);
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it("gives each expert the tighter of its own timeout and the consult's deadline", async () => {
    const deadlines: number[] = [];
    const deadline = Date.now() + 10_000;
    await fanOut({ experts: ["a"], minResponses: 1, deadline, expertTimeoutMs: 100, ask: (id, d) => (deadlines.push(d), Promise.resolve(answer(id))) });
    expect(deadlines[0]).toBeLessThan(deadline - 5_000);
  });

  it("reports no quorum without throwing, and hides the text of errors that are not CORE's", async () => {
    const result = await fanOut({
      experts: ["a", "b"],
      minResponses: 2,
      deadline: Date.now() + 1_000,
      ask: (id) => (id === "a" ? Promise.resolve(answer(id)) : Promise.reject(new TypeError("secret internals at /srv/x.js:1"))),
    });
    expect(result.quorum).toBe(false);
    const b = result.outcomes[1]!;
    expect(b.status).toBe("failed");
    expect(JSON.stringify(b)).not.toContain("secret");
  });

  it("a synchronous throw from ask is that expert's failure, not the consult's", async () => {
    const result = await fanOut({
      experts: ["a", "b"],
      minResponses: 1,
      deadline: Date.now() + 1_000,
      ask: (id) => {
        if (id === "b") throw new ProviderUnavailableError("no");
        return Promise.resolve(answer(id));
      },
    });
    expect(result.outcomes.map((o) => o.status)).toEqual(["answered", "failed"]);
  });
});
