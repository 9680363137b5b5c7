import { ConsultCache } from "../../../../lib/circle/consult-cache";
import type { Consultation } from "../../../../lib/circle/consultation";
import { MemorySharedStore } from "../../../../lib/coordination/memory-shared-store";
import type { SharedStore } from "../../../../lib/coordination/shared-store";
import { BudgetExceededError, QuorumNotReachedError, UnavailableError } from "../../../../lib/errors";
import { later } from "../../../helpers/wait";

const consultation = (id: string): Consultation =>
  ({ id, principal: "p", question: "q", experts: ["a"], status: "completed", outcomes: [], quorum: { required: 1, answered: 1 }, usage: { inputTokens: 1, outputTokens: 1 }, costUsd: 0.01, durationMs: 5, nodeId: "n", createdAt: new Date().toISOString(), params: {}, cacheKey: "k" }) as Consultation;


describe("ConsultCache", () => {
  it("runs concurrent identical consults once, within a node and across nodes sharing a store", async () => {
    const shared = new MemorySharedStore();
    const nodeA = new ConsultCache({ shared, ttlMs: 60_000, pollMs: 5 });
    const nodeB = new ConsultCache({ shared, ttlMs: 60_000, pollMs: 5 });
    let runs = 0;
    const compute = () => later(50, () => consultation(`c${++runs}`));
    const deadline = Date.now() + 5_000;
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? nodeA : nodeB).run("k", deadline, compute)));
    expect(runs).toBe(1);
    expect(new Set(results.map((r) => r.consultation.id))).toEqual(new Set(["c1"]));
    expect(results.filter((r) => !r.cached)).toHaveLength(1);
    // Later: from memory, or from the shared store on a third node.
    const nodeC = new ConsultCache({ shared, ttlMs: 60_000 });
    expect(await nodeC.run("k", deadline, compute)).toMatchObject({ cached: true, consultation: { id: "c1" } });
    expect(runs).toBe(1);
  });

  it("expires answers after the TTL", async () => {
    const cache = new ConsultCache({ shared: new MemorySharedStore(), ttlMs: 50 });
    let runs = 0;
    const compute = async () => consultation(`c${++runs}`);
    await cache.run("k", Date.now() + 1_000, compute);
    await new Promise((r) => setTimeout(r, 80));
    expect((await cache.run("k", Date.now() + 1_000, compute)).consultation.id).toBe("c2");
  });

  it("shares a failure with those waiting, briefly, instead of rerunning for each", async () => {
    const shared = new MemorySharedStore();
    const a = new ConsultCache({ shared, ttlMs: 60_000, pollMs: 5, failureTtlMs: 100 });
    const b = new ConsultCache({ shared, ttlMs: 60_000, pollMs: 5, failureTtlMs: 100 });
    let runs = 0;
    const compute = () =>
      later(30, () => {
        runs++;
        throw new QuorumNotReachedError("1 of 3 answered");
      });
    const deadline = Date.now() + 2_000;
    const settled = await Promise.allSettled([a.run("k", deadline, compute), b.run("k", deadline, compute), b.run("k", deadline, compute)]);
    expect(runs).toBe(1);
    for (const s of settled) expect(s).toMatchObject({ status: "rejected", reason: { code: "QUORUM_NOT_REACHED" } });
    await new Promise((r) => setTimeout(r, 150));
    await expect(a.run("k", deadline, compute)).rejects.toMatchObject({ code: "QUORUM_NOT_REACHED" });
    expect(runs).toBe(2);
  });

  it("answers without the shared store when it is down", async () => {
    const down: SharedStore = {
      get: () => Promise.reject(new UnavailableError("redis down")),
      set: () => Promise.reject(new UnavailableError("redis down")),
      tryLock: () => Promise.reject(new UnavailableError("redis down")),
      unlock: () => Promise.reject(new UnavailableError("redis down")),
      addWithinLimits: () => Promise.reject(new UnavailableError("redis down")),
      add: () => Promise.reject(new UnavailableError("redis down")),
      read: () => Promise.reject(new UnavailableError("redis down")),
      takeTokens: () => Promise.reject(new UnavailableError("redis down")),
      ping: () => Promise.reject(new UnavailableError("redis down")),
      close: async () => undefined,
    };
    const warnings: string[] = [];
    const cache = new ConsultCache({ shared: down, ttlMs: 60_000, logger: { warn: (m: unknown) => warnings.push(String(m)), info() {}, error() {}, debug() {} } });
    let runs = 0;
    const r = await cache.run("k", Date.now() + 1_000, async () => consultation(`c${++runs}`));
    expect(r).toMatchObject({ cached: false, consultation: { id: "c1" } });
    expect(warnings).toHaveLength(1);
    // Still one flight per node, and this node's memory serves repeats.
    expect(await cache.run("k", Date.now() + 1_000, async () => consultation(`c${++runs}`))).toMatchObject({ cached: true });
  });

  it("a node waiting for another's identical consult gives up at its own deadline", async () => {
    const shared = new MemorySharedStore();
    const a = new ConsultCache({ shared, ttlMs: 60_000, pollMs: 5 });
    const b = new ConsultCache({ shared, ttlMs: 60_000, pollMs: 5 });
    const slow = a.run("k", Date.now() + 5_000, () => later(300, () => consultation("slow")));
    await new Promise((r) => setTimeout(r, 20));
    await expect(b.run("k", Date.now() + 100, async () => consultation("never"))).rejects.toMatchObject({ code: "DEADLINE_EXCEEDED" });
    await slow;
  });

  it("never passes one caller's budget refusal to another asking the same question", async () => {
    const shared = new MemorySharedStore();
    const a = new ConsultCache({ shared, ttlMs: 60_000, pollMs: 5 });
    const deadline = Date.now() + 2_000;
    const overBudget = () => later(20, () => {
      throw new BudgetExceededError("over budget");
    });
    let runs = 0;
    const fine = () => later(20, () => consultation(`c${++runs}`));
    const [first, second] = await Promise.allSettled([a.run("k", deadline, overBudget), a.run("k", deadline, fine)]);
    expect(first).toMatchObject({ status: "rejected", reason: { code: "BUDGET_EXCEEDED" } });
    expect(second).toMatchObject({ status: "fulfilled", value: { cached: false, consultation: { id: "c1" } } });
    // Nor across nodes: nothing was shared for it.
    const b = new ConsultCache({ shared, ttlMs: 60_000, pollMs: 5 });
    await a.run("k2", deadline, overBudget).catch(() => undefined);
    await expect(b.run("k2", deadline, fine)).resolves.toMatchObject({ cached: false });
  });
});
