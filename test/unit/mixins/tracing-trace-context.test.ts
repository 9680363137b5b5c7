import { ServiceBroker } from "moleculer";
import { defineActor } from "../../../actors/actor-spec";
import { Mailbox } from "../../../actors/mailbox";
import { loadConfig } from "../../../config";
import { currentTraceId, enterTrace, runInTrace, TraceContextMiddleware } from "../../../mixins/trace-context";
import { createBrokerOptions } from "../../../moleculer.config";
import createSupervisorService from "../../../services/supervisor.service";

type Handler = (ctx: { requestID?: string | null }) => Promise<unknown>;
interface Hooks {
  name: string;
  localAction(next: Handler): Handler;
  localEvent(next: Handler): Handler;
}

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe("TraceContextMiddleware", () => {
  const mw = TraceContextMiddleware() as unknown as Hooks;

  it("runs each handler, and all it awaits, inside its context's trace id", async () => {
    const seen: Array<string | undefined> = [];
    const handler = mw.localAction(async () => {
      seen.push(currentTraceId());
      await new Promise((r) => setTimeout(r, 5));
      seen.push(currentTraceId());
      return "ok";
    });
    await expect(Promise.all([handler({ requestID: "t1" }), handler({ requestID: "t2" })])).resolves.toEqual(["ok", "ok"]);
    expect(seen.sort()).toEqual(["t1", "t1", "t2", "t2"]);
    expect(currentTraceId()).toBeUndefined();
  });

  it("event handlers too; a context without a request id runs as it is", async () => {
    const event = mw.localEvent(async () => currentTraceId());
    await expect(event({ requestID: "e1" })).resolves.toBe("e1");
    await expect(mw.localAction(async () => currentTraceId())({ requestID: null })).resolves.toBeUndefined();
  });

  it("enterTrace: an edge's own work after it (awaits included) runs in the trace, on a broker that runs the middleware only", async () => {
    const withMiddleware = {};
    (TraceContextMiddleware() as unknown as { created(b: object): void }).created(withMiddleware);
    const handler = async (broker: object, id: string) => {
      enterTrace(broker, id);
      await new Promise((r) => setTimeout(r, 2));
      return currentTraceId();
    };
    // As an HTTP server calls its handler: from a callback of its own (the trace does not outlive it).
    const edge = (broker: object, id: string) => new Promise<string | undefined>((resolve) => setImmediate(() => resolve(handler(broker, id))));
    await expect(Promise.all([edge(withMiddleware, "e-1"), edge(withMiddleware, "e-2")])).resolves.toEqual(["e-1", "e-2"]);
    await expect(edge({}, "e-3")).resolves.toBeUndefined();
    expect(currentTraceId()).toBeUndefined();
  });

  it("a message that waited in an actor's mailbox runs in its own trace, not in the one that freed the slot", async () => {
    const mailbox = new Mailbox("a", { concurrency: 1, capacity: 4 });
    const gate = deferred();
    const seen: Record<string, string | undefined> = {};
    const first = runInTrace("first", () =>
      mailbox.run(async () => {
        await gate.promise;
        seen.first = currentTraceId();
      }),
    );
    const second = runInTrace("second", () => mailbox.run(async () => void (seen.second = currentTraceId())));
    expect(mailbox.depth).toBe(1);
    gate.resolve();
    await Promise.all([first, second]);
    expect(seen).toEqual({ first: "first", second: "second" });
  });
});

describe("trace ids in a node's calls (CORE broker options)", () => {
  let broker: ServiceBroker;
  const seen: Array<{ requestID: string | null; traceId: string | undefined }> = [];

  beforeAll(async () => {
    const config = loadConfig({ CORE_NODE_ID: "trace-ctx", CORE_METRICS: "false", CORE_LOG_LEVEL: "fatal", CORE_LOG_TRACE_IDS: "true" });
    broker = new ServiceBroker(createBrokerOptions(config));
    const gate = { promise: Promise.resolve() };
    const actor = defineActor({
      name: "trace.probe",
      kind: "probe",
      mailbox: { concurrency: 1, capacity: 8 },
      actions: {
        // Queued behind each other (concurrency 1): each must still see its own trace.
        probe: {
          async handler(ctx) {
            await gate.promise;
            await new Promise((r) => setTimeout(r, 2));
            seen.push({ requestID: ctx.requestID, traceId: currentTraceId() });
            return currentTraceId();
          },
        },
      },
    });
    broker.createService(createSupervisorService({ config, store: undefined, shared: undefined, actors: [actor], fatal: () => undefined }));
    broker.createService({
      name: "front",
      actions: {
        // A handler that calls on: the callee runs in the caller's trace.
        relay: { handler: (ctx) => ctx.call("trace.probe.probe") },
      },
    });
    await broker.start();
    await broker.waitForServices("trace.probe", 10_000);
  });

  afterAll(() => broker.stop());

  it("every call runs in its request's trace id (32 hex digits), across calls and through a busy mailbox", async () => {
    const answers = await Promise.all(Array.from({ length: 6 }, () => broker.call<string>("front.relay")));
    expect(seen).toHaveLength(6);
    for (const s of seen) {
      expect(s.traceId).toMatch(/^[0-9a-f]{32}$/);
      expect(s.traceId).toBe(s.requestID);
    }
    expect(new Set(answers).size).toBe(6);
    expect(answers.sort()).toEqual(seen.map((s) => s.traceId).sort());
  });
});
