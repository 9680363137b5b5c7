import { randomUUID } from "node:crypto";
import { MetricTypes, ServiceBroker, type BrokerOptions, type Context } from "moleculer";
import { UnavailableError } from "../../../lib/errors";
import { CoreErrorRegenerator } from "../../../mixins/error-regenerator";
import { RequestMetricsMiddleware } from "../../../mixins/request-metrics.middleware";

/**
 * CORE's request metrics against Moleculer's built-in ones: the same calls on a
 * pair of brokers (a client calling local and remote actions of a server, over
 * Moleculer's in-process Fake transporter) with each, then the same
 * moleculer.request.* series with the same values. A manual clock stands in for
 * both timers (process.hrtime: the built-in; performance.now: CORE's), and the
 * handlers advance it, so the histograms' sums and buckets compare exactly.
 */

let clockMs = 0;
const realHrtime = process.hrtime;
const realNow = performance.now;

beforeAll(() => {
  const hrtime = (prev?: [number, number]): [number, number] => {
    const ns = Math.round(clockMs * 1e6);
    const now: [number, number] = [Math.floor(ns / 1e9), ns % 1e9];
    if (!prev) return now;
    const s = now[0] - prev[0];
    const n = now[1] - prev[1];
    return n < 0 ? [s - 1, n + 1e9] : [s, n];
  };
  process.hrtime = Object.assign(hrtime, { bigint: realHrtime.bigint });
  performance.now = () => clockMs;
});

afterAll(() => {
  process.hrtime = realHrtime;
  performance.now = realNow;
});

type Variant = "built-in" | "core";

interface Pair {
  client: ServiceBroker;
  server: ServiceBroker;
}

async function startPair(variant: Variant, metrics: BrokerOptions["metrics"]): Promise<Pair> {
  const namespace = `request-metrics-${randomUUID()}`;
  const options = (nodeID: string): BrokerOptions => ({
    namespace,
    nodeID,
    logger: false,
    transporter: "Fake",
    // The server's actions reach the client at once, not after Moleculer's 1 s debounce.
    transit: { serviceChangedDebounceTime: 0 } as BrokerOptions["transit"],
    errorRegenerator: new CoreErrorRegenerator(),
    metrics,
    middlewares: variant === "core" ? [RequestMetricsMiddleware()] : [],
  });
  const server = new ServiceBroker(options("server"));
  const client = new ServiceBroker(options("client"));
  const actions = (name: string) => ({
    name,
    actions: {
      ok: () => {
        clockMs += 5; // a bucket bound: counted under it
        return "ok";
      },
      slow: () => {
        clockMs += 30;
        return "slow";
      },
      fail: () => {
        clockMs += 300;
        throw new UnavailableError("down for the test");
      },
      boom: () => {
        clockMs += 7;
        throw new Error("plain");
      },
      // Calls at level 2 (caller: this service), and one more level below.
      nested: async (ctx: Context<{ deep?: boolean; fail?: boolean }>) => {
        clockMs += 1;
        await ctx.call(`${name}.ok`);
        if (ctx.params.deep) await ctx.call(`${name}.nested`, {});
        if (ctx.params.fail) await ctx.call(`${name}.fail`);
        return "nested";
      },
    },
  });
  server.createService(actions("remote"));
  client.createService(actions("local"));
  await Promise.all([server.start(), client.start()]);
  await client.waitForServices(["remote"], 5_000, 10);
  return { client, server };
}

async function exercise(client: ServiceBroker): Promise<void> {
  const settle = (p: Promise<unknown>) => p.then(
    () => undefined,
    () => undefined,
  );
  for (const svc of ["local", "remote"]) {
    for (let i = 0; i < 3; i++) await client.call(`${svc}.ok`);
    await client.call(`${svc}.slow`);
    await client.call(`${svc}.ok`, {}, { caller: "gateway" });
    await settle(client.call(`${svc}.fail`));
    await settle(client.call(`${svc}.fail`, {}, { caller: "gateway" }));
    await settle(client.call(`${svc}.boom`));
    await client.call(`${svc}.nested`, { deep: true });
    await settle(client.call(`${svc}.nested`, { fail: true }));
  }
}

type Series = Record<string, unknown> & { key: string };

/** The moleculer.request.* metrics, their times aside (timestamps, rates). */
function requestMetrics(broker: ServiceBroker): Record<string, Series[]> {
  const out: Record<string, Series[]> = {};
  for (const metric of broker.metrics.list({ includes: "moleculer.request.**" })) {
    const values = metric.values as unknown as Series[];
    out[metric.name] = values
      .map(({ timestamp: _t, rate: _r, ...rest }) => rest as Series)
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }
  return out;
}

async function run(variant: Variant, metrics: BrokerOptions["metrics"]) {
  const { client, server } = await startPair(variant, metrics);
  try {
    await exercise(client);
    return { client: requestMetrics(client), server: requestMetrics(server) };
  } finally {
    await Promise.all([client.stop(), server.stop()]);
  }
}

describe.each([
  ["CORE's settings (no quantiles)", { enabled: true, reporter: [], defaultQuantiles: null as unknown as number[] }],
  ["Moleculer's default quantiles", { enabled: true, reporter: [] }],
])("RequestMetricsMiddleware, %s", (_name, metrics) => {
  it("records the same moleculer.request.* series and values as Moleculer's built-in wrapper", async () => {
    const builtIn = await run("built-in", metrics);
    const core = await run("core", metrics);
    expect(core).toEqual(builtIn);

    // The reference itself holds what the calls above make: a check that the comparison compared something.
    const total = builtIn.client["moleculer.request.total"]!;
    expect(total).toContainEqual(expect.objectContaining({ labels: { service: "local", action: "local.ok", type: "local", caller: null }, value: 3 }));
    expect(total).toContainEqual(expect.objectContaining({ labels: { service: "remote", action: "remote.ok", type: "remote", caller: "gateway" }, value: 1 }));
    expect(builtIn.server["moleculer.request.total"]).toContainEqual(
      expect.objectContaining({ labels: { service: "remote", action: "remote.ok", type: "local", caller: "remote" }, value: 3 }),
    );
    expect(builtIn.client["moleculer.request.active"]!.every((s) => s.value === 0)).toBe(true);
    expect(builtIn.client["moleculer.request.active"]!.length).toBeGreaterThan(5);
    expect(builtIn.client["moleculer.request.levels"]!.map((s) => [s.labels, s.value])).toEqual([
      [{ level: 1 }, 20],
      // The remote nested calls go on on the server.
      [{ level: 2 }, 4],
      [{ level: 3 }, 1],
    ]);
    expect(builtIn.client["moleculer.request.error.total"]).toContainEqual(
      expect.objectContaining({
        labels: { service: "local", action: "local.fail", type: "local", caller: "gateway", errorName: "UnavailableError", errorCode: "UNAVAILABLE", errorType: "UNAVAILABLE" },
        value: 1,
      }),
    );
    const slow = builtIn.client["moleculer.request.time"]!.find((s) => (s.labels as { action: string }).action === "local.slow")!;
    expect(slow).toMatchObject({ count: 1, sum: 30, buckets: { 25: 0, 50: 1 } });
  });
});

describe("RequestMetricsMiddleware", () => {
  it("hashes no labels on a call once its series are resolved", async () => {
    const hashed: string[] = [];
    const proto = MetricTypes.Base.prototype;
    const plain = proto.hashingLabels;
    proto.hashingLabels = function (this: MetricTypes.Base<Record<string, unknown>>, labels?: Record<string, unknown>) {
      hashed.push(this.name);
      return plain.call(this, labels);
    };
    try {
      const count = async (variant: Variant) => {
        const { client, server } = await startPair(variant, { enabled: true, reporter: [] });
        try {
          await client.call("local.ok"); // resolves the series
          hashed.length = 0;
          for (let i = 0; i < 10; i++) await client.call("local.ok");
          return hashed.filter((name) => name.startsWith("moleculer.request")).length;
        } finally {
          await Promise.all([client.stop(), server.stop()]);
        }
      };
      // Moleculer 0.15: 9 a call (increment and decrement hash twice: get, then set).
      expect(await count("built-in")).toBeGreaterThan(0);
      expect(await count("core")).toBe(0);
    } finally {
      proto.hashingLabels = plain;
    }
  });

  it("does nothing when metrics are off", async () => {
    const broker = new ServiceBroker({ logger: false, metrics: false, middlewares: [RequestMetricsMiddleware()] });
    broker.createService({ name: "s", actions: { a: () => 1 } });
    await broker.start();
    try {
      expect(await broker.call("s.a")).toBe(1);
      expect(broker.metrics.list()).toEqual([]);
    } finally {
      await broker.stop();
    }
  });
});
