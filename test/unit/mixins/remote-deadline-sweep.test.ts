import { DeadlineExceededError } from "../../../lib/errors";
import { RemoteDeadlineSweep, type PendingRequest, type PendingTransit } from "../../../mixins/remote-deadline-sweep";

// Fake timers: Date.now and setInterval advance only when the test says so.
beforeEach(() => jest.useFakeTimers({ now: 1_000_000 }));
afterEach(() => jest.useRealTimers());

const deadlineOf = (meta: Record<string, unknown>) => (typeof meta.deadline === "number" ? meta.deadline : undefined);

/** A transit's table of pending requests, as Moleculer keeps it. */
function fakeTransit() {
  const rejected: Array<[string, Error]> = [];
  const transit: PendingTransit = {
    pendingRequests: new Map<string, PendingRequest>(),
    removePendingRequest(id) {
      this.pendingRequests.delete(id);
    },
  };
  const send = (id: string, meta: Record<string, unknown> | null) =>
    transit.pendingRequests.set(id, { ctx: { meta, action: { name: `svc.${id}` } }, reject: (err) => rejected.push([id, err]) });
  return { transit, rejected, send };
}

describe("RemoteDeadlineSweep", () => {
  it("fails each waiting request once its deadline passed, within the resolution, and removes it", () => {
    const { transit, rejected, send } = fakeTransit();
    const sweep = new RemoteDeadlineSweep(transit, deadlineOf, 10);
    const t0 = Date.now();
    send("a", { deadline: t0 + 30 });
    send("b", { deadline: t0 + 80 });
    expect(sweep.watches("a")).toBe(true);
    expect(sweep.watches("b")).toBe(true);
    jest.advanceTimersByTime(29);
    expect(rejected).toEqual([]);
    jest.advanceTimersByTime(11); // t0 + 40
    expect(rejected.map(([id]) => id)).toEqual(["a"]);
    const [, err] = rejected[0]!;
    expect(err).toBeInstanceOf(DeadlineExceededError);
    expect(err.message).toBe("svc.a did not answer before its deadline");
    expect(transit.pendingRequests.has("a")).toBe(false);
    jest.advanceTimersByTime(50); // t0 + 90
    expect(rejected.map(([id]) => id)).toEqual(["a", "b"]);
    expect(transit.pendingRequests.size).toBe(0);
  });

  it("leaves answered requests and requests without a deadline alone", () => {
    const { transit, rejected, send } = fakeTransit();
    const sweep = new RemoteDeadlineSweep(transit, deadlineOf, 10);
    send("answered", { deadline: Date.now() + 20 });
    send("no-deadline", {});
    send("no-meta", null);
    expect(sweep.watches("answered")).toBe(true);
    transit.removePendingRequest("answered"); // its answer came
    jest.advanceTimersByTime(100);
    expect(rejected).toEqual([]);
    expect([...transit.pendingRequests.keys()]).toEqual(["no-deadline", "no-meta"]);
  });

  it("watches only requests in the table, and runs its interval only while requests wait", () => {
    const { transit, send } = fakeTransit();
    const sweep = new RemoteDeadlineSweep(transit, deadlineOf, 10);
    expect(sweep.watches("local")).toBe(false);
    expect(jest.getTimerCount()).toBe(0);
    send("a", { deadline: Date.now() + 15 });
    expect(sweep.watches("a")).toBe(true);
    expect(sweep.watches("a")).toBe(true);
    expect(jest.getTimerCount()).toBe(1);
    jest.advanceTimersByTime(30); // a fails; the next sweep finds the table empty and stops
    expect(jest.getTimerCount()).toBe(0);
  });
});
