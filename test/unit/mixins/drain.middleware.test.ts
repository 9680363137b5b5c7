import type { Service, ServiceBroker } from "moleculer";
import { DrainMiddleware } from "../../../mixins/drain.middleware";

type Handler = (ctx: unknown) => Promise<unknown>;
interface Hooks {
  localAction(next: Handler, action: { service: { fullName: string } }): Handler;
  serviceStopping(service: Service): Promise<void>;
  stopping(broker: ServiceBroker): Promise<void>;
}

const logger = { info() {}, warn() {} } as unknown as ServiceBroker["logger"];

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe("DrainMiddleware", () => {
  it("a stopping service waits for the calls it is handling, and only those", async () => {
    const mw = DrainMiddleware(5_000) as unknown as Hooks;
    const gate = deferred();
    const slow = mw.localAction(() => gate.promise.then(() => "done"), { service: { fullName: "a" } });
    const call = slow({});
    let drained = false;
    const stopping = mw.serviceStopping({ fullName: "a", logger } as unknown as Service).then(() => (drained = true));
    await mw.serviceStopping({ fullName: "b", logger } as unknown as Service); // another service: nothing to wait for
    await new Promise((r) => setTimeout(r, 20));
    expect(drained).toBe(false);
    gate.resolve();
    expect(await call).toBe("done");
    await stopping;
    expect(drained).toBe(true);
  });

  it("counts failed calls out too, and gives up waiting after the timeout", async () => {
    const mw = DrainMiddleware(50) as unknown as Hooks;
    const failing = mw.localAction(() => Promise.reject(new Error("x")), { service: { fullName: "a" } });
    await expect(failing({})).rejects.toThrow("x");
    await mw.stopping({ nodeID: "n", logger } as unknown as ServiceBroker);
    const stuck = mw.localAction(() => new Promise(() => undefined), { service: { fullName: "a" } });
    void stuck({});
    const t0 = Date.now();
    await mw.stopping({ nodeID: "n", logger } as unknown as ServiceBroker);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(45);
  });
});
