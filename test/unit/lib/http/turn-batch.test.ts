import { TurnBatch } from "../../../../lib/http/turn-batch";

/** A TurnBatch whose turns end when the test says so. */
function batchWithManualTurns() {
  const pending: Array<() => void> = [];
  const batch = new TurnBatch((callback) => pending.push(callback));
  const endTurn = () => {
    const callbacks = pending.splice(0);
    for (const callback of callbacks) callback();
    return callbacks.length;
  };
  return { batch, endTurn, scheduled: () => pending.length };
}

/** Whether a promise has settled, after the microtasks queued so far ran. */
async function settled(promise: Promise<void>): Promise<boolean> {
  let done = false;
  void promise.then(() => (done = true));
  await new Promise((resolve) => setImmediate(resolve));
  return done;
}

describe("TurnBatch", () => {
  it("lets a lone request go on at once, turn after turn, scheduling one end of turn each", () => {
    const { batch, endTurn, scheduled } = batchWithManualTurns();
    for (let i = 0; i < 3; i++) {
      expect(batch.turn()).toBeUndefined();
      expect(scheduled()).toBe(1);
      expect(endTurn()).toBe(1);
    }
  });

  it("holds the second and later requests of a turn until it ends, all on one promise", async () => {
    const { batch, endTurn } = batchWithManualTurns();
    expect(batch.turn()).toBeUndefined();
    const second = batch.turn()!;
    const third = batch.turn()!;
    expect(second).toBeInstanceOf(Promise);
    expect(third).toBe(second);
    expect(await settled(second)).toBe(false);
    expect(endTurn()).toBe(1);
    expect(await settled(second)).toBe(true);
  });

  it("once turns carry several requests, holds every request of a turn, the first included, until a turn carries one again", async () => {
    const { batch, endTurn } = batchWithManualTurns();
    batch.turn();
    batch.turn();
    endTurn();
    // Busy: the first request of the next turn waits too, with the others.
    const first = batch.turn()!;
    expect(first).toBeInstanceOf(Promise);
    expect(batch.turn()).toBe(first);
    expect(await settled(first)).toBe(false);
    endTurn();
    expect(await settled(first)).toBe(true);
    // A turn with a single request (it waited: the node was busy) ends the busy spell.
    const lone = batch.turn()!;
    expect(lone).toBeInstanceOf(Promise);
    endTurn();
    expect(await settled(lone)).toBe(true);
    expect(batch.turn()).toBeUndefined();
    endTurn();
  });

  it("ends turns with setImmediate by default: requests of one synchronous burst go on together, after it", async () => {
    const batch = new TurnBatch();
    const order: string[] = [];
    const requests = [0, 1, 2].map(async (i) => {
      const turn = batch.turn();
      if (turn) await turn;
      order.push(`admitted ${i}`);
    });
    order.push("burst over");
    await Promise.all(requests);
    expect(order).toEqual(["admitted 0", "burst over", "admitted 1", "admitted 2"]);
  });
});
