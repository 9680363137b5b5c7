import { flushWrites, MAX_WRITES_IN_FLIGHT, settled, writeAfterAnswer, writesInFlight } from "../../../../lib/circle/consultation-writes";
import type { Store } from "../../../../lib/store/store";

/** Only its identity matters: writes are registered per store. */
const aStore = () => ({}) as Store;

/** A write that finishes when the test says so. */
function gate() {
  let release!: () => void;
  let fail!: (err: Error) => void;
  const done = new Promise<void>((resolve, reject) => ((release = resolve), (fail = reject)));
  return { write: jest.fn(() => done), release, fail };
}

const nextTurn = () => new Promise((r) => setImmediate(r));
const isDone = async (p: Promise<unknown>) => {
  let done = false;
  void p.then(
    () => (done = true),
    () => (done = true),
  );
  await nextTurn();
  return done;
};

describe("writeAfterAnswer", () => {
  it("resolves at once, starts the write on the next turn, and lets this store's readers wait for it", async () => {
    const store = aStore();
    const a = gate();
    await writeAfterAnswer(store, "a", a.write, () => undefined);
    expect(a.write).not.toHaveBeenCalled();
    expect(writesInFlight(store)).toBe(1);
    await nextTurn();
    expect(a.write).toHaveBeenCalledTimes(1);
    const byId = settled(store, "a");
    const all = settled(store);
    const other = settled(aStore());
    expect(await isDone(byId)).toBe(false);
    expect(await isDone(all)).toBe(false);
    expect(await isDone(other)).toBe(true);
    a.release();
    await Promise.all([byId, all]);
    expect(writesInFlight(store)).toBe(0);
  });

  it("reports a write that fails with its id, and readers go on", async () => {
    const store = aStore();
    const a = gate();
    const onFailure = jest.fn();
    await writeAfterAnswer(store, "a", a.write, onFailure);
    await nextTurn();
    a.fail(new Error("database down"));
    await settled(store);
    expect(onFailure).toHaveBeenCalledWith("a", expect.objectContaining({ message: "database down" }));
  });

  it("makes the caller wait for its own write past the limit, and flushWrites waits for every write", async () => {
    const store = aStore();
    const gates = Array.from({ length: MAX_WRITES_IN_FLIGHT + 1 }, gate);
    for (let i = 0; i < MAX_WRITES_IN_FLIGHT; i++) await writeAfterAnswer(store, `c${i}`, gates[i]!.write, () => undefined);
    const last = writeAfterAnswer(store, "last", gates[MAX_WRITES_IN_FLIGHT]!.write, () => undefined);
    expect(await isDone(last)).toBe(false);
    const flushed = flushWrites(store);
    gates[MAX_WRITES_IN_FLIGHT]!.release();
    await last;
    expect(await isDone(flushed)).toBe(false);
    for (const g of gates) g.release();
    await flushed;
    expect(writesInFlight(store)).toBe(0);
  });
});
