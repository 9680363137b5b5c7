import { ServiceBroker } from "moleculer";
import { defineActor, type ActorDefinition } from "../../../actors/actor-spec";
import { loadConfig } from "../../../config";
import { ActorNotFoundError, ActorOverloadedError, InternalError } from "../../../lib/errors";
import type { NodeRuntime } from "../../../mixins/node-runtime";
import { toCoreError } from "../../../mixins/to-core-error";
import { createBrokerOptions } from "../../../moleculer.config";
import createSupervisorService from "../../../services/supervisor.service";
import { waitFor } from "../../helpers/wait";

interface Counter {
  count: number;
}

const counter = (name: string, extra: Partial<Parameters<typeof defineActor<Counter>>[0]> = {}) =>
  defineActor<Counter>({
    name,
    kind: "test",
    state: () => ({ count: 0 }),
    mailbox: { concurrency: 1, capacity: 1 },
    actions: {
      inc: { handler: (_ctx, self) => ++self.state.count },
      slow: {
        params: { ms: { type: "number" } },
        handler: async (ctx) => {
          await new Promise((r) => setTimeout(r, ctx.params.ms as number));
          return "done";
        },
      },
      bug: {
        handler: () => {
          throw new TypeError("undefined is not a function");
        },
      },
    },
    ...extra,
  });

interface Running {
  broker: ServiceBroker;
  fatal: string[];
  events: Array<{ event: string; payload: Record<string, unknown> }>;
}

const running: ServiceBroker[] = [];

async function start(actors: ActorDefinition[]): Promise<Running> {
  const config = loadConfig({ CORE_NODE_ID: "local", CORE_METRICS: "true", CORE_METRICS_PORT: "0", CORE_LOG_LEVEL: "fatal" });
  const options = createBrokerOptions(config);
  options.metrics = { enabled: true };
  const broker = new ServiceBroker(options);
  const fatal: string[] = [];
  const events: Running["events"] = [];
  const runtime: NodeRuntime = { config, store: undefined, shared: undefined, actors, fatal: (reason) => fatal.push(reason) };
  broker.createService(createSupervisorService(runtime));
  broker.createService({
    name: "listener",
    events: Object.fromEntries(
      ["actor.started", "actor.restarted", "actor.crashed", "actor.escalated"].map((event) => [
        event,
        { handler: (ctx: { params: Record<string, unknown> }) => void events.push({ event, payload: ctx.params }) },
      ]),
    ),
  });
  await broker.start();
  running.push(broker);
  return { broker, fatal, events };
}

afterEach(async () => {
  await Promise.all(running.splice(0).map((b) => b.stop()));
});

describe("actors under the node's supervisor", () => {
  it("are reached by name and keep their state between calls", async () => {
    const { broker } = await start([counter("test.a")]);
    expect(await broker.call("test.a.inc")).toBe(1);
    expect(await broker.call("test.a.inc")).toBe(2);
  });

  it("a full mailbox answers ActorOverloaded at once", async () => {
    const { broker } = await start([counter("test.a")]);
    const first = broker.call("test.a.slow", { ms: 300 });
    const second = broker.call("test.a.slow", { ms: 1 });
    const t0 = Date.now();
    const err = await broker.call("test.a.slow", { ms: 1 }).catch((e: unknown) => e);
    // Refused at once: long before the running 300 ms call could free a slot.
    expect(Date.now() - t0).toBeLessThan(250);
    expect(err).toBeInstanceOf(ActorOverloadedError);
    expect(err).toMatchObject({ retryable: false });
    await Promise.all([first, second]);
  });

  it("an unexpected error crashes the actor: the caller gets INTERNAL, the actor is back within 1 s with a fresh state, its sibling untouched", async () => {
    const { broker, events } = await start([counter("test.a"), counter("test.b")]);
    await broker.call("test.a.inc");
    await broker.call("test.b.inc");
    const err = await broker.call("test.a.bug").catch((e: unknown) => e);
    expect(toCoreError(err)).toBeInstanceOf(InternalError);
    const crashedAt = Date.now();
    await waitFor(async () => events.some((e) => e.event === "actor.restarted" && e.payload.actor === "test.a"), 1_000, "test.a to restart");
    expect(Date.now() - crashedAt).toBeLessThan(1_000);
    expect(await broker.call("test.a.inc")).toBe(1);
    expect(await broker.call("test.b.inc")).toBe(2);
    expect(events.find((e) => e.event === "actor.crashed")!.payload).toMatchObject({ actor: "test.a", nodeID: "local", error: "undefined is not a function" });
    const { actors } = (await broker.call("supervisor.actors")) as { actors: Array<{ name: string; restarts: number; path: string }> };
    expect(actors.map((a) => [a.name, a.path, a.restarts])).toEqual([
      ["test.a", "root/actors/test.a", 1],
      ["test.b", "root/actors/test.b", 0],
    ]);
  });

  it("failed health checks count as a crash", async () => {
    let healthy = true;
    const { broker, events } = await start([counter("test.h", { health: { check: () => { if (!healthy) throw new Error("probe failed"); }, intervalMs: 20, failures: 2 } })]);
    await broker.call("test.h.inc");
    healthy = false;
    await waitFor(() => events.some((e) => e.event === "actor.crashed"), 2_000, "health crash");
    healthy = true;
    await waitFor(() => events.some((e) => e.event === "actor.restarted"), 2_000, "restart");
    expect(events.find((e) => e.event === "actor.crashed")!.payload.error).toBe("probe failed");
  });

  it("a start failure is observed and retried", async () => {
    let attempts = 0;
    const { broker } = await start([
      counter("test.s", {
        started: () => {
          if (++attempts < 3) throw new Error("not yet");
        },
      }),
    ]);
    await waitFor(async () => (await broker.call("test.s.inc").catch(() => 0)) === 1, 3_000, "test.s to start");
    expect(attempts).toBe(3);
  });

  it("an actor that never starts exhausts its subtree and then the root: the node is told to stop", async () => {
    const { fatal, events } = await start([counter("test.never", { started: () => Promise.reject(new Error("config missing")) })]);
    await waitFor(() => fatal.length > 0, 20_000, "root to give up");
    expect(fatal[0]).toMatch(/^the supervision root gave up: supervisor root reached its maximum restart intensity/);
    expect(events.filter((e) => e.event === "actor.escalated").map((e) => e.payload.supervisor)).toContain("root/actors");
  });

  it("supervisor.restart restarts by name; an unknown name is ACTOR_NOT_FOUND", async () => {
    const { broker } = await start([counter("test.a")]);
    await broker.call("test.a.inc");
    expect(await broker.call("supervisor.restart", { actor: "test.a" })).toEqual({ actor: "test.a", restartedOn: ["local"] });
    expect(await broker.call("test.a.inc")).toBe(1);
    const err = await broker.call("supervisor.restart", { actor: "test.zzz" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ActorNotFoundError);
  });

  it("supervisor.tree shows the node's tree, and per-actor metrics are kept", async () => {
    const { broker } = await start([counter("test.a")]);
    await broker.call("test.a.inc");
    await broker.call("test.a.bug").catch(() => undefined);
    const trees = (await broker.call("supervisor.tree")) as Array<{ nodeID: string; tree: { children: Array<{ id: string; children: Array<{ id: string }> }> } }>;
    expect(trees[0]!.nodeID).toBe("local");
    expect(trees[0]!.tree.children.map((g) => [g.id, g.children.map((c) => c.id)])).toEqual([["actors", ["test.a"]]]);
    await waitFor(() => broker.metrics.getMetric("core.actor.restarts.total")?.get({ actor: "test.a" })?.value === 1, 2_000, "restart metric");
    const messages = broker.metrics.getMetric("core.actor.messages.total")!;
    expect(messages.get({ actor: "test.a", outcome: "handled" })?.value).toBe(1);
    expect(messages.get({ actor: "test.a", outcome: "failed" })?.value).toBe(1);
  });
});
