import { randomBytes } from "node:crypto";
import type { AddressInfo, Server } from "node:net";
import { MetricTypes, ServiceBroker } from "moleculer";
import ApiGateway from "moleculer-web";
import type { Env } from "../config";
import type { SharedStore } from "../lib/coordination/shared-store";
import { TokenLeases } from "../lib/ratelimit/token-leases";
import { startNode } from "../node";

/**
 * The server side of benchmarks/gateway, in a process of its own so that the
 * load generator (autocannon, in the benchmark's process) does not share its
 * event loop:
 *
 * - `core <env as JSON>`: a CORE node with the services api, auth and audit,
 *   started from exactly that environment; it creates one viewer (an
 *   in-cluster call without a principal, as `core users create` does) whose
 *   e-mail and password it prints for the benchmark to log in over HTTP.
 * - `bare`: a plain Moleculer broker (default options, logger off, no
 *   transporter) with moleculer-web and one route, `GET /api/v1/auth/me`,
 *   whose action answers the same kind of object as CORE's `auth.me`.
 *
 * A third argument lists diagnostic switches, comma-separated (benchmarks/gateway's
 * X_VARIANTS): `redis-autopipelining` turns on ioredis's auto-pipelining for
 * every Redis client of the node (commands issued in one event-loop turn share
 * one write), which CORE does not configure; `metrics-no-quantiles` registers
 * every histogram without quantiles (Moleculer's request-time histograms keep
 * each sample for a minute to compute them); `exact-rate-limit` takes every
 * request's token from Redis on its own, as before lib/ratelimit/token-leases.ts;
 * `work-<n>us` makes the bare action spin n µs of CPU (a calibration: what that
 * much work per request costs at bare's throughput).
 *
 * Prints `ready {json}` once listening; stops on SIGTERM.
 */

/** What `auth.me` answers for a viewer: the bare route sends an object of the same shape and size. */
export const BARE_PRINCIPAL = { id: "00000000-0000-4000-8000-000000000000", kind: "user", roles: ["viewer"] };

export interface ServerReady {
  url: string;
  email?: string;
  password?: string;
}

function listenUrl(server: Server | undefined): string {
  const address = server?.address() as AddressInfo | null | undefined;
  if (!address) throw new Error("the API server is not listening");
  return `http://127.0.0.1:${address.port}`;
}

/** Keeps the CPU busy for `us` µs (a calibration's stand-in for work). */
function spin(us: number): void {
  const until = process.hrtime.bigint() + BigInt(Math.round(us * 1000));
  while (process.hrtime.bigint() < until);
}

async function startBare(workUs: number): Promise<{ ready: ServerReady; stop: () => Promise<void> }> {
  const broker = new ServiceBroker({ nodeID: "bench-gateway-bare", logger: false });
  broker.createService({ name: "bare", actions: { me: workUs > 0 ? () => (spin(workUs), BARE_PRINCIPAL) : () => BARE_PRINCIPAL } });
  const api = broker.createService({
    name: "api",
    mixins: [ApiGateway],
    settings: { port: 0, ip: "127.0.0.1", routes: [{ path: "/api/v1", mappingPolicy: "restrict", aliases: { "GET auth/me": "bare.me" } }] },
  });
  await broker.start();
  return { ready: { url: listenUrl((api as unknown as { server?: Server }).server) }, stop: () => broker.stop() };
}

async function startCore(env: Env): Promise<{ ready: ServerReady; stop: () => Promise<void> }> {
  const node = await startNode({ env, services: ["api", "auth", "audit"], command: "bench-gateway" });
  const email = `bench-${randomBytes(4).toString("hex")}@example.com`;
  const password = randomBytes(18).toString("base64url");
  await node.broker.call("auth.createUser", { email, password, role: "viewer" });
  const url = node.endpoints.api;
  if (!url) throw new Error("the CORE node has no API endpoint");
  return { ready: { url: url.replace("//[::]", "//127.0.0.1"), email, password }, stop: () => node.stop() };
}

/** ioredis's defaults, which every client created afterwards starts from. */
function enableRedisAutoPipelining(): void {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { DEFAULT_REDIS_OPTIONS } = require("ioredis/built/redis/RedisOptions") as { DEFAULT_REDIS_OPTIONS: { enableAutoPipelining: boolean } };
  DEFAULT_REDIS_OPTIONS.enableAutoPipelining = true;
}

/** Histograms without quantiles: Moleculer's TimeWindowQuantiles keeps every observed value for its window (60 s). */
function dropHistogramQuantiles(): void {
  type MetricClass = new (opts: Record<string, unknown>, registry: unknown) => object;
  const types = MetricTypes as unknown as { Histogram: MetricClass; resolve(type: string): MetricClass };
  const resolve = types.resolve.bind(types);
  class HistogramWithoutQuantiles extends types.Histogram {
    constructor(opts: Record<string, unknown>, registry: unknown) {
      super({ ...opts, quantiles: false }, registry);
    }
  }
  // The registry looks the class up on this object for each metric it registers.
  types.resolve = (type) => (String(type).toLowerCase() === "histogram" ? HistogramWithoutQuantiles : resolve(type));
}

/** Every take straight to the store: one Redis round trip per request. */
function exactRateLimits(): void {
  TokenLeases.prototype.takeTokens = function (this: TokenLeases, takes) {
    return (this as unknown as { store: SharedStore }).store.takeTokens(takes);
  };
}

async function main(): Promise<void> {
  const [variant, envJson, switches] = process.argv.slice(2);
  const on = new Set(switches?.split(",") ?? []);
  if (on.has("redis-autopipelining")) enableRedisAutoPipelining();
  if (on.has("metrics-no-quantiles")) dropHistogramQuantiles();
  if (on.has("exact-rate-limit")) exactRateLimits();
  const work = [...on].map((s) => /^work-(\d+)us$/.exec(s)).find(Boolean);
  const server = variant === "core" ? await startCore(JSON.parse(envJson ?? "{}") as Env) : await startBare(work ? Number(work[1]) : 0);
  // process.exit (not a signal's default) so that --cpu-prof writes its profile.
  process.on("SIGTERM", () => void server.stop().finally(() => process.exit(0)));
  console.log(`ready ${JSON.stringify(server.ready)}`);
}

// Only when run as the server: benchmarks/gateway imports this file for BARE_PRINCIPAL.
if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
