import { join } from "node:path";
import type { ServiceBroker } from "moleculer";
import { startTestBroker } from "../helpers/broker";
import { CoreProcess } from "../helpers/core-process";
import { startClusterNode } from "../helpers/cluster-node";
import { testSchema } from "../helpers/pg-schema";
import { uniqueName } from "../helpers/unique";
import { waitFor } from "../helpers/wait";

const namespace = uniqueName("shutdown");
const pg = testSchema("shutdown");
const SLOW_SERVICE = join(__dirname, "../fixtures/services/slow.service.js");
let probe: ServiceBroker;

afterAll(async () => {
  await CoreProcess.killAll();
  await probe?.stop();
  await pg.drop();
});

/** Until the probe can call the slow actor on that node. */
async function reachable(nodeID: string): Promise<void> {
  await waitFor(() => probe.call("slow.wait", { ms: 0 }, { nodeID, timeout: 1_000, retries: 0 }).then(() => true, () => false), 20_000, `slow on ${nodeID}`);
}

describe("graceful shutdown", () => {
  it.each(["SIGTERM", "SIGINT"] as const)("on %s, a call in flight completes before the node exits 0", async (signal) => {
    const nodeId = `worker-${signal.toLowerCase()}`;
    const node = await startClusterNode(nodeId, `api,${SLOW_SERVICE}`, { namespace, pg });
    probe ??= await startTestBroker({ namespace, nodeId: "probe" });
    await probe.waitForServices({ name: "slow" }, 20_000);

    const inFlight = probe.call("slow.wait", { ms: 1_500 }, { nodeID: nodeId, timeout: 10_000 });
    await new Promise((r) => setTimeout(r, 300));
    const started = Date.now();
    const exit = node.stop(signal);

    await expect(inFlight).resolves.toEqual({ waited: 1_500, nodeID: nodeId });
    expect(await exit).toBe(0);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(node.output).toContain(`Received ${signal}: draining in-flight calls`);
  });

  it("one Ctrl-C delivered twice (npm forwards it, the terminal sends it too) still drains and exits 0", async () => {
    const node = await startClusterNode("worker-double", `api,${SLOW_SERVICE}`, { namespace, pg });
    probe ??= await startTestBroker({ namespace, nodeId: "probe" });
    await reachable("worker-double");
    const inFlight = probe.call("slow.wait", { ms: 1_500 }, { nodeID: "worker-double", timeout: 10_000 });
    await new Promise((r) => setTimeout(r, 300));
    node.proc.kill("SIGINT");
    await new Promise((r) => setTimeout(r, 50));
    node.proc.kill("SIGINT");
    await expect(inFlight).resolves.toEqual({ waited: 1_500, nodeID: "worker-double" });
    expect(await node.wait()).toBe(0);
    expect(node.output).not.toContain("again");
  });

  it("a second signal more than a second later stops at once with exit 130", async () => {
    const node = await startClusterNode("worker-impatient", `api,${SLOW_SERVICE}`, { namespace, pg, env: { CORE_SHUTDOWN_TIMEOUT: "30000" } });
    probe ??= await startTestBroker({ namespace, nodeId: "probe" });
    await reachable("worker-impatient");
    const inFlight = probe.call("slow.wait", { ms: 20_000 }, { nodeID: "worker-impatient", timeout: 30_000 }).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 300));
    node.proc.kill("SIGINT");
    await new Promise((r) => setTimeout(r, 1_200));
    const t0 = Date.now();
    node.proc.kill("SIGINT");
    expect(await node.wait()).toBe(130);
    expect(Date.now() - t0).toBeLessThan(2_000);
    expect(node.output).toContain("Received SIGINT again: exiting without draining");
    void inFlight;
  });
});
