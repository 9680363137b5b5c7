import { join } from "node:path";
import type { ServiceBroker } from "moleculer";
import { startTestBroker } from "../helpers/broker";
import { CoreProcess } from "../helpers/core-process";
import { startClusterNode } from "../helpers/cluster-node";
import { testSchema } from "../helpers/pg-schema";
import { uniqueName } from "../helpers/unique";

const namespace = uniqueName("shutdown");
const pg = testSchema("shutdown");
const SLOW_SERVICE = join(__dirname, "../fixtures/services/slow.service.js");
let probe: ServiceBroker;

afterAll(async () => {
  await CoreProcess.killAll();
  await probe?.stop();
  await pg.drop();
});

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
});
