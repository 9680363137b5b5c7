import { Mailbox } from "../../../actors/mailbox";
import { ActorOverloadedError, DeadlineExceededError } from "../../../lib/errors";

function deferred<T = void>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

describe("Mailbox", () => {
  it("runs up to `concurrency` at once and queues up to `capacity`", async () => {
    const box = new Mailbox("expert.a", { concurrency: 2, capacity: 2 });
    const gates = [deferred(), deferred(), deferred(), deferred()];
    const started: number[] = [];
    const runs = gates.map((g, i) => box.run(async () => (started.push(i), await g.promise, i)));
    expect(started).toEqual([0, 1]);
    expect([box.running, box.depth]).toEqual([2, 2]);
    gates[0]!.resolve();
    await runs[0];
    expect(started).toEqual([0, 1, 2]);
    gates.forEach((g) => g.resolve());
    expect(await Promise.all(runs)).toEqual([0, 1, 2, 3]);
    await box.idle();
  });

  it("refuses at once with a typed, non-retryable ActorOverloaded when full", async () => {
    const box = new Mailbox("expert.a", { concurrency: 1, capacity: 1 });
    const gate = deferred();
    const first = box.run(() => gate.promise);
    const second = box.run(async () => "queued");
    const err = await box.run(async () => "never").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ActorOverloadedError);
    expect(err).toMatchObject({ code: "ACTOR_OVERLOADED", retryable: false, status: 503, data: { actor: "expert.a", running: 1, waiting: 1, capacity: 1 } });
    gate.resolve();
    await first;
    expect(await second).toBe("queued");
  });

  it("a handler's failure frees its slot", async () => {
    const box = new Mailbox("a", { concurrency: 1, capacity: 0 });
    await expect(box.run(async () => Promise.reject(new Error("boom")))).rejects.toThrow("boom");
    expect(await box.run(async () => "next")).toBe("next");
  });

  it("tryAcquire takes a free slot only when nothing waits, and release lets the next message in", async () => {
    const box = new Mailbox("a", { concurrency: 2, capacity: 1 });
    expect(box.tryAcquire()).toBe(true);
    const gate = deferred();
    const running = box.run(() => gate.promise);
    // Both slots taken: nothing more at once.
    expect(box.tryAcquire()).toBe(false);
    const queued = box.run(async () => "queued");
    expect([box.running, box.depth]).toEqual([2, 1]);
    box.release();
    expect(await queued).toBe("queued");
    // Both slots busy again: the next message waits, and no slot is taken at once.
    const second = deferred();
    const busy = box.run(() => second.promise);
    const waiting = box.run(async () => "waited");
    expect(box.depth).toBe(1);
    expect(box.tryAcquire()).toBe(false);
    gate.resolve();
    await running;
    expect(await waiting).toBe("waited");
    second.resolve();
    await busy;
    await box.idle();
    expect([box.running, box.depth]).toEqual([0, 0]);
  });

  it("drops a queued message whose deadline passed while it waited", async () => {
    let now = 1_000;
    const box = new Mailbox("a", { concurrency: 1, capacity: 5 }, () => now);
    const gate = deferred();
    const running = box.run(() => gate.promise);
    let ran = false;
    const late = box.run(async () => (ran = true), 500);
    now = 2_000;
    gate.resolve();
    await running;
    await expect(late).rejects.toBeInstanceOf(DeadlineExceededError);
    expect(ran).toBe(false);
  });

  it("rejects everything waiting when the actor goes away", async () => {
    const box = new Mailbox("a", { concurrency: 1, capacity: 5 });
    const gate = deferred();
    const running = box.run(() => gate.promise);
    const waiting = box.run(async () => "x");
    box.rejectWaiting(new Error("stopping"));
    await expect(waiting).rejects.toThrow("stopping");
    gate.resolve();
    await running;
    await box.idle();
  });

  it("validates its bounds", () => {
    expect(() => new Mailbox("a", { concurrency: 0, capacity: 1 })).toThrow(RangeError);
  });
});
