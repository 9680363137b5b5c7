import type { ServiceBroker } from "moleculer";
import { startTestBroker } from "../helpers/broker";
import { CoreProcess } from "../helpers/core-process";
import { freePort } from "../helpers/free-port";
import { PrivateNats } from "../helpers/nats-server";
import { testSchema } from "../helpers/pg-schema";
import { testRedisPrefix } from "../helpers/redis-prefix";
import { NATS_URL } from "../helpers/services";
import { uniqueName } from "../helpers/unique";
import { waitFor } from "../helpers/wait";

const namespace = uniqueName("cluster");
const pg = testSchema("cluster");
const redis = testRedisPrefix("cluster");
const brokers: ServiceBroker[] = [];
let privateNats: PrivateNats | undefined;

async function clusterEnv(natsUrl: string): Promise<Record<string, string>> {
  return {
    NATS_URL: natsUrl,
    REDIS_URL: redis.url,
    CORE_REDIS_PREFIX: redis.prefix,
    DATABASE_URL: pg.url,
    CORE_DB_SCHEMA: pg.schema,
    CORE_NAMESPACE: namespace,
    CORE_API_PORT: String(await freePort()),
    CORE_METRICS_PORT: String(await freePort()),
    CORE_HEARTBEAT_INTERVAL: "1",
    CORE_HEARTBEAT_TIMEOUT: "5",
  };
}

async function startNode(id: string, natsUrl = NATS_URL): Promise<CoreProcess> {
  return new CoreProcess(["start", "--node-id", id], { env: await clusterEnv(natsUrl) });
}

interface NodeInfo {
  id: string;
  available: boolean;
}
interface ServiceInfo {
  name: string;
  nodes: string[];
}

/** What node `from` knows of the cluster: its node list and which nodes run which services. */
async function viewFrom(probe: ServiceBroker, from: string): Promise<{ nodes: string[]; services: Record<string, string[]> }> {
  const nodes = (await probe.call("$node.list", {}, { nodeID: from })) as NodeInfo[];
  const services = (await probe.call("$node.services", { skipInternal: true }, { nodeID: from })) as ServiceInfo[];
  return {
    nodes: nodes.filter((n) => n.available).map((n) => n.id).sort(),
    services: Object.fromEntries(services.map((s) => [s.name, [...s.nodes].sort()])),
  };
}

afterAll(async () => {
  await CoreProcess.killAll();
  await Promise.all(brokers.map((b) => b.stop().catch(() => undefined)));
  await privateNats?.dispose();
  await pg.drop();
  await redis.clean();
});

describe("a cluster of core processes over real NATS", () => {
  it("two nodes in one namespace see each other: each lists the other's node and services", async () => {
    const [a, b] = await Promise.all([startNode("node-a"), startNode("node-b")]);
    await Promise.all([a.waitForOutput(/CORE node node-a started/, 60_000), b.waitForOutput(/CORE node node-b started/, 60_000)]);
    expect(a.output).toMatch(/transport: NATS nats:\/\/127\.0\.0\.1:4222; cache: Redis redis:\/\/127\.0\.0\.1:6379 \(prefix t_cluster_/);

    const probe = await startTestBroker({ namespace, nodeId: "probe" });
    brokers.push(probe);
    await waitFor(async () => {
      const [viewA, viewB] = await Promise.all([viewFrom(probe, "node-a"), viewFrom(probe, "node-b")]);
      return viewA.nodes.includes("node-b") && viewB.nodes.includes("node-a") && viewA.services.api?.length === 2 && viewB.services.api?.length === 2;
    }, 20_000, "both nodes to see each other");

    const viewA = await viewFrom(probe, "node-a");
    const viewB = await viewFrom(probe, "node-b");
    expect(viewA.nodes).toEqual(expect.arrayContaining(["node-a", "node-b"]));
    expect(viewB.nodes).toEqual(expect.arrayContaining(["node-a", "node-b"]));
    expect(viewA.services.api).toEqual(["node-a", "node-b"]);
    expect(viewB.services.api).toEqual(["node-a", "node-b"]);

    // Started together against one schema, the two nodes applied the migrations once.
    expect([a.output, b.output].join("\n").match(/Applying migration 1 /g)?.length).toBe(1);

    expect(await Promise.all([a.stop("SIGTERM"), b.stop("SIGINT")])).toEqual([0, 0]);
  });

  it("a node started while NATS is down says so, retries, and joins once NATS comes up", async () => {
    privateNats = await PrivateNats.reserve();
    const late = await startNode("node-late", privateNats.url);
    const retry = await late.waitForOutput(/NATS at (nats:\/\/\S+) is unreachable \((.+)\); retrying in \d+\.\d s \(attempt 1\)/, 30_000);
    expect(retry[1]).toBe(privateNats.url);
    await late.waitForOutput(/attempt 2\)/, 30_000);
    expect(late.exitCode).toBeNull();

    await privateNats.start();
    await late.waitForOutput(/CORE node node-late started/, 60_000);

    const probe = await startTestBroker({ namespace, nodeId: "probe-late", natsUrl: privateNats.url });
    brokers.push(probe);
    await waitFor(async () => (await viewFrom(probe, "node-late")).services.api?.includes("node-late"), 20_000, "node-late to be visible");
    const view = await viewFrom(probe, "probe-late");
    expect(view.nodes).toContain("node-late");
    expect(view.services.api).toEqual(["node-late"]);
    expect(await late.stop("SIGINT")).toBe(0);
  });
});
