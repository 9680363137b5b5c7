import { SupervisionWatch, type TreeChild, type TreeSnapshot } from "../../../../lib/monitors/health-supervision-watch";

let now = 0;
const MIN = 60_000;

function worker(id: string, restarts: number, over: Partial<TreeChild> = {}): TreeChild {
  return { id, kind: "worker", restart: "permanent", state: "running", restarts, ...over };
}

function tree(experts: TreeChild[], expertsRestarts = 0, others: TreeChild[] = []): TreeSnapshot {
  return {
    id: "root",
    children: [{ id: "experts", kind: "supervisor", restart: "permanent", state: "running", restarts: expertsRestarts, children: experts }, ...others],
  };
}

const summary = (alerts: ReturnType<SupervisionWatch["evaluate"]>) => alerts.map((a) => `${a.key} ${a.severity} ${a.state}`);

describe("SupervisionWatch", () => {
  const watch = () => new SupervisionWatch({ nodeID: "n1", maxRestarts: 3, windowMs: 5 * MIN, now: () => now });
  beforeEach(() => (now = 1_000_000));

  it("raises when an actor restarted more than N times within the window, once, and resolves after a quiet window", () => {
    const w = watch();
    expect(w.evaluate(tree([worker("expert.a", 0)]))).toEqual([]);
    now += MIN;
    expect(w.evaluate(tree([worker("expert.a", 3, { lastError: "boom" })]))).toEqual([]);
    now += MIN;
    const raised = w.evaluate(tree([worker("expert.a", 4, { lastError: "boom" })]));
    expect(raised).toEqual([
      {
        monitor: "health",
        key: "health.restarts:expert.a",
        severity: "high",
        state: "raised",
        nodeID: "n1",
        message: "Actor expert.a on node n1 restarted 4 times within 5 min (more than 3); last error: boom",
        value: 4,
        threshold: 3,
        details: { actor: "expert.a", path: "root/experts/expert.a", restartsInWindow: 4, windowMs: 5 * MIN },
        at: now,
      },
    ]);
    now += MIN;
    expect(w.evaluate(tree([worker("expert.a", 5)]))).toEqual([]);
    // 4 min later the first four restarts left the window, one remains: still raised (no flapping on the threshold).
    now += 4 * MIN;
    expect(w.evaluate(tree([worker("expert.a", 5)]))).toEqual([]);
    now += 2 * MIN;
    const resolved = w.evaluate(tree([worker("expert.a", 5)]));
    expect(summary(resolved)).toEqual(["health.restarts:expert.a high resolved"]);
    expect(resolved[0]!.message).toBe("Actor expert.a on node n1 has not restarted for 5 min");
  });

  it("restarts spread wider than the window raise nothing", () => {
    const w = watch();
    for (let i = 0; i <= 10; i++) {
      expect(w.evaluate(tree([worker("expert.a", i)]))).toEqual([]);
      now += 2 * MIN;
    }
  });

  it("a subtree that gave up and was restarted is critical; its children's counters starting again at 0 are no restarts", () => {
    const w = watch();
    w.evaluate(tree([worker("expert.a", 3)]));
    now += 1_000;
    const alerts = w.evaluate(tree([worker("expert.a", 0)], 1));
    expect(summary(alerts)).toEqual(["health.escalated:experts critical raised"]);
    expect(alerts[0]!.message).toBe("Supervisor root/experts on node n1 gave up (too many restarts of its actors) and was restarted by its parent");
    now += 6 * MIN;
    expect(summary(w.evaluate(tree([worker("expert.a", 0)], 1)))).toEqual(["health.escalated:experts critical resolved"]);
  });

  it("an actor that crashed and is not restarted is critical until it runs again", () => {
    const w = watch();
    w.evaluate(tree([], 0, [worker("test.once", 0, { restart: "temporary" })]));
    const gone = w.evaluate(tree([], 0, [worker("test.once", 0, { restart: "temporary", state: "exited", lastError: "socket closed" })]));
    expect(summary(gone)).toEqual(["health.exited:test.once critical raised"]);
    expect(gone[0]!.message).toBe("Actor test.once on node n1 crashed and will not be restarted (temporary): socket closed");
    expect(w.evaluate(tree([], 0, [worker("test.once", 0, { restart: "temporary", state: "exited", lastError: "socket closed" })]))).toEqual([]);
    // An operator restarted it.
    expect(summary(w.evaluate(tree([], 0, [worker("test.once", 0, { restart: "temporary", lastError: "socket closed" })])))).toEqual(["health.exited:test.once critical resolved"]);
  });

  it("an actor that ended normally (no error) is not an alert", () => {
    const w = watch();
    expect(w.evaluate(tree([], 0, [worker("test.job", 0, { restart: "transient", state: "exited" })]))).toEqual([]);
  });

  it("what was raised for an actor that left the tree is resolved; no tree says nothing", () => {
    const w = watch();
    w.evaluate(tree([worker("expert.a", 0)]));
    w.evaluate(tree([worker("expert.a", 9)]));
    expect(w.evaluate(null)).toEqual([]);
    expect(summary(w.evaluate(tree([])))).toEqual(["health.restarts:expert.a high resolved"]);
  });
});
