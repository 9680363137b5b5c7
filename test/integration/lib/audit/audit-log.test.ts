import fc from "fast-check";
import { AuditLog, AuditQueue, auditHash, GENESIS_HASH, recordFromRow, verifyAuditLog, type AuditEntry, type AuditRow } from "../../../../lib/audit";
import { ValidationError } from "../../../../lib/errors";
import { REDACTED } from "../../../../lib/security/redact";
import { MIGRATIONS, migrate, type Store } from "../../../../lib/store";
import { testStores } from "../../../helpers/test-stores";

const stores = testStores("audit");
afterAll(() => stores.closeAll());

/** A store, and for PostgreSQL a way to open a second one on the same schema: another node. */
interface Opened {
  store: Store;
  anotherNode?: () => Promise<Store>;
}

async function postgres(): Promise<Opened> {
  const s = stores.schema();
  return { store: await stores.postgres(s), anotherNode: () => stores.postgres(s) };
}

async function pglite(): Promise<Opened> {
  return { store: await stores.pglite() };
}

const entry = (i: number, extra: Partial<AuditEntry> = {}): AuditEntry => ({
  principal: `user:u${i % 3}`,
  action: "keys.create",
  target: `key-${i}`,
  source: "10.0.0.1",
  outcome: i % 5 === 0 ? "denied" : "ok",
  requestId: `req-${i}`,
  details: { i, role: "operator", scopes: ["consult:run"] },
  ...extra,
});

/** Changes the table behind the trigger's back, as someone with ALTER rights could. */
async function tamper(store: Store, sql: string): Promise<void> {
  await store.exec(`ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only; ${sql}; ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only;`);
}

describe.each([
  ["PostgreSQL", postgres],
  ["PGlite", pglite],
])("%s audit log", (_name, open) => {
  let opened: Opened;
  let store: Store;
  let log: AuditLog;

  beforeAll(async () => {
    opened = await open();
    store = opened.store;
    await migrate(store, MIGRATIONS);
    log = new AuditLog(store);
  });

  // Each case starts from an empty log, emptied around the triggers (as only a test may).
  beforeEach(() => store.exec("ALTER TABLE audit_log DISABLE TRIGGER USER; DELETE FROM audit_log; ALTER TABLE audit_log ENABLE TRIGGER USER;"));

  it("appends a linked chain that verifies, in any batch size, and reads back as appended", async () => {
    const appended = [];
    for (let i = 1; i <= 21; i++) appended.push(await log.append(entry(i)));
    expect(appended.map((r) => r.seq)).toEqual(Array.from({ length: 21 }, (_, i) => i + 1));
    expect(appended[0]!.prevHash).toBe(GENESIS_HASH);
    for (let i = 1; i < appended.length; i++) expect(appended[i]!.prevHash).toBe(appended[i - 1]!.hash);
    expect(await log.list({ limit: 100 })).toEqual(appended);

    for (const batchSize of [1, 7, 20, 1000]) {
      const progress: number[] = [];
      expect(await verifyAuditLog(store, { batchSize, onProgress: (n) => progress.push(n) })).toEqual({
        ok: true,
        rows: 21,
        head: { seq: 21, hash: appended[20]!.hash },
      });
      expect(progress.at(-1)).toBe(21);
      expect(progress.length).toBe(Math.floor(21 / batchSize) + 1);
    }
  });

  it("an empty log verifies", async () => {
    expect(await log.verify()).toEqual({ ok: true, rows: 0, head: null });
  });

  it("stores details without secrets", async () => {
    const r = await log.append(
      entry(1, { details: { password: "hunter2", headers: { authorization: "Bearer abc.def.ghi" }, note: "key core_k9_Q2hhbmdlTWVQbGVhc2UxMjM0NTY3 created" } }),
    );
    const raw = await store.query<{ details: unknown }>("SELECT details FROM audit_log WHERE seq = $1", [r.seq]);
    expect(raw.rows[0]!.details).toEqual({ password: REDACTED, headers: { authorization: REDACTED }, note: `key core_k9_${REDACTED} created` });
    expect(JSON.stringify(raw.rows[0])).not.toMatch(/hunter2|abc\.def|Q2hhbmdl/);
  });

  it("concurrent appends (from two nodes where there can be two) form one linear chain", async () => {
    const other = opened.anotherNode ? new AuditLog(await opened.anotherNode()) : log;
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) => (i % 2 === 0 ? log : other).append(entry(i))));
    expect(results.map((r) => r.seq).sort((a, b) => a - b)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    expect(await log.verify({ batchSize: 64 })).toMatchObject({ ok: true, rows: 200 });
  });

  it("after its first append a log appends in one statement, outside any transaction, until the chain moves without it", async () => {
    const other = opened.anotherNode ? new AuditLog(await opened.anotherNode()) : new AuditLog(store);
    const transactions = jest.spyOn(store, "transaction");
    const queries = jest.spyOn(store, "query");
    try {
      await log.append(entry(1));
      expect(transactions).toHaveBeenCalledTimes(1);
      queries.mockClear();
      await log.append(entry(2));
      await log.appendMany([entry(3), entry(4)]);
      expect(transactions).toHaveBeenCalledTimes(1);
      expect(queries).toHaveBeenCalledTimes(2);
      // Another node appends: this log's remembered end is stale, its insert refused, the locked path links after the other's row.
      const theirs = await other.append(entry(5));
      const mine = await log.append(entry(6));
      expect(mine.seq).toBe(theirs.seq + 1);
      expect(mine.prevHash).toBe(theirs.hash);
      expect(transactions).toHaveBeenCalledTimes(opened.anotherNode ? 2 : 3);
      // The chain's end it knew vanished (rows deleted behind the trigger's back): the insert is refused, nothing is written after a gap.
      await store.exec("ALTER TABLE audit_log DISABLE TRIGGER USER; DELETE FROM audit_log; ALTER TABLE audit_log ENABLE TRIGGER USER;");
      expect((await log.append(entry(7))).seq).toBe(1);
    } finally {
      transactions.mockRestore();
      queries.mockRestore();
    }
    expect(await log.verify()).toMatchObject({ ok: true, rows: 1 });
  });

  it("appends many in one transaction: consecutive rows continuing the chain, nothing when one entry is invalid", async () => {
    const first = await log.append(entry(1));
    const batch = await log.appendMany([entry(2), entry(3), entry(4, { at: new Date("2026-01-02T03:04:05.678Z") })]);
    expect(batch.map((r) => r.seq)).toEqual([2, 3, 4]);
    expect(batch[0]!.prevHash).toBe(first.hash);
    expect(batch[2]!.at.toISOString()).toBe("2026-01-02T03:04:05.678Z");
    expect(await log.list()).toEqual([first, ...batch]);
    await expect(log.appendMany([entry(5), { ...entry(6), action: "" }])).rejects.toBeInstanceOf(ValidationError);
    expect(await log.appendMany([])).toEqual([]);
    expect(await log.verify()).toMatchObject({ ok: true, rows: 4 });
  });

  it("the audit queue writes every row in the order queued, in batches, with two nodes' queues interleaving", async () => {
    const mine = new AuditQueue(log, { maxBatch: 50 });
    const other = new AuditQueue(opened.anotherNode ? new AuditLog(await opened.anotherNode()) : log, { maxBatch: 50 });
    const lost: number[] = [];
    const bad = new AuditQueue(log, { onLoss: (_err, rows) => lost.push(rows) });
    for (let i = 0; i < 300; i++) (i % 3 === 0 ? other : mine).enqueue(entry(i));
    // A malformed row costs only itself.
    bad.enqueue(entry(1000));
    bad.enqueue({ ...entry(1001), outcome: "" as never });
    bad.enqueue(entry(1002));
    await Promise.all([mine.flush(), other.flush(), bad.flush()]);
    expect(lost).toEqual([1]);
    const rows = await log.list({ limit: 1000 });
    expect(rows).toHaveLength(302);
    const order = (queue: string[]) => rows.filter((r) => queue.includes(r.requestId!)).map((r) => r.requestId);
    const mineIds = Array.from({ length: 300 }, (_, i) => i).filter((i) => i % 3 !== 0).map((i) => `req-${i}`);
    expect(order(mineIds)).toEqual(mineIds);
    expect(await log.verify({ batchSize: 64 })).toMatchObject({ ok: true, rows: 302 });
  });

  it("with flushMs, the audit queue writes the rows of that window together, and at once when told to or when the batch is full", async () => {
    const writes = jest.spyOn(log, "appendMany");
    try {
      const window = new AuditQueue(log, { flushMs: 300 });
      window.enqueue(entry(1));
      await new Promise((resolve) => setTimeout(resolve, 50));
      window.enqueue(entry(2));
      window.enqueue(entry(3));
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(writes).not.toHaveBeenCalled();
      expect(await log.list()).toEqual([]);
      await new Promise((resolve) => setTimeout(resolve, 400));
      expect(writes.mock.calls.map(([rows]) => rows.map((r) => r.requestId))).toEqual([["req-1", "req-2", "req-3"]]);

      // A minute's window: flush() and a full batch must not wait for it (the test would time out).
      const long = new AuditQueue(log, { flushMs: 60_000, maxBatch: 2 });
      long.enqueue(entry(4));
      await long.flush();
      long.enqueue(entry(5));
      long.enqueue(entry(6));
      for (let tries = 0; (await log.list()).length < 6 && tries < 100; tries++) await new Promise((resolve) => setTimeout(resolve, 20));
      expect((await log.list()).map((r) => r.requestId)).toEqual(["req-1", "req-2", "req-3", "req-4", "req-5", "req-6"]);
      expect(writes).toHaveBeenCalledTimes(3);
      await long.flush();
    } finally {
      writes.mockRestore();
    }
  });

  it("the audit queue drops what does not fit and says how many", async () => {
    const lost: number[] = [];
    const queue = new AuditQueue(log, { maxPending: 3, onLoss: (_err, rows) => lost.push(rows) });
    const accepted = Array.from({ length: 5 }, (_, i) => queue.enqueue(entry(i)));
    expect(accepted).toEqual([true, true, true, false, false]);
    expect(lost).toEqual([1, 1]);
    await queue.flush();
    expect(queue.size).toBe(0);
    expect(await log.verify()).toMatchObject({ ok: true, rows: 3 });
  });

  it("appends within a caller's transaction: the row commits or rolls back with it", async () => {
    await log.append(entry(1));
    await expect(
      store.transaction(async (tx) => {
        await log.appendWithin(tx, entry(2));
        throw new Error("the change being audited failed");
      }),
    ).rejects.toThrow("failed");
    const kept = await store.transaction((tx) => log.appendWithin(tx, entry(3)));
    expect(kept.seq).toBe(2);
    expect(await log.verify()).toMatchObject({ ok: true, rows: 2 });
  });

  it("refuses an entry without principal, action or outcome, or with an invalid time", async () => {
    await expect(log.append({ ...entry(1), principal: "" })).rejects.toBeInstanceOf(ValidationError);
    await expect(log.append({ ...entry(1), at: new Date(Number.NaN) })).rejects.toMatchObject({ code: "VALIDATION_FAILED" });
    expect(await log.verify()).toEqual({ ok: true, rows: 0, head: null });
  });

  it("refuses UPDATE, DELETE and TRUNCATE", async () => {
    await log.append(entry(1));
    await expect(store.query("TRUNCATE audit_log")).rejects.toThrow(/append-only \(TRUNCATE refused\)/);
    await expect(store.query("UPDATE audit_log SET outcome = 'denied' WHERE seq = 1")).rejects.toThrow(/append-only \(UPDATE refused\)/);
    await expect(store.query("DELETE FROM audit_log WHERE seq = 1")).rejects.toThrow(/append-only \(DELETE refused\)/);
    expect(await log.verify()).toMatchObject({ ok: true, rows: 1 });
  });

  it.each([
    ["the outcome", "UPDATE audit_log SET outcome = 'ok' WHERE seq = 7"],
    ["a detail", `UPDATE audit_log SET details = jsonb_set(details, '{role}', '"admin"') WHERE seq = 7`],
    ["the time, by one millisecond", "UPDATE audit_log SET at = at + interval '1 millisecond' WHERE seq = 7"],
    ["the principal", "UPDATE audit_log SET principal = 'user:someone-else' WHERE seq = 7"],
  ])("a change to %s of row 7 is named by verify", async (_what, sql) => {
    for (let i = 1; i <= 12; i++) await log.append(entry(i, { outcome: "denied" }));
    await tamper(store, sql);
    expect(await log.verify({ batchSize: 5 })).toEqual({ ok: false, rows: 6, firstBroken: { seq: 7, reason: "hash mismatch", message: expect.stringContaining("row 7") } });
  });

  it("a row rewritten with a fresh hash breaks the link to the next row", async () => {
    for (let i = 1; i <= 5; i++) await log.append(entry(i));
    const [row] = (await store.query<AuditRow>("SELECT * FROM audit_log WHERE seq = 3")).rows;
    const forged = { ...recordFromRow(row!), outcome: "ok", details: { forged: true } };
    const { hash: _old, ...unhashed } = forged;
    await tamper(store, `UPDATE audit_log SET outcome = 'ok', details = '{"forged": true}', hash = '${auditHash(unhashed)}' WHERE seq = 3`);
    expect(await log.verify()).toMatchObject({ ok: false, rows: 3, firstBroken: { seq: 4, reason: "prev_hash does not match previous row" } });
  });

  it("a deleted row is named as a gap, at the start too", async () => {
    for (let i = 1; i <= 10; i++) await log.append(entry(i));
    await tamper(store, "DELETE FROM audit_log WHERE seq IN (5, 6)");
    expect(await log.verify({ batchSize: 3 })).toEqual({
      ok: false,
      rows: 4,
      firstBroken: { seq: 5, reason: "gap in sequence", message: "rows 5–6 are missing: row 4 is followed by row 7" },
    });
    await tamper(store, "DELETE FROM audit_log WHERE seq = 1");
    expect(await log.verify()).toMatchObject({ ok: false, rows: 0, firstBroken: { seq: 1, reason: "gap in sequence", message: "row 1 is missing: the log starts at row 2" } });
  });

  it("details of every JSON shape hash the same after the jsonb round trip", async () => {
    const awkward: Array<Record<string, unknown>> = [
      { one: 1.0, big: 1e21, small: 1e-7, third: 0.1 + 0.2, tiny: 5e-324, max: Number.MAX_VALUE, negZero: -0, int: 2 ** 53 - 1 },
      { nested: { deeper: { deepest: [1, [2, [3, { k: null }]]] } }, nothing: null, emptyObj: {}, emptyArr: [], emptyStr: "" },
      { "😀": "emoji", עברית: "rtl", "e\u0301": "combining", "\u2028": "line sep", a: "a", aa: "aa", b: "b", "": "empty key" },
      { nul: "a\u0000b", lone: "\uD83D", escaped: '"\\/\b\f\n\r\t', __proto__key: JSON.parse('{"__proto__": {"x": 1}}') },
      { long: "x".repeat(5000), many: Array.from({ length: 300 }, (_, i) => ({ i, s: String(i) })) },
    ];
    for (const details of awkward) await log.append(entry(1, { details }));
    await fc.assert(
      fc.asyncProperty(fc.dictionary(fc.string({ unit: "binary" }), fc.jsonValue({ maxDepth: 4, stringUnit: "binary" })), async (details) => {
        const appended = await log.append(entry(1, { details }));
        const [row] = (await store.query<AuditRow>("SELECT * FROM audit_log WHERE seq = $1", [appended.seq])).rows;
        const { hash, ...read } = recordFromRow(row!);
        expect({ ...read, hash }).toEqual(appended);
        expect(auditHash(read)).toBe(hash);
      }),
      { numRuns: 60 },
    );
    expect(await log.verify({ batchSize: 10 })).toMatchObject({ ok: true, rows: awkward.length + 60 });
  });
});
