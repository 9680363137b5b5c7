import type { ExpertConfig } from "../../../../config/file-schema";
import type { Consultation } from "../../../../lib/circle/consultation";
import { consensusReference } from "../../../../lib/consensus";
import { MemorySharedStore } from "../../../../lib/coordination/memory-shared-store";
import { BudgetLedger } from "../../../../lib/costs/budget-ledger";
import { PriceTable } from "../../../../lib/costs/price-table";
import { ProviderRateLimitedError, ProviderUnavailableError } from "../../../../lib/errors";
import type { ExpertStreamEvent } from "../../../../lib/experts/expert-stream";
import { PassThrough, type PassThroughDeps, type PassThroughEvent } from "../../../../lib/openai-compat/pass-through";
import { expertAnswer } from "../../../helpers/expert-answer";
import { later } from "../../../helpers/wait";

const PRICE = { inputPerMTok: 1_000, outputPerMTok: 1_000 };
const gpt: ExpertConfig = { id: "gpt", provider: "openai", model: "gpt-4o", weight: 1, fallback: [], price: PRICE, maxTokens: 100 };
const U = { id: "u", roles: [] };
const messages = [
  { role: "system" as const, content: "Be brief." },
  { role: "user" as const, content: "Capital of France?" },
];

function setup(overrides: Partial<PassThroughDeps> = {}) {
  const saved: Consultation[] = [];
  const completed: Consultation[] = [];
  const shared = new MemorySharedStore();
  const budgets = new BudgetLedger({ rules: [{ principal: "u", period: "day", limitUsd: 1 }], shared, spentSince: async () => 0 });
  const deps: PassThroughDeps = {
    experts: [gpt],
    nodeId: "n",
    prices: new PriceTable({}),
    budgets,
    save: async (c) => void saved.push(c),
    aggregate: async (responses) => consensusReference(responses),
    onCompleted: (c) => completed.push(c),
    ...overrides,
  };
  const used = async () => (await budgets.status(U))[0]!.usedUsd;
  return { runner: new PassThrough(deps), saved, completed, used };
}

async function* chunks(list: Array<ExpertStreamEvent | Error>, delayMs = 0): AsyncGenerator<ExpertStreamEvent> {
  for (const c of list) {
    if (delayMs) await later(delayMs, () => undefined);
    if (c instanceof Error) throw c;
    yield c;
  }
}

async function read(events: AsyncIterable<PassThroughEvent>): Promise<PassThroughEvent[]> {
  const out: PassThroughEvent[] = [];
  for await (const e of events) out.push(e);
  return out;
}

const { text: _t, ...streamed } = expertAnswer("gpt", "Paris.", { costUsd: 0.05 });

describe("PassThrough: one expert, accounted as a consult of one", () => {
  it("asks the expert the conversation as it is and records a completed consultation with its usage, budget settled to the cost", async () => {
    const { runner, saved, completed, used } = setup();
    let asked: unknown;
    const c = await runner.ask({ expertId: "gpt", messages, principal: U, maxTokens: 50 }, async (q) => {
      asked = q;
      return expertAnswer("gpt", "Paris.", { costUsd: 0.05 });
    });
    expect(asked).toEqual({ messages, maxTokens: 50 });
    expect(c).toMatchObject({
      principal: "u",
      question: "Capital of France?",
      system: "Be brief.",
      experts: ["gpt"],
      status: "completed",
      quorum: { required: 1, answered: 1 },
      usage: { inputTokens: 100, outputTokens: 20 },
      costUsd: 0.05,
      params: { mode: "pass-through", maxTokens: 50 },
      consensus: { consensus: { expertId: "gpt", text: "Paris." }, agreement: 1 },
    });
    expect(saved).toEqual([c]);
    expect(completed).toEqual([c]);
    expect(await used()).toBeCloseTo(0.05, 9);
  });

  it("refuses before asking when the worst case passes a budget", async () => {
    const { runner, saved } = setup();
    const ask = jest.fn();
    // 100 000 output tokens at $1000/MTok: $100, past the $1 budget.
    await expect(runner.ask({ expertId: "gpt", messages, principal: U, maxTokens: 100_000 }, ask)).rejects.toMatchObject({ code: "BUDGET_EXCEEDED", status: 402 });
    expect(ask).not.toHaveBeenCalled();
    expect(saved).toHaveLength(0);
  });

  it("a failed call is recorded as a failed consultation, the budget released, the expert's own error thrown", async () => {
    const { runner, saved, completed, used } = setup();
    const err = new ProviderRateLimitedError("slow down", { data: { retryAfterSec: 3 } });
    await expect(runner.ask({ expertId: "gpt", messages, principal: U }, () => Promise.reject(err))).rejects.toBe(err);
    expect(saved).toEqual([expect.objectContaining({ status: "failed", error: { code: "PROVIDER_RATE_LIMITED", message: "slow down" }, costUsd: 0, quorum: { required: 1, answered: 0 } })]);
    expect(completed).toHaveLength(0);
    expect(await used()).toBe(0);
  });

  it("streams the deltas, then the recorded consultation; the id is known before the first byte", async () => {
    const { runner, saved, used } = setup();
    const s = await runner.stream({ expertId: "gpt", messages, principal: U, stream: true }, async () =>
      chunks([{ type: "delta", text: "Par" }, { type: "delta", text: "is." }, { type: "done", answer: streamed }]),
    );
    const events = await read(s.events);
    expect(events.slice(0, 2)).toEqual([
      { type: "delta", text: "Par" },
      { type: "delta", text: "is." },
    ]);
    const done = events[2] as Extract<PassThroughEvent, { type: "done" }>;
    expect(done.consultation).toMatchObject({ id: s.consultationId, status: "completed", params: { mode: "pass-through", stream: true } });
    expect(done.consultation.outcomes[0]).toMatchObject({ status: "answered", answer: { text: "Paris.", costUsd: 0.05 } });
    expect(saved).toHaveLength(1);
    expect(await used()).toBeCloseTo(0.05, 9);
  });

  it("a stream that cannot open fails at once, recorded", async () => {
    const { runner, saved } = setup();
    await expect(runner.stream({ expertId: "gpt", messages, principal: U }, () => Promise.reject(new ProviderUnavailableError("down")))).rejects.toMatchObject({
      code: "PROVIDER_UNAVAILABLE",
    });
    expect(saved).toEqual([expect.objectContaining({ status: "failed" })]);
  });

  it("a failure mid-stream is thrown by the events after the text that came, and recorded", async () => {
    const { runner, saved, used } = setup();
    const s = await runner.stream({ expertId: "gpt", messages, principal: U }, async () => chunks([{ type: "delta", text: "Par" }, new ProviderUnavailableError("cut")]));
    const seen: string[] = [];
    const err = await (async () => {
      for await (const e of s.events) if (e.type === "delta") seen.push(e.text);
    })().catch((e: unknown) => e);
    expect(seen).toEqual(["Par"]);
    expect(err).toMatchObject({ code: "PROVIDER_UNAVAILABLE" });
    expect(saved).toEqual([expect.objectContaining({ status: "failed" })]);
    expect(await used()).toBe(0);
  });

  it("a reader that leaves early: the rest is read and the answer recorded and paid for all the same", async () => {
    const { runner, saved, used } = setup();
    const s = await runner.stream({ expertId: "gpt", messages, principal: U }, async () =>
      chunks([{ type: "delta", text: "Par" }, { type: "delta", text: "is." }, { type: "done", answer: streamed }], 20),
    );
    for await (const e of s.events) {
      expect(e).toEqual({ type: "delta", text: "Par" });
      break;
    }
    await later(150, () => undefined);
    expect(saved).toEqual([expect.objectContaining({ id: s.consultationId, status: "completed", costUsd: 0.05 })]);
    expect(saved[0]!.outcomes[0]).toMatchObject({ answer: { text: "Paris." } });
    expect(await used()).toBeCloseTo(0.05, 9);
  });

  it("an unknown expert is UNKNOWN_EXPERT", async () => {
    const { runner } = setup();
    await expect(runner.ask({ expertId: "nobody", messages, principal: U }, jest.fn())).rejects.toMatchObject({ code: "UNKNOWN_EXPERT", status: 404 });
  });
});
