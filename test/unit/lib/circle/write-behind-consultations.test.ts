import type { Consultation } from "../../../../lib/circle/consultation";
import type { ConsultationStore } from "../../../../lib/circle/consultation-store";
import { WRITE_DELAY_MS, WriteBehindConsultations } from "../../../../lib/circle/write-behind-consultations";

/** A store whose writes finish when the test says so, and which only knows what was written. */
function slowStore() {
  const rows = new Map<string, Consultation>();
  const gates: Array<{ id: string; release(): void; fail(err: Error): void }> = [];
  const store = {
    save: (c: Consultation) =>
      new Promise<void>((resolve, reject) => {
        gates.push({ id: c.id, release: () => (rows.set(c.id, c), resolve()), fail: reject });
      }),
    get: async (id: string) => rows.get(id),
    list: async () => ({ items: [...rows.values()].map((c) => ({ id: c.id })) }),
    spentSince: async () => [...rows.values()].reduce((sum, c) => sum + c.costUsd, 0),
  };
  return { store: store as unknown as ConsultationStore, gates };
}

const consultation = (id: string, costUsd = 1) => ({ id, costUsd }) as Consultation;
/** Writes start WRITE_DELAY_MS after the save (after the answer, and the caller's next requests, have left). */
const nextTurn = () => new Promise((r) => setTimeout(r, WRITE_DELAY_MS + 1));
const settled = async (p: Promise<unknown>) => {
  let done = false;
  void p.then(() => (done = true), () => (done = true));
  await new Promise((r) => setImmediate(r));
  return done;
};

describe("WriteBehindConsultations", () => {
  it("answers a save at once, and reads its own write once it is done", async () => {
    const { store, gates } = slowStore();
    const wb = new WriteBehindConsultations(store, () => undefined);
    await wb.save(consultation("a"));
    expect(wb.inFlight).toBe(1);
    expect(gates).toHaveLength(0);
    // Not on the next turn of the event loop either: that is when the caller's next consult sends its requests.
    await new Promise((r) => setImmediate(r));
    expect(gates).toHaveLength(0);
    await nextTurn();
    const read = wb.get("a");
    expect(await settled(read)).toBe(false);
    gates[0]!.release();
    expect(await read).toMatchObject({ id: "a" });
    expect(wb.inFlight).toBe(0);
  });

  it("lets list, budget seeding and flush wait for every write in flight", async () => {
    const { store, gates } = slowStore();
    const wb = new WriteBehindConsultations(store, () => undefined);
    await wb.save(consultation("a", 2));
    await wb.save(consultation("b", 3));
    await nextTurn();
    const spent = wb.spentSince("p", new Date(0));
    const listed = wb.list({}, 10);
    const flushed = wb.flush();
    gates[0]!.release();
    expect(await settled(flushed)).toBe(false);
    gates[1]!.release();
    await flushed;
    expect(await spent).toBe(5);
    expect((await listed).items).toHaveLength(2);
  });

  it("reports a write that fails without failing anyone who waits for it", async () => {
    const { store, gates } = slowStore();
    const failures: string[] = [];
    const wb = new WriteBehindConsultations(store, (id, err) => failures.push(`${id}: ${(err as Error).message}`));
    await wb.save(consultation("a"));
    await nextTurn();
    const read = wb.get("a");
    gates[0]!.fail(new Error("disk full"));
    expect(await read).toBeUndefined();
    await wb.flush();
    expect(failures).toEqual(["a: disk full"]);
  });
});
