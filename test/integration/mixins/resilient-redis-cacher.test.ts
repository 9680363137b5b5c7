import { ServiceBroker } from "moleculer";
import { ResilientRedisCacher } from "../../../mixins/resilient-redis-cacher";
import { freePort } from "../../helpers/free-port";
import { testRedisPrefix } from "../../helpers/redis-prefix";
import { uniqueName } from "../../helpers/unique";
import { waitFor } from "../../helpers/wait";

const redis = testRedisPrefix("cacher");
const brokers: ServiceBroker[] = [];

interface CapturedLog {
  level: string;
  text: string;
}

function brokerWith(url: string, logs: CapturedLog[]): ServiceBroker {
  const broker = new ServiceBroker({
    namespace: uniqueName("cacher"),
    logger: false,
    cacher: new ResilientRedisCacher(url, redis.prefix),
  });
  // Capture what the node would print, to check it is one clear line and no stack trace.
  const logger = broker.cacher!.logger as unknown as Record<string, (...args: unknown[]) => void>;
  for (const level of ["warn", "error", "info"]) {
    logger[level] = (...args: unknown[]) => logs.push({ level, text: args.map((a) => (a instanceof Error ? a.stack : String(a))).join(" ") });
  }
  brokers.push(broker);
  return broker;
}

afterAll(async () => {
  await Promise.all(brokers.map((b) => b.stop().catch(() => undefined)));
  await redis.clean();
});

describe("ResilientRedisCacher", () => {
  it("caches in Redis under the configured prefix", async () => {
    const logs: CapturedLog[] = [];
    const broker = brokerWith(redis.url, logs);
    broker.createService({
      name: "calc",
      actions: {
        square: {
          cache: { keys: ["n"] },
          handler: (ctx: { params: { n: number } }) => ({ result: ctx.params.n ** 2, at: Math.random() }),
        },
      },
    });
    await broker.start();
    await waitFor(() => (broker.cacher as ResilientRedisCacher).connected, 5_000, "redis connection");
    const first = await broker.call("calc.square", { n: 7 });
    const second = await broker.call("calc.square", { n: 7 });
    expect(second).toEqual(first);
    const keys = await (broker.cacher as unknown as { client: { keys(p: string): Promise<string[]> } }).client.keys(`${redis.prefix}:*`);
    expect(keys.length).toBe(1);
  });

  it("with Redis down, calls still succeed uncached and the log says so in one line per retry", async () => {
    const logs: CapturedLog[] = [];
    const deadUrl = `redis://127.0.0.1:${await freePort()}`;
    const broker = brokerWith(deadUrl, logs);
    let runs = 0;
    broker.createService({
      name: "counter",
      actions: { next: { cache: true, handler: () => ++runs } },
    });
    await broker.start();
    expect(await broker.call("counter.next")).toBe(1);
    expect(await broker.call("counter.next")).toBe(2);
    await waitFor(() => logs.filter((l) => l.text.includes("retrying in")).length >= 2, 5_000, "retry log lines");
    const retry = logs.find((l) => l.text.includes("retrying in"))!;
    expect(retry.level).toBe("warn");
    expect(retry.text).toMatch(/^Redis at redis:\/\/127\.0\.0\.1:\d+ is unreachable \((ECONNREFUSED|no answer)\); retrying in \d+\.\d s \(attempt \d+\)$/);
    expect(logs.some((l) => /\n\s+at /.test(l.text))).toBe(false);
  });
});
