import { JobStore } from "../../../../lib/jobs";
import { MIGRATIONS, migrate, type Store } from "../../../../lib/store";
import { testStores } from "../../../helpers/test-stores";

const stores = testStores("job_store");
afterAll(() => stores.closeAll());

const CONSULTATION = "11111111-1111-4111-8111-111111111111";
const OTHER = "22222222-2222-4222-8222-222222222222";
const error = { code: "UNAVAILABLE", message: "down", status: 503 };

describe.each(stores.backends)("JobStore on %s", (_name, open) => {
  let store: Store;
  let jobs: JobStore;

  beforeAll(async () => {
    store = await open();
    await migrate(store, MIGRATIONS);
    jobs = new JobStore(store);
  });

  it("records an attempt, a failure, and the completion once", async () => {
    expect(await jobs.begin({ id: "a", attempt: 1, streamSeq: 1, node: "n1" })).toEqual({ state: "started" });
    expect(await jobs.get("a")).toMatchObject({ id: "a", status: "running", attempts: 1, streamSeq: 1, node: "n1", error: undefined, completedAt: undefined });
    expect(await jobs.fail({ id: "a", attempt: 1, streamSeq: 1, node: "n1", principal: "key1", error })).toBe(true);
    expect(await jobs.get("a")).toMatchObject({ status: "failed", principal: "key1", error });
    expect(await jobs.begin({ id: "a", attempt: 2, streamSeq: 1, node: "n2" })).toEqual({ state: "started" });
    expect(await jobs.complete({ id: "a", attempt: 2, streamSeq: 1, node: "n2", consultationId: CONSULTATION, principal: "key1" })).toBe(true);
    const done = await jobs.get("a");
    expect(done).toMatchObject({ status: "completed", attempts: 2, node: "n2", consultationId: CONSULTATION, error: undefined });
    expect(done!.completedAt).toEqual(expect.any(String));

    // Settled for good: no second completion, no failure, no dead letter, and a redelivery is told it is done.
    expect(await jobs.complete({ id: "a", attempt: 3, streamSeq: 1, node: "n3", consultationId: OTHER, principal: "key1" })).toBe(false);
    expect(await jobs.fail({ id: "a", attempt: 3, streamSeq: 1, node: "n3", principal: "key1", error })).toBe(false);
    expect(await jobs.markDead({ id: "a", attempt: 3, streamSeq: 1, node: "n3", principal: "key1", error })).toBe(false);
    expect(await jobs.begin({ id: "a", attempt: 3, streamSeq: 1, node: "n3" })).toMatchObject({ state: "completed", record: { consultationId: CONSULTATION } });
    expect(await jobs.begin({ id: "a", attempt: 1, streamSeq: 99, node: "n3" })).toMatchObject({ state: "completed" });
    expect(await jobs.get("a")).toMatchObject({ status: "completed", consultationId: CONSULTATION, node: "n2" });
  });

  it("keeps a dead job dead for its own message, and runs it again for a new one", async () => {
    expect(await jobs.markDead({ id: "d", attempt: 1, streamSeq: 5, node: "n1", principal: undefined, error })).toBe(true);
    expect(await jobs.get("d")).toMatchObject({ status: "dead", attempts: 1, principal: undefined, error });
    expect(await jobs.begin({ id: "d", attempt: 2, streamSeq: 5, node: "n2" })).toMatchObject({ state: "dead", record: { error } });
    expect(await jobs.fail({ id: "d", attempt: 2, streamSeq: 5, node: "n2", principal: undefined, error })).toBe(false);
    expect(await jobs.begin({ id: "d", attempt: 1, streamSeq: 6, node: "n2" })).toEqual({ state: "started" });
    expect(await jobs.get("d")).toMatchObject({ status: "running", streamSeq: 6 });
  });

  it("lets a late completion win over a dead letter (the consult did run and was stored)", async () => {
    await jobs.markDead({ id: "late", attempt: 3, streamSeq: 9, node: "n1", principal: "key1", error });
    expect(await jobs.complete({ id: "late", attempt: 3, streamSeq: 9, node: "n2", consultationId: CONSULTATION, principal: "key1" })).toBe(true);
    expect(await jobs.get("late")).toMatchObject({ status: "completed" });
  });

  it("records a completion even without an earlier row, and unknown ids read as undefined", async () => {
    expect(await jobs.complete({ id: "fresh", attempt: 1, streamSeq: 2, node: "n1", consultationId: CONSULTATION, principal: "key1" })).toBe(true);
    expect(await jobs.get("nope")).toBeUndefined();
  });

  it("records exactly one of many concurrent completions of one job", async () => {
    await jobs.begin({ id: "race", attempt: 1, streamSeq: 3, node: "n1" });
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) => jobs.complete({ id: "race", attempt: 1, streamSeq: 3, node: `n${i}`, consultationId: i % 2 ? OTHER : CONSULTATION, principal: "key1" })),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
  });
});

describe("JobStore on two PostgreSQL connection pools (two nodes sharing one database)", () => {
  it("records exactly one completion when both nodes complete the same job at once, whatever the interleaving", async () => {
    const schema = stores.schema();
    const [a, b] = [await stores.postgres(schema, { poolSize: 4 }), await stores.postgres(schema, { poolSize: 4 })];
    await migrate(a, MIGRATIONS);
    const [ja, jb] = [new JobStore(a), new JobStore(b)];
    for (let round = 0; round < 20; round++) {
      const id = `race-${round}`;
      await ja.begin({ id, attempt: 1, streamSeq: round, node: "a" });
      const results = await Promise.all([
        ja.complete({ id, attempt: 1, streamSeq: round, node: "a", consultationId: CONSULTATION, principal: "k" }),
        jb.complete({ id, attempt: 2, streamSeq: round, node: "b", consultationId: OTHER, principal: "k" }),
        ja.complete({ id, attempt: 1, streamSeq: round, node: "a", consultationId: CONSULTATION, principal: "k" }),
        jb.complete({ id, attempt: 2, streamSeq: round, node: "b", consultationId: OTHER, principal: "k" }),
      ]);
      expect(results.filter(Boolean)).toHaveLength(1);
      const winner = results.indexOf(true) % 2 === 0 ? CONSULTATION : OTHER;
      expect((await jb.get(id))!.consultationId).toBe(winner);
    }
    const { rows } = await a.query<{ n: string }>("SELECT count(*) AS n FROM jobs WHERE status = 'completed'");
    expect(Number(rows[0]!.n)).toBe(20);
  });
});
