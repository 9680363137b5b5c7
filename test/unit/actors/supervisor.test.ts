import { MaxRestartIntensityError, Supervisor, type ChildSpec, type ExitReason, type RestartType, type RunningChild, type SupervisorEvent, type SupervisorSpec } from "../../../actors/supervisor";
import { waitFor } from "../../helpers/wait";

/** A child whose life the test controls: crash it, end it normally, watch it stop. */
class FakeChild implements RunningChild {
  readonly exited: Promise<ExitReason>;
  private end!: (reason: ExitReason) => void;
  stopped = false;
  killed = false;

  constructor(readonly id: string, private readonly log: string[], private readonly hangOnStop = false) {
    this.exited = new Promise((resolve) => (this.end = resolve));
  }

  crash(message = `${this.id} crashed`): void {
    this.end({ kind: "crash", error: new Error(message) });
  }

  exitNormally(): void {
    this.end({ kind: "normal" });
  }

  async stop(): Promise<void> {
    this.log.push(`stop:${this.id}`);
    this.stopped = true;
    if (this.hangOnStop) await new Promise(() => undefined);
  }

  kill(): void {
    this.log.push(`kill:${this.id}`);
    this.killed = true;
  }
}

interface Harness {
  log: string[];
  events: SupervisorEvent[];
  instances: Map<string, FakeChild[]>;
  latest(id: string): FakeChild;
  worker(id: string, options?: { restart?: RestartType; failStarts?: number; hangOnStop?: boolean; shutdownMs?: number }): ChildSpec;
}

function harness(): Harness {
  const log: string[] = [];
  const events: SupervisorEvent[] = [];
  const instances = new Map<string, FakeChild[]>();
  return {
    log,
    events,
    instances,
    latest: (id) => instances.get(id)!.at(-1)!,
    worker(id, options = {}) {
      let failures = options.failStarts ?? 0;
      return {
        id,
        restart: options.restart,
        shutdownMs: options.shutdownMs,
        start: async () => {
          if (failures-- > 0) {
            log.push(`start-failed:${id}`);
            throw new Error(`${id} cannot start`);
          }
          log.push(`start:${id}`);
          const child = new FakeChild(id, log, options.hangOnStop);
          instances.set(id, [...(instances.get(id) ?? []), child]);
          return child;
        },
      };
    },
  };
}

const fast = { initialMs: 5, maxMs: 20, factor: 2 };
const supervisors: Supervisor[] = [];

async function start(h: Harness, spec: Omit<SupervisorSpec, "backoff"> & { backoff?: SupervisorSpec["backoff"] }, now?: () => number): Promise<Supervisor> {
  const sup = await Supervisor.start({ backoff: fast, ...spec }, { onEvent: (e) => h.events.push(e), now, random: () => 0.5 });
  supervisors.push(sup);
  return sup;
}

afterEach(async () => {
  await Promise.all(supervisors.splice(0).map((s) => s.stop()));
});

describe("Supervisor", () => {
  it("starts children in order and stops them in reverse order", async () => {
    const h = harness();
    const sup = await start(h, { id: "root", children: [h.worker("a"), h.worker("b"), h.worker("c")] });
    expect(h.log).toEqual(["start:a", "start:b", "start:c"]);
    await sup.stop();
    expect(h.log.slice(3)).toEqual(["stop:c", "stop:b", "stop:a"]);
    expect(await sup.exited).toEqual({ kind: "shutdown" });
  });

  it("one_for_one: a crashed child is back within 1 s (default backoff) and its siblings are untouched", async () => {
    const h = harness();
    const sup = await Supervisor.start({ id: "root", children: [h.worker("a"), h.worker("b"), h.worker("c")] });
    supervisors.push(sup);
    const [a, c] = [h.latest("a"), h.latest("c")];
    const crashedAt = Date.now();
    h.latest("b").crash();
    await waitFor(() => h.instances.get("b")!.length === 2, 1_000, "b to restart");
    expect(Date.now() - crashedAt).toBeLessThan(1_000);
    expect(h.latest("a")).toBe(a);
    expect(h.latest("c")).toBe(c);
    expect(a.stopped || c.stopped).toBe(false);
    expect(h.log).toEqual(["start:a", "start:b", "start:c", "start:b"]);
    expect(sup.snapshot().children.map((ch) => [ch.id, ch.state, ch.restarts])).toEqual([
      ["a", "running", 0],
      ["b", "running", 1],
      ["c", "running", 0],
    ]);
  });

  it("one_for_all: the others are stopped (in reverse order) and all restart in order", async () => {
    const h = harness();
    await start(h, { id: "root", strategy: "one_for_all", children: [h.worker("a"), h.worker("b"), h.worker("c")] });
    h.log.length = 0;
    h.latest("b").crash();
    await waitFor(() => h.log.length === 5, 1_000, "restarts");
    expect(h.log).toEqual(["stop:c", "stop:a", "start:a", "start:b", "start:c"]);
  });

  it("rest_for_one: the children started after it are stopped and restarted with it", async () => {
    const h = harness();
    await start(h, { id: "root", strategy: "rest_for_one", children: [h.worker("a"), h.worker("b"), h.worker("c"), h.worker("d")] });
    const a = h.latest("a");
    h.log.length = 0;
    h.latest("b").crash();
    await waitFor(() => h.log.length === 5, 1_000, "restarts");
    expect(h.log).toEqual(["stop:d", "stop:c", "start:b", "start:c", "start:d"]);
    expect(h.latest("a")).toBe(a);
  });

  it("restart types: permanent always, transient after a crash only, temporary never", async () => {
    const h = harness();
    await start(h, {
      id: "root",
      intensity: { maxRestarts: 10, periodMs: 1_000 },
      children: [h.worker("perm", { restart: "permanent" }), h.worker("trans", { restart: "transient" }), h.worker("temp", { restart: "temporary" })],
    });
    h.latest("perm").exitNormally();
    h.latest("trans").exitNormally();
    h.latest("temp").crash();
    await waitFor(() => h.instances.get("perm")!.length === 2, 1_000, "permanent restart");
    await new Promise((r) => setTimeout(r, 100));
    expect(h.instances.get("trans")!.length).toBe(1);
    expect(h.instances.get("temp")!.length).toBe(1);

    const h2 = harness();
    await start(h2, { id: "root2", children: [h2.worker("trans", { restart: "transient" })] });
    h2.latest("trans").crash();
    await waitFor(() => h2.instances.get("trans")!.length === 2, 1_000, "transient restart after crash");
  });

  it("a temporary sibling stopped by one_for_all is not brought back", async () => {
    const h = harness();
    const sup = await start(h, { id: "root", strategy: "one_for_all", children: [h.worker("a"), h.worker("t", { restart: "temporary" })] });
    h.latest("a").crash();
    await waitFor(() => h.instances.get("a")!.length === 2, 1_000, "a restarted");
    expect(h.instances.get("t")!.length).toBe(1);
    expect(sup.snapshot().children.find((c) => c.id === "t")!.state).toBe("stopped");
  });

  it("more restarts than the intensity allows within the period: children stopped, supervisor exits abnormally", async () => {
    const h = harness();
    const sup = await start(h, { id: "root", intensity: { maxRestarts: 2, periodMs: 10_000 }, children: [h.worker("a"), h.worker("b")] });
    for (let i = 1; i <= 2; i++) {
      h.latest("b").crash();
      await waitFor(() => h.instances.get("b")!.length === i + 1, 1_000, `restart ${i}`);
    }
    h.latest("b").crash();
    const reason = await sup.exited;
    expect(reason.kind).toBe("crash");
    const error = (reason as { error: unknown }).error;
    expect(error).toBeInstanceOf(MaxRestartIntensityError);
    expect((error as Error).message).toBe("supervisor root reached its maximum restart intensity (3 restarts within 10000 ms)");
    expect(h.latest("a").stopped).toBe(true);
    expect(h.events.filter((e) => e.type === "escalated")).toEqual([{ type: "escalated", path: ["root"], restarts: 3, periodMs: 10_000 }]);
  });

  it("the intensity window slides: crashes spaced wider than the period never escalate", async () => {
    const h = harness();
    let clock = 0;
    const sup = await start(h, { id: "root", intensity: { maxRestarts: 1, periodMs: 1_000 }, children: [h.worker("a")] }, () => clock);
    for (let i = 1; i <= 5; i++) {
      clock += 1_001;
      h.latest("a").crash();
      await waitFor(() => h.instances.get("a")!.length === i + 1, 1_000, `restart ${i}`);
    }
    expect(h.events.some((e) => e.type === "escalated")).toBe(false);
    expect(sup.snapshot().children[0]!.restarts).toBe(5);
  });

  it("escalation climbs the tree: a subtree that gives up is restarted by its parent, and the root gives up last", async () => {
    const h = harness();
    const experts: SupervisorSpec = { id: "experts", intensity: { maxRestarts: 1, periodMs: 10_000 }, backoff: fast, children: [h.worker("flaky", { failStarts: 1_000 })] };
    const root = await start(h, {
      id: "root",
      intensity: { maxRestarts: 1, periodMs: 10_000 },
      children: [h.worker("steady"), Supervisor.child(experts, { onEvent: (e) => h.events.push(e), random: () => 0.5 })],
    });
    const reason = await root.exited;
    expect(reason.kind).toBe("crash");
    expect(((reason as { error: unknown }).error as Error).message).toMatch(/^supervisor root reached its maximum restart intensity/);
    const escalations = h.events.filter((e) => e.type === "escalated").map((e) => e.path.join("/"));
    // experts gave up twice (first run, then the run its parent restarted); then root gave up.
    expect(escalations).toEqual(["root/experts", "root/experts", "root"]);
    expect(h.latest("steady").stopped).toBe(true);
  });

  it("backs off exponentially between restarts (capped, jittered)", async () => {
    const h = harness();
    await start(h, {
      id: "root",
      intensity: { maxRestarts: 10, periodMs: 60_000 },
      backoff: { initialMs: 8, maxMs: 40, factor: 2 },
      children: [h.worker("a")],
    });
    for (let i = 1; i <= 5; i++) {
      h.latest("a").crash();
      await waitFor(() => h.instances.get("a")!.length === i + 1, 2_000, `restart ${i}`);
    }
    const delays = h.events.filter((e) => e.type === "restarting").map((e) => (e as { delayMs: number }).delayMs);
    // random() = 0.5: three quarters of 8, 16, 32, 40 (cap), 40.
    expect(delays).toEqual([6, 12, 24, 30, 30]);
  });

  it("a child that fails to start is retried like a crash", async () => {
    const h = harness();
    const sup = await start(h, { id: "root", children: [h.worker("a", { failStarts: 2 })] });
    await waitFor(() => h.instances.get("a")?.length === 1, 1_000, "a to start at last");
    expect(h.log).toEqual(["start-failed:a", "start-failed:a", "start:a"]);
    expect(h.events.filter((e) => e.type === "start_failed")).toHaveLength(2);
    expect(sup.snapshot().children[0]).toMatchObject({ state: "running", restarts: 2, lastError: "a cannot start" });
  });

  it("kills a child that does not stop within its shutdown timeout", async () => {
    const h = harness();
    const sup = await start(h, { id: "root", children: [h.worker("stuck", { hangOnStop: true, shutdownMs: 50 })] });
    const t0 = Date.now();
    await sup.stop();
    expect(Date.now() - t0).toBeLessThan(1_000);
    expect(h.latest("stuck").killed).toBe(true);
    expect(h.events).toContainEqual({ type: "shutdown_timeout", path: ["root", "stuck"], timeoutMs: 50 });
  });

  it("an operator's restart does not count toward the intensity", async () => {
    const h = harness();
    const sup = await start(h, { id: "root", intensity: { maxRestarts: 0, periodMs: 10_000 }, children: [h.worker("a")] });
    for (let i = 0; i < 3; i++) await sup.restartChild("a");
    expect(h.instances.get("a")!.length).toBe(4);
    expect(h.events.some((e) => e.type === "escalated")).toBe(false);
    await expect(sup.restartChild("nobody")).rejects.toThrow("supervisor root has no child nobody");
  });

  it("a stop during a backoff wait ends at once, without restarting", async () => {
    const h = harness();
    const sup = await start(h, { id: "root", backoff: { initialMs: 60_000, maxMs: 60_000, factor: 1 }, children: [h.worker("a")] });
    h.latest("a").crash();
    await waitFor(() => h.events.some((e) => e.type === "restarting"), 1_000, "restart scheduled");
    const t0 = Date.now();
    await sup.stop();
    expect(Date.now() - t0).toBeLessThan(1_000);
    expect(h.instances.get("a")!.length).toBe(1);
  });

  it("snapshots nest subtrees", async () => {
    const h = harness();
    const sup = await start(h, {
      id: "root",
      children: [Supervisor.child({ id: "experts", strategy: "one_for_all", children: [h.worker("claude"), h.worker("gpt")] })],
    });
    expect(sup.snapshot()).toEqual({
      id: "root",
      strategy: "one_for_one",
      intensity: { maxRestarts: 3, periodMs: 5_000 },
      children: [
        {
          id: "experts",
          kind: "supervisor",
          restart: "permanent",
          state: "running",
          restarts: 0,
          strategy: "one_for_all",
          children: [
            { id: "claude", kind: "worker", restart: "permanent", state: "running", restarts: 0 },
            { id: "gpt", kind: "worker", restart: "permanent", state: "running", restarts: 0 },
          ],
        },
      ],
    });
  });
});
