import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ServiceBroker } from "moleculer";
import { startTestBroker } from "../helpers/broker";
import { CoreProcess } from "../helpers/core-process";
import { startClusterNode } from "../helpers/cluster-node";
import { PrivateNats } from "../helpers/nats-server";
import { testSchema } from "../helpers/pg-schema";
import { uniqueName } from "../helpers/unique";
import { waitFor } from "../helpers/wait";

const namespace = uniqueName("natsrestart");
const pg = testSchema("natsrestart");
const ECHO = join(__dirname, "../fixtures/services/echo-actors.js");
const LOAD = join(__dirname, "../fixtures/services/load-actor.js");
const CALL_TIMEOUT_MS = 3_000;
let nats: PrivateNats;
let probe: ServiceBroker | undefined;

const node = (id: string, services: string) => startClusterNode(id, services, { namespace, pg, natsUrl: nats.url, heartbeatTimeoutSec: 6 });

afterAll(async () => {
  await CoreProcess.killAll();
  await probe?.stop();
  await nats?.dispose();
  await pg.drop();
});

interface LoadReport {
  sent: number;
  ok: number;
  failed: string[];
  failedAt: number[];
  lastSentAt: number;
  maxMs: number;
}

describe("NATS restarting under load (private nats-server)", () => {
  it("the cluster serves again within 5 s and no call outlives its deadline", async () => {
    nats = await PrivateNats.start();
    const [a, b] = await Promise.all([node("node-a", `supervisor,${LOAD}`), node("node-b", `supervisor,${ECHO}`)]);
    probe = await startTestBroker({ namespace, nodeId: "probe", natsUrl: nats.url });
    await waitFor(async () => {
      const { actors } = (await probe!.call("supervisor.actors", {}, { nodeID: "node-a" })) as { actors: Array<{ name: string }> };
      return actors.some((x) => x.name === "test.echo");
    }, 20_000, "A to see test.echo on B");

    const load = probe.call("test.load.run", { ratePerSec: 50, durationMs: 12_000, timeoutMs: CALL_TIMEOUT_MS }, { nodeID: "node-a", timeout: 60_000 }) as Promise<LoadReport>;
    await new Promise((r) => setTimeout(r, 2_000));
    await nats.stop();
    await new Promise((r) => setTimeout(r, 500));
    await nats.start();
    const backAt = Date.now();
    const report = await load;
    // CORE_TEST_DEBUG=1 keeps the whole report and both nodes' logs for a look after the run.
    if (process.env.CORE_TEST_DEBUG) writeFileSync(join(tmpdir(), "core-nats-restart.json"), JSON.stringify({ backAt, report, a: a.output, b: b.output }));

    // Every call ended by its deadline, answered or failed.
    expect(report.maxMs).toBeLessThanOrEqual(CALL_TIMEOUT_MS + 500);
    // Calls sent 5 s after NATS came back all succeeded.
    expect(report.failedAt.filter((t) => t > backAt + 5_000)).toEqual([]);
    expect(report.lastSentAt).toBeGreaterThan(backAt + 5_000);
    // Failures, if any, are typed and say why (retryable unavailability or the deadline).
    for (const failure of report.failed) expect(failure).toMatch(/^(UNAVAILABLE|DEADLINE_EXCEEDED|REQUEST_TIMEOUT|REQUEST_REJECTED|\d{3}):/);
    expect(report.ok).toBeGreaterThan(report.sent * 0.5);
    expect(await Promise.all([a.stop(), b.stop()])).toEqual([0, 0]);
  });
});
