import { singletonChild } from "../../../actors/singleton";
import type { ChildSpec, ExitReason, RunningChild } from "../../../actors/supervisor";
import { MemoryLeaseStore } from "../../../lib/lease/lease-store";
import { waitFor } from "../../helpers/wait";

class Fake implements RunningChild {
  exited: Promise<ExitReason>;
  end!: (r: ExitReason) => void;
  stopped = false;
  constructor() {
    this.exited = new Promise((r) => (this.end = r));
  }
  async stop() {
    this.stopped = true;
  }
}

function inner(started: Fake[]): ChildSpec {
  return {
    id: "test.single",
    start: async () => {
      const f = new Fake();
      started.push(f);
      return f;
    },
  };
}

describe("singletonChild", () => {
  it("runs on the lease holder only; the other node stands by and takes over when the holder stops renewing", async () => {
    const lease = new MemoryLeaseStore(200);
    const onB: Fake[] = [];
    const onC: Fake[] = [];
    const b = await singletonChild(inner(onB), { lease, holder: "b", intervalMs: 20 }).start({ path: ["root"] });
    await waitFor(() => onB.length === 1, 1_000, "b to run it");
    const c = await singletonChild(inner(onC), { lease, holder: "c", intervalMs: 20 }).start({ path: ["root"] });
    await new Promise((r) => setTimeout(r, 100));
    expect(onC).toHaveLength(0);
    expect([b.state!(), c.state!()]).toEqual(["running", "standby"]);

    b.kill!(); // b dies: it stops renewing and never releases
    const killedAt = Date.now();
    await waitFor(() => onC.length === 1, 2_000, "c to take over");
    expect(Date.now() - killedAt).toBeGreaterThanOrEqual(100);
    expect(c.state!()).toBe("running");
    expect(await lease.holder("singleton.test.single")).toBe("c");
    await c.stop();
    expect(onC[0]!.stopped).toBe(true);
    expect(await lease.holder("singleton.test.single")).toBeUndefined();
  });

  it("a clean stop hands the lease over at once", async () => {
    const lease = new MemoryLeaseStore(60_000);
    const onB: Fake[] = [];
    const onC: Fake[] = [];
    const b = await singletonChild(inner(onB), { lease, holder: "b", intervalMs: 20 }).start({ path: [] });
    await waitFor(() => onB.length === 1, 1_000, "b");
    const c = await singletonChild(inner(onC), { lease, holder: "c", intervalMs: 20 }).start({ path: [] });
    await b.stop();
    await waitFor(() => onC.length === 1, 1_000, "c");
    await c.stop();
  });

  it("a crash of the running actor releases the lease and is reported as a crash", async () => {
    const lease = new MemoryLeaseStore(60_000);
    const started: Fake[] = [];
    const s = await singletonChild(inner(started), { lease, holder: "b", intervalMs: 20 }).start({ path: [] });
    await waitFor(() => started.length === 1, 1_000, "start");
    started[0]!.end({ kind: "crash", error: new Error("boom") });
    expect(await s.exited).toEqual({ kind: "crash", error: new Error("boom") });
    expect(await lease.holder("singleton.test.single")).toBeUndefined();
  });
});
