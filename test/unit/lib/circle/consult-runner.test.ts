import type { ExpertConfig } from "../../../../config/file-schema";
import { consultKey, parseConsultRequest } from "../../../../lib/circle/consult-request";
import { ConsultRunner, defaultQuorum, finishingReserveMs, type ConsultDeps } from "../../../../lib/circle/consult-runner";
import type { Consultation } from "../../../../lib/circle/consultation";
import type { ExpertAnswer } from "../../../../lib/circle/expert-answer";
import { ExpertLatencies } from "../../../../lib/circle/expert-latencies";
import { consensusReference } from "../../../../lib/consensus";
import { PriceTable } from "../../../../lib/costs/price-table";
import { CoreError, ProviderUnavailableError, ValidationError } from "../../../../lib/errors";
import { expertAnswer } from "../../../helpers/expert-answer";

const expert = (id: string, weight = 1): ExpertConfig => ({ id, provider: "openai", model: `model-${id}`, weight, fallback: [] });

const answer = (expertId: string, text: string): ExpertAnswer => expertAnswer(expertId, text, { usage: { inputTokens: 100, outputTokens: 50 }, costUsd: 0.01 });

function deps(texts: Record<string, string | Error>, overrides: Partial<ConsultDeps> = {}) {
  const saved: Consultation[] = [];
  const asked: Array<{ id: string; deadline: number; messages: unknown }> = [];
  const d: ConsultDeps = {
    experts: Object.keys(texts).map((id) => expert(id)),
    nodeId: "node-1",
    ask: async (id, question, deadline) => {
      asked.push({ id, deadline, messages: question.messages });
      const t = texts[id]!;
      if (t instanceof Error) throw t;
      return answer(id, t);
    },
    aggregate: (responses) => Promise.resolve(consensusReference(responses)),
    save: async (c) => {
      saved.push(c);
    },
    prices: new PriceTable({}),
    ...overrides,
  };
  return { d, saved, asked };
}

const U = { id: "u", roles: [] };
const PARIS = "The capital of France is Paris. Final answer: Paris";

describe("ConsultRunner", () => {
  it("asks every configured expert, merges the answers and records the consultation with totals", async () => {
    const { d, saved, asked } = deps({ a: PARIS, b: "Paris is the capital of France. Final answer: Paris", c: "It is Lyon. Final answer: Lyon" });
    const c = await new ConsultRunner(d).run(parseConsultRequest({ question: "Capital of France?", system: "Be brief." }), { principal: { id: "u1", roles: [] } });
    expect(asked.map((a) => a.id)).toEqual(["a", "b", "c"]);
    expect(asked[0]!.messages).toEqual([
      { role: "system", content: "Be brief." },
      { role: "user", content: "Capital of France?" },
    ]);
    expect(c.status).toBe("completed");
    expect(c.consensus!.vote!.answer).toBe("paris");
    expect(c.quorum).toEqual({ required: 2, answered: 3 });
    expect(c.usage).toEqual({ inputTokens: 300, outputTokens: 150 });
    expect(c.costUsd).toBeCloseTo(0.03, 12);
    expect(c.principal).toBe("u1");
    expect(saved).toEqual([c]);
  });

  it("with latencies: asks the expert expected to answer last first, learning from each consult", async () => {
    const latencies = new ExpertLatencies();
    const times: Record<string, number> = { a: 5, b: 30, c: 15 };
    const asked: string[] = [];
    // A clock of the test's own: each answer arrives exactly its time after the consult began, however busy the machine.
    let clock = 1_000_000;
    const answerAfter = (id: string) => {
      const askedAt = clock;
      return new Promise<ExpertAnswer>((resolve) =>
        setTimeout(() => {
          clock = Math.max(clock, askedAt + times[id]!);
          resolve(answer(id, PARIS));
        }, times[id]),
      );
    };
    const d: ConsultDeps = {
      ...deps({ a: PARIS, b: PARIS, c: PARIS }).d,
      latencies,
      now: () => clock,
      ask: (id) => {
        asked.push(id);
        return answerAfter(id);
      },
    };
    const runner = new ConsultRunner(d);
    await runner.run(parseConsultRequest({ question: "Capital of France?" }), { principal: U });
    expect(asked).toEqual(["a", "b", "c"]); // nothing known yet: configured order
    asked.length = 0;
    const c = await runner.run(parseConsultRequest({ question: "Capital of France?" }), { principal: U });
    expect(asked).toEqual(["b", "c", "a"]);
    expect(c.outcomes.map((o) => o.expertId)).toEqual(["a", "b", "c"]);
    // A failure is not a latency: b failing at once, ten times over, is still expected to be the slowest.
    const failingB = new ConsultRunner({
      ...d,
      ask: (id) => (id === "b" ? Promise.reject(new ProviderUnavailableError("down")) : answerAfter(id)),
    });
    for (let i = 0; i < 10; i++) await failingB.run(parseConsultRequest({ question: "Capital of France?" }), { principal: U });
    asked.length = 0;
    await runner.run(parseConsultRequest({ question: "Capital of France?" }), { principal: U });
    expect(asked[0]).toBe("b");
  });

  it("reports a failed expert and still answers with the quorum", async () => {
    const { d } = deps({ a: PARIS, b: PARIS, c: new ProviderUnavailableError("c is down") });
    const c = await new ConsultRunner(d).run(parseConsultRequest({ question: "q" }), { principal: U });
    expect(c.outcomes.map((o) => o.status)).toEqual(["answered", "answered", "failed"]);
    expect(c.consensus!.experts.map((e) => e.expertId)).toEqual(["a", "b"]);
  });

  it("without the quorum: the consultation is recorded as failed, then QUORUM_NOT_REACHED with every expert's outcome", async () => {
    const { d, saved } = deps({ a: PARIS, b: new ProviderUnavailableError("down"), c: new ProviderUnavailableError("down") });
    const err = await new ConsultRunner(d).run(parseConsultRequest({ question: "q" }), { principal: U }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CoreError);
    expect(err).toMatchObject({ code: "QUORUM_NOT_REACHED", status: 503, data: { required: 2, answered: 1 } });
    expect((err as CoreError).data.experts).toHaveLength(3);
    expect(saved[0]!.status).toBe("failed");
    expect(saved[0]!.costUsd).toBeCloseTo(0.01, 12);
    expect((err as CoreError).data.consultationId).toBe(saved[0]!.id);
  });

  it("asks only the experts named, refuses unknown ones and says which exist", async () => {
    const { d, asked } = deps({ a: PARIS, b: PARIS });
    await new ConsultRunner(d).run(parseConsultRequest({ question: "q", experts: ["b"] }), { principal: U });
    expect(asked.map((a) => a.id)).toEqual(["b"]);
    await expect(new ConsultRunner(d).run(parseConsultRequest({ question: "q", experts: ["b", "zz"] }), { principal: U })).rejects.toMatchObject({
      code: "UNKNOWN_EXPERT",
      status: 404,
      data: { unknown: ["zz"], known: ["a", "b"] },
    });
  });

  it("with no expert configured says how to add one", async () => {
    const { d } = deps({});
    await expect(new ConsultRunner(d).run(parseConsultRequest({ question: "q" }), { principal: U })).rejects.toMatchObject({
      code: "NO_EXPERTS",
      message: expect.stringContaining("CORE_CONFIG"),
    });
  });

  it("gives experts the tighter of the caller's deadline and the request's timeout, less the time kept to finish", async () => {
    const { d, asked } = deps({ a: PARIS });
    const now = 1_000_000;
    d.now = () => now;
    await new ConsultRunner(d).run(parseConsultRequest({ question: "q", timeoutMs: 30_000 }), { principal: U, deadline: now + 2_000 });
    expect(asked[0]!.deadline).toBe(now + 2_000 - finishingReserveMs(2_000));
    expect(finishingReserveMs(2_000)).toBe(200);
    expect(finishingReserveMs(100)).toBe(50);
    expect(finishingReserveMs(60_000)).toBe(1_000);
  });

  it("weights answers by the experts' configured weights", async () => {
    const { d } = deps({ a: "Final answer: 4", b: "Final answer: 5", c: "Final answer: 5" });
    d.experts = [expert("a", 5), expert("b"), expert("c")];
    const c = await new ConsultRunner(d).run(parseConsultRequest({ question: "2+2?" }), { principal: U });
    expect(c.consensus!.vote!.answer).toBe("4");
  });

  it("defaults the quorum to a majority", () => {
    expect([1, 2, 3, 4, 5].map(defaultQuorum)).toEqual([1, 2, 2, 3, 3]);
  });
});

describe("consult requests", () => {
  it("refuse bad input with every failing field", () => {
    const err = (() => {
      try {
        parseConsultRequest({ question: "   ", experts: [], timeoutMs: 5, temperature: 3, bogus: 1 });
      } catch (e) {
        return e;
      }
    })() as ValidationError;
    expect(err).toBeInstanceOf(ValidationError);
    expect(err.issues.map((i) => i.field).sort()).toEqual(["bogus", "experts", "question", "temperature", "timeoutMs"]);
  });

  it("share a cache key when they differ only in spacing or expert order", () => {
    const a = parseConsultRequest({ question: "What is  2+2?\n", experts: ["x", "y"] });
    const b = parseConsultRequest({ question: " What is 2+2?", experts: ["y", "x"] });
    expect(consultKey(a, a.experts!)).toBe(consultKey(b, b.experts!));
    const c = parseConsultRequest({ question: "What is 2+2?", experts: ["x", "y"], temperature: 1 });
    expect(consultKey(c, c.experts!)).not.toBe(consultKey(a, a.experts!));
  });
});
