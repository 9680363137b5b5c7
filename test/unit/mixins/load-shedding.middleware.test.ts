import { MemoryPressureError } from "../../../lib/errors";
import { loadSheddingOf, LoadSheddingMiddleware } from "../../../mixins/load-shedding.middleware";
import { MEMORY_METRICS } from "../../../mixins/memory-metrics";

type Handler = (ctx: unknown) => Promise<unknown>;
interface Hooks {
  localAction(this: unknown, next: Handler, action: { name?: string }): Handler;
}

/** Enough of a broker for the middleware: its node ID, and a metrics registry that records what it is told. */
function fakeBroker(nodeID: string) {
  const registered = new Set<string>();
  const counts: Record<string, number> = {};
  return {
    nodeID,
    counts,
    isMetricsEnabled: () => true,
    metrics: {
      getMetric: (name: string) => (registered.has(name) ? {} : null),
      register: (m: { name: string }) => registered.add(m.name),
      increment: (name: string, labels: { action: string }, value = 1) => {
        const key = `${name}{${labels.action}}`;
        counts[key] = (counts[key] ?? 0) + value;
      },
    },
  };
}

const cause = { usedRatio: 0.93, level: "critical", retryAfterSec: 10 };

describe("LoadSheddingMiddleware", () => {
  it("leaves actions that start no new work unwrapped", () => {
    const mw = LoadSheddingMiddleware() as unknown as Hooks;
    const next: Handler = async () => "ok";
    expect(mw.localAction.call(fakeBroker("n1"), next, { name: "circle.get" })).toBe(next);
    expect(mw.localAction.call(fakeBroker("n1"), next, { name: "memory-monitor.status" })).toBe(next);
  });

  it("passes consults while the node does not shed, and refuses them at once while it does", async () => {
    const broker = fakeBroker("n1");
    const mw = LoadSheddingMiddleware() as unknown as Hooks;
    let handled = 0;
    const consult = mw.localAction.call(broker, async () => ++handled, { name: "circle.consult" });
    const chat = mw.localAction.call(broker, async () => ++handled, { name: "openai.chatCompletions" });
    // Each shed action's series exists from the start, at 0.
    expect(broker.counts).toEqual({ [`${MEMORY_METRICS.loadShed}{circle.consult}`]: 0, [`${MEMORY_METRICS.loadShed}{openai.chatCompletions}`]: 0 });
    await expect(consult({})).resolves.toBe(1);

    loadSheddingOf(broker).start(cause);
    const refused = consult({});
    await expect(refused).rejects.toBeInstanceOf(MemoryPressureError);
    await expect(refused).rejects.toMatchObject({ code: "MEMORY_PRESSURE", status: 503, retryable: true, data: { action: "circle.consult", nodeID: "n1", retryAfterSec: 10 } });
    await expect(chat({})).rejects.toMatchObject({ code: "MEMORY_PRESSURE", data: { action: "openai.chatCompletions" } });
    expect(handled).toBe(1); // the handler never ran
    expect(broker.counts).toEqual({ [`${MEMORY_METRICS.loadShed}{circle.consult}`]: 1, [`${MEMORY_METRICS.loadShed}{openai.chatCompletions}`]: 1 });

    loadSheddingOf(broker).stop();
    await expect(consult({})).resolves.toBe(2);
  });

  it("keeps each broker's state apart, even with one middleware object", async () => {
    const a = fakeBroker("a");
    const b = fakeBroker("b");
    const mw = LoadSheddingMiddleware() as unknown as Hooks;
    const onA = mw.localAction.call(a, async () => "a", { name: "circle.consult" });
    const onB = mw.localAction.call(b, async () => "b", { name: "circle.consult" });
    loadSheddingOf(a).start(cause);
    expect(loadSheddingOf(a)).toBe(loadSheddingOf(a));
    await expect(onA({})).rejects.toMatchObject({ code: "MEMORY_PRESSURE", data: { nodeID: "a" } });
    await expect(onB({})).resolves.toBe("b");
  });

  it("sheds the actions it is given", async () => {
    const broker = fakeBroker("n1");
    const mw = LoadSheddingMiddleware(["mcp-gateway.call"]) as unknown as Hooks;
    const next: Handler = async () => "ok";
    expect(mw.localAction.call(broker, next, { name: "circle.consult" })).toBe(next);
    loadSheddingOf(broker).start(cause);
    await expect(mw.localAction.call(broker, next, { name: "mcp-gateway.call" })({})).rejects.toMatchObject({ code: "MEMORY_PRESSURE" });
  });
});
