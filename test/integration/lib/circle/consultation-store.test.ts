import { randomUUID } from "node:crypto";
import type { Consultation } from "../../../../lib/circle/consultation";
import { ConsultationStore } from "../../../../lib/circle/consultation-store";
import type { ConsensusResult } from "../../../../lib/consensus";
import { MIGRATIONS, migrate, type Store } from "../../../../lib/store";
import { expertAnswer } from "../../../helpers/expert-answer";
import { testStores } from "../../../helpers/test-stores";

const stores = testStores("consultation-store");
afterAll(() => stores.closeAll());

/** A consultation `get` reads back exactly as it was written (whole numbers, answers by the experts asked). */
function consultation(i: number, overrides: Partial<Consultation> = {}): Consultation {
  const answered = expertAnswer("alpha", `answer ${i}`, { latencyMs: 12, costUsd: 0.0012, usage: { inputTokens: 100 + i, outputTokens: 20 } });
  return {
    id: randomUUID(),
    principal: `user-${i % 3}`,
    question: `question ${i}`,
    ...(i % 2 === 0 ? { system: "be brief" } : {}),
    experts: ["alpha", "beta"],
    status: "completed",
    consensus: { consensus: { expertId: "alpha", text: `answer ${i}` }, agreement: 0.75 } as ConsensusResult,
    outcomes: [
      { expertId: "alpha", status: "answered", latencyMs: 12, answer: answered },
      { expertId: "beta", status: "failed", latencyMs: 30, error: { code: "PROVIDER_UNAVAILABLE", message: "beta is down", status: 503, retryable: true } },
    ],
    quorum: { required: 1, answered: 1 },
    usage: { inputTokens: 100 + i, outputTokens: 20 },
    costUsd: 0.0012,
    durationMs: 31,
    nodeId: "node-a",
    createdAt: new Date(Date.UTC(2026, 11, 1, 0, 0, i)).toISOString(),
    params: { maxTokens: 256, deadlineMs: 30000 },
    cacheKey: `key-${i}`,
    ...overrides,
  };
}

describe.each(stores.backends)("ConsultationStore on %s", (_name, open) => {
  let consultations: ConsultationStore;
  let store: Store;
  beforeAll(async () => {
    store = await open();
    await migrate(store, MIGRATIONS);
    consultations = new ConsultationStore(store);
  });

  it("writes many consultations at once (in shared statements) and reads each back as it was", async () => {
    const written = Array.from({ length: 60 }, (_, i) => consultation(i));
    const query = jest.spyOn(store, "query");
    await Promise.all(written.map((c) => consultations.save(c)));
    const statements = query.mock.calls.filter(([sql]) => sql.includes("INSERT INTO consultations")).length;
    query.mockRestore();
    // The first few alone (nothing was on its way), the rest together.
    expect(statements).toBeLessThanOrEqual(8);
    for (const c of written) expect(await consultations.get(c.id)).toEqual(c);
  });

  it("records usage for the experts that answered, none for an answer from the cache", async () => {
    const principal = `spender-${randomUUID()}`;
    const since = new Date(Date.UTC(2026, 0, 1));
    const paid = Array.from({ length: 5 }, (_, i) => consultation(i, { principal }));
    const cached = consultation(9, { principal, cached: true, cachedFrom: paid[0]!.id });
    await Promise.all([...paid, cached].map((c) => consultations.save(c)));
    expect(await consultations.spentSince(principal, since)).toBeCloseTo(5 * 0.0012, 10);
    expect(await consultations.get(cached.id)).toEqual(cached);
  });

  it("fails only the consultation that cannot be written when it shares a statement with others", async () => {
    const good = Array.from({ length: 8 }, (_, i) => consultation(100 + i));
    const first = consultation(200);
    await consultations.save(first);
    // The same id again: the primary key refuses it, whatever batch it travels in.
    const duplicate = { ...consultation(201), id: first.id };
    const outcomes = await Promise.allSettled([...good.slice(0, 4), duplicate, ...good.slice(4)].map((c) => consultations.save(c)));
    expect(outcomes.map((o) => o.status)).toEqual(["fulfilled", "fulfilled", "fulfilled", "fulfilled", "rejected", "fulfilled", "fulfilled", "fulfilled", "fulfilled"]);
    for (const c of good) expect(await consultations.get(c.id)).toEqual(c);
    expect(await consultations.get(first.id)).toEqual(first);
  });
});
