import { GroupCommit } from "../../../../lib/store/group-commit";

/** A writer whose batches finish when the test says so. */
function heldWriter(fail: (item: number) => boolean = () => false) {
  const batches: number[][] = [];
  const open: Array<() => void> = [];
  const write = (items: readonly number[]) => {
    batches.push([...items]);
    return new Promise<void>((resolve, reject) => {
      open.push(() => (items.some(fail) ? reject(new Error(`bad item in ${items.join(",")}`)) : resolve()));
    });
  };
  /** Finishes the oldest batch still open, then lets the promises settle. */
  const finishOne = async () => {
    open.shift()!();
    for (let i = 0; i < 5; i++) await Promise.resolve();
  };
  return { batches, open, write, finishOne };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe("GroupCommit", () => {
  it("writes an item alone and at once when nothing is on its way", async () => {
    const w = heldWriter();
    const commits = new GroupCommit(w.write, { maxInFlight: 2 });
    const done = commits.write(1);
    expect(w.batches).toEqual([[1]]);
    await w.finishOne();
    await expect(done).resolves.toBeUndefined();
  });

  it("resolves an item only once its batch is committed", async () => {
    const w = heldWriter();
    const commits = new GroupCommit(w.write);
    let resolved = false;
    void commits.write(1).then(() => (resolved = true));
    await settle();
    expect(resolved).toBe(false);
    await w.finishOne();
    expect(resolved).toBe(true);
  });

  it("puts what arrives while maxInFlight batches are on their way into the next batch, at most maxBatch items each", async () => {
    const w = heldWriter();
    const commits = new GroupCommit(w.write, { maxInFlight: 2, maxBatch: 3 });
    const all = [1, 2, 3, 4, 5, 6, 7].map((i) => commits.write(i));
    // 1 and 2 went at once, alone; 3..7 wait.
    expect(w.batches).toEqual([[1], [2]]);
    expect(commits.waiting).toBe(5);
    await w.finishOne();
    expect(w.batches).toEqual([[1], [2], [3, 4, 5]]);
    await w.finishOne();
    expect(w.batches).toEqual([[1], [2], [3, 4, 5], [6, 7]]);
    while (w.open.length) await w.finishOne();
    await expect(Promise.all(all)).resolves.toHaveLength(7);
    expect(commits.waiting).toBe(0);
  });

  it("writes a failed batch again item by item: only the bad item fails", async () => {
    const w = heldWriter((i) => i === 4);
    const commits = new GroupCommit(w.write, { maxInFlight: 1 });
    const first = commits.write(1);
    const rest = [2, 3, 4, 5].map((i) => commits.write(i).then(() => "ok", (err: Error) => err.message));
    await w.finishOne();
    await first;
    await w.finishOne(); // the batch 2..5 fails
    while (w.open.length) await w.finishOne();
    expect(await Promise.all(rest)).toEqual(["ok", "ok", "bad item in 4", "ok"]);
    expect(w.batches).toEqual([[1], [2, 3, 4, 5], [2], [3], [4], [5]]);
  });

  it("refuses bounds below one", () => {
    expect(() => new GroupCommit(async () => undefined, { maxBatch: 0 })).toThrow(RangeError);
    expect(() => new GroupCommit(async () => undefined, { maxInFlight: 0 })).toThrow(RangeError);
  });
});
