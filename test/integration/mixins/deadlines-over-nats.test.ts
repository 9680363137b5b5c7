import type { ServiceBroker } from "moleculer";
import { DeadlineExceededError } from "../../../lib/errors";
import { startTestBroker } from "../../helpers/broker";
import { uniqueName } from "../../helpers/unique";

const namespace = uniqueName("deadlines");
let server: ServiceBroker;
let client: ServiceBroker;

beforeAll(async () => {
  server = await startTestBroker({
    namespace,
    nodeId: "server",
    // Its hanging calls never finish: do not wait long for them when stopping.
    env: { CORE_SHUTDOWN_TIMEOUT: "300" },
    services: [{ name: "hang", actions: { forever: () => new Promise(() => undefined), quick: () => "ok" } }],
  });
  client = await startTestBroker({ namespace, nodeId: "client" });
  await client.waitForServices("hang", 10_000);
});

afterAll(async () => {
  await client?.stop();
  await server?.stop();
});

type Internals = {
  transit: { pendingRequests: Map<string, unknown> };
  registry: { getActionEndpoints(name: string): { endpoints: Array<{ id: string; state: boolean }> } };
};

describe("deadlines across NATS", () => {
  it("a remote call that never answers fails with DEADLINE_EXCEEDED at its deadline and leaves nothing pending", async () => {
    const t0 = Date.now();
    const err = await client.call("hang.forever", {}, { timeout: 200 }).catch((e: unknown) => e);
    const took = Date.now() - t0;
    expect(err).toBeInstanceOf(DeadlineExceededError);
    expect(took).toBeGreaterThanOrEqual(195);
    expect(took).toBeLessThan(700);
    expect((client as unknown as Internals).transit.pendingRequests.size).toBe(0);
  });

  it("timeouts count against the endpoint: enough of them open its circuit breaker", async () => {
    await Promise.all(Array.from({ length: 25 }, () => client.call("hang.forever", {}, { timeout: 150 }).catch(() => undefined)));
    const [endpoint] = (client as unknown as Internals).registry.getActionEndpoints("hang.forever").endpoints;
    expect(endpoint!.id).toBe("server");
    expect(endpoint!.state).toBe(false);
    // Other actions of the node are not affected: breakers are per action endpoint.
    expect(await client.call("hang.quick")).toBe("ok");
  });
});
