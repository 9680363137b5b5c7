import { join } from "node:path";
import type { ServiceBroker } from "moleculer";
import { startTestBroker } from "../helpers/broker";
import { CoreProcess } from "../helpers/core-process";
import { testSchema } from "../helpers/pg-schema";
import { startClusterNode } from "../helpers/cluster-node";
import { uniqueName } from "../helpers/unique";
import { waitFor } from "../helpers/wait";

const namespace = uniqueName("actors");
const pg = testSchema("actors");
const ECHO = join(__dirname, "../fixtures/services/echo-actors.js");
const NEVER = join(__dirname, "../fixtures/services/never-starts.js");
let probe: ServiceBroker;

/** Started without waiting: the test waits (for two at once, or for one that is to exit). */
const node = (id: string, services: string) => startClusterNode(id, services, { namespace, pg, noWait: true });

afterAll(async () => {
  await CoreProcess.killAll();
  await probe?.stop();
  await pg.drop();
});

interface ActorInfo {
  name: string;
  nodeID: string;
  state: string;
  mailbox?: { depth: number; concurrency: number; capacity: number };
}

describe("actors across core processes", () => {
  it("an actor on B is called by name from A, and supervisor.actors from any node lists every node's actors", async () => {
    const [a, b] = await Promise.all([node("node-a", `supervisor,${ECHO}`), node("node-b", `supervisor,${ECHO}`)]);
    await Promise.all([a.waitForOutput(/CORE node node-a started/, 60_000), b.waitForOutput(/CORE node node-b started/, 60_000)]);
    probe = await startTestBroker({ namespace, nodeId: "probe" });
    // Discovery is eventual: wait until each node has heard of the other.
    await waitFor(async () => {
      const lists = (await Promise.all(["node-a", "node-b"].map((nodeID) => probe.call("supervisor.actors", {}, { nodeID })))) as Array<{ actors: ActorInfo[] }>;
      return lists.every((l) => l.actors.length === 4);
    }, 20_000, "both nodes' actors");

    // A's relay calls test.echo by name on B.
    expect(await probe.call("test.relay.forward", { text: "hi", to: "node-b" }, { nodeID: "node-a" })).toEqual({ via: "node-a", reply: { text: "hi", nodeID: "node-b" } });

    for (const from of ["node-a", "node-b"]) {
      const { actors, unreachable } = (await probe.call("supervisor.actors", {}, { nodeID: from })) as { actors: ActorInfo[]; unreachable: unknown[] };
      expect(unreachable).toEqual([]);
      expect(actors.map((x) => `${x.name}@${x.nodeID}:${x.state}`)).toEqual([
        "test.echo@node-a:running",
        "test.echo@node-b:running",
        "test.relay@node-a:running",
        "test.relay@node-b:running",
      ]);
      expect(actors[0]!.mailbox).toMatchObject({ depth: 0, concurrency: 16, capacity: 256 });
    }

    const missing = await probe.call("supervisor.restart", { actor: "test.nobody" }).catch((e: unknown) => e);
    expect(missing).toMatchObject({ code: "ACTOR_NOT_FOUND", status: 404 });
    expect(await probe.call("supervisor.restart", { actor: "test.echo", nodeID: "node-b" })).toEqual({ actor: "test.echo", restartedOn: ["node-b"] });

    expect(await Promise.all([a.stop(), b.stop()])).toEqual([0, 0]);
  });

  it("when the supervision root gives up, the node stops with a clear line and exit code 3", async () => {
    const doomed = await node("node-doomed", NEVER);
    const code = await doomed.wait(90_000);
    expect(code).toBe(3);
    expect(doomed.output).toMatch(/Actor root\/actors\/test\.never failed to start: a required dependency is missing/);
    expect(doomed.output).toMatch(/CORE node node-doomed is stopping: the supervision root gave up: supervisor root reached its maximum restart intensity/);
  });
});
