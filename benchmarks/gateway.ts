import autocannon from "autocannon";
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { BARE_PRINCIPAL, type ServerReady } from "./gateway-server";
import { cleanRedis, dropSchema } from "./bench-cleanup";
import { byRound, median, newReport, pairedMedian, saveReport, type Row } from "./report";
import { numbersEnv } from "./bench-env";
import { cpuTimeUs } from "./process-cpu";

/**
 * An authenticated cheap route through CORE's whole HTTP pipeline against a
 * bare moleculer-web route, side by side in one run. CORE: `GET
 * /api/v1/auth/me` with a viewer's access token, on a node configured as a
 * production gateway (CORE_ENV=production, NATS, Redis-backed rate limits,
 * PostgreSQL), so each request takes: request id, security headers, JWT
 * verification, the rate limit (its tokens from Redis, a few per round trip for a
 * busy principal: lib/ratelimit/token-leases.ts), the route's schemas, the
 * RBAC middleware and the action call. Bare: a plain broker with moleculer-web
 * and one alias whose action answers an object of the same shape. Each server
 * runs in a process of its own (benchmarks/gateway-server.ts); the load
 * generator (autocannon) runs here.
 *
 * Knobs: X_QUICK (shorter, 1 and 64 connections), X_CONNECTIONS=1,64,
 * X_ROUNDS=3, X_VARIANTS (CORE with parts turned off, or bare with work added, beside the two: see
 * DIAGNOSTIC_VARIANTS), X_PROFILE=core,bare,<variant> (`--cpu-prof` on those
 * servers; read the profiles with benchmarks/cpu-profile.ts), X_BASELINE=<the
 * dist directory of another build> (that build's CORE beside this one, as the
 * variant `baseline`: a change measured side by side with the code before it).
 */

const PATH = "/api/v1/auth/me";
const CONNECTIONS = numbersEnv("X_CONNECTIONS", process.env.X_QUICK ? [1, 64] : [1, 16, 64]);
const ROUNDS = process.env.X_ROUNDS ? Number(process.env.X_ROUNDS) : process.env.X_QUICK ? 3 : 9;
/** autocannon's duration is whole seconds. */
const RUN_S = process.env.X_QUICK ? 2 : 3;
/** Each round's fresh servers warm up (JIT, pools) at the round's load for this long before the measured run. */
const WARM_S = process.env.X_QUICK ? 1 : 3;
/** A bucket no run can empty (a run sends well under a million requests), so every request's token comes out of it in Redis and none is refused. */
const BUCKET = { capacity: 1_000_000_000, refillPerSecond: 1 };

interface Target {
  /** "bare", "core", or "core, <diagnostic variant>". */
  variant: string;
  child: ChildProcess;
  url: string;
  headers: Record<string, string>;
  /** Whether its answers carry the rate limiter's headers. */
  limited: boolean;
  /** 2xx answers this target gave the load generator, warm-up included. */
  answered: number;
}

interface RunResult {
  rate: number;
  p50us: number;
  p99us: number;
  /** The server process's CPU time (user + system) per answered request, when /proc tells it. */
  serverCpuUs: number | undefined;
}

/** Starts one server in its own process (with --cpu-prof when X_PROFILE names it) and waits for its `ready` line. */
function startServer(
  variant: "bare" | "core",
  env: Record<string, string> | undefined,
  profileDir: string | undefined,
  name: string = variant,
  switches: readonly string[] = [],
  dist: string = join(__dirname, ".."),
): Promise<{ child: ChildProcess; ready: ServerReady }> {
  const profile = profileDir ? ["--cpu-prof", `--cpu-prof-dir=${profileDir}`, `--cpu-prof-name=gateway-${name.replace(/\W+/g, "-")}.cpuprofile`] : [];
  const script = join(dist, "benchmarks", "gateway-server.js");
  const child = spawn(process.execPath, [...profile, script, variant, JSON.stringify(env ?? {}), switches.join(",")], { stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolve, reject) => {
    let out = "";
    let started = false;
    child.stdout!.on("data", (chunk: Buffer) => {
      // The node's own log lines go on to stderr: a line per request would show here.
      if (started) return void process.stderr.write(chunk);
      out += chunk.toString();
      const m = /^ready (\{.*\})$/m.exec(out);
      if (!m) return;
      started = true;
      process.stderr.write(out.replace(m[0], "").replace(/^\n+/, ""));
      resolve({ child, ready: JSON.parse(m[1]!) as ServerReady });
    });
    child.once("exit", (code) => reject(new Error(`the ${name} server exited with ${code}`)));
  });
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  await exited;
}

async function login(url: string, email: string, password: string): Promise<string> {
  const res = await fetch(`${url}/api/v1/auth/login`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ email, password }) });
  const body = (await res.json()) as { accessToken?: string };
  if (res.status !== 200 || !body.accessToken) throw new Error(`login answered ${res.status}: ${JSON.stringify(body)}`);
  return body.accessToken;
}

/** One request as the load generator sends it: 200, the principal's shape, and for CORE the limiter's headers (the proof that its Redis round trip is in the path). */
async function probe(target: Target): Promise<{ remaining: number | undefined }> {
  const res = await fetch(`${target.url}${PATH}`, { headers: target.headers });
  const body = (await res.json()) as { id?: unknown; kind?: unknown; roles?: unknown };
  // Both answer the same shape: CORE's auth.me for the viewer, the bare route a fixed object like it.
  const sameShape = JSON.stringify(Object.keys(body)) === JSON.stringify(Object.keys(BARE_PRINCIPAL)) && typeof body.id === "string";
  if (res.status !== 200 || !sameShape || body.kind !== "user" || JSON.stringify(body.roles) !== '["viewer"]') {
    throw new Error(`${target.variant}: GET ${PATH} answered ${res.status} ${JSON.stringify(body)}`);
  }
  if (!target.limited) return { remaining: undefined };
  const limit = res.headers.get("ratelimit-limit");
  const remaining = Number(res.headers.get("ratelimit-remaining"));
  if (limit !== String(BUCKET.capacity) || !Number.isFinite(remaining)) {
    throw new Error(`core: GET ${PATH} without the rate limiter's headers (RateLimit-Limit ${limit}, RateLimit-Remaining ${res.headers.get("ratelimit-remaining")})`);
  }
  return { remaining };
}

/** One autocannon run: `connections` keep-alive connections, each sending its next request when the last is answered. Latencies from each response's own clock (µs precision). */
async function drive(target: Target, connections: number, seconds: number): Promise<RunResult> {
  const latencies: number[] = [];
  const cpu0 = cpuTimeUs(target.child.pid);
  const t0 = process.hrtime.bigint();
  const run = autocannon({ url: `${target.url}${PATH}`, connections, duration: seconds, headers: target.headers }, () => undefined);
  run.on("response", (_client, status, _bytes, ms) => {
    if (status >= 200 && status < 300) latencies.push(ms * 1000);
  });
  const result = await new Promise<autocannon.Result>((resolve) => run.once("done", resolve));
  const elapsed = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu1 = cpuTimeUs(target.child.pid);
  if (result.non2xx || result.errors || result.timeouts) {
    throw new Error(`${target.variant} at ${connections} connections: ${result.non2xx} non-2xx (${JSON.stringify(result.statusCodeStats)}), ${result.errors} errors, ${result.timeouts} timeouts`);
  }
  target.answered += latencies.length;
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * q))]!;
  const serverCpuUs = cpu0 === undefined || cpu1 === undefined ? undefined : (cpu1 - cpu0) / latencies.length;
  return { rate: latencies.length / elapsed, p50us: at(0.5), p99us: at(0.99), serverCpuUs };
}



/**
 * CORE set up otherwise, to see what a part of the pipeline costs; run beside
 * the two above when X_VARIANTS names them (e.g. X_VARIANTS=metrics-off,no-rate-limit).
 */
interface VariantSpec {
  what: string;
  env?: Record<string, string>;
  /** The configuration file's rateLimits; default: `{ default: BUCKET }`. */
  rateLimits?: object;
  /** Variables of the production environment left out. */
  drop?: string[];
  /** Diagnostic switches of benchmarks/gateway-server.ts. */
  switches?: string[];
  /** A bare server rather than CORE (a calibration: bare plus a known amount of work). */
  bare?: boolean;
  /** The dist directory of the build to run (X_BASELINE); this build's by default. */
  dist?: string;
}

const DIAGNOSTIC_VARIANTS: Record<string, VariantSpec> = {
  "metrics-off": { what: "CORE_METRICS=false", env: { CORE_METRICS: "false" } },
  "no-rate-limit": { what: "no rate limit configured (no Redis round trip)", rateLimits: {} },
  "memory-rate-limit": { what: "rate limits in memory (no REDIS_URL)", drop: ["REDIS_URL", "CORE_REDIS_PREFIX"] },
  "redis-autopipelining": { what: "ioredis auto-pipelining on (rate-limit commands issued in one event-loop turn share one write to Redis)", switches: ["redis-autopipelining"] },
  "metrics-no-quantiles": { what: "metrics on, but every histogram registered without quantiles (Moleculer keeps each observed value for 60 s to compute them)", switches: ["metrics-no-quantiles"] },
  "exact-rate-limit": { what: "every request's token taken from Redis on its own (no leases, lib/ratelimit/token-leases.ts)", switches: ["exact-rate-limit"] },
  "log-warn": { what: "CORE_LOG_LEVEL=warn", env: { CORE_LOG_LEVEL: "warn" } },
  embedded: { what: "no NATS", drop: ["NATS_URL"] },
  // Calibration: what a given amount of extra work per request costs bare at this throughput, on this machine.
  "bare+5us": { what: "bare moleculer-web whose action also spins 5 µs of CPU per request", bare: true, switches: ["work-5us"] },
  "bare+10us": { what: "bare moleculer-web whose action also spins 10 µs of CPU per request", bare: true, switches: ["work-10us"] },
  minimal: { what: "metrics off, no rate limit, log level warn, no NATS: what is left is the pipeline's own code (request id, headers, JWT, schemas, RBAC and CORE's broker middlewares)", env: { CORE_METRICS: "false", CORE_LOG_LEVEL: "warn" }, rateLimits: {}, drop: ["NATS_URL"] },
};

export async function runGatewayBenchmark(): Promise<void> {
  const natsUrl = process.env.NATS_URL ?? "nats://127.0.0.1:4222";
  const redisUrl = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
  const databaseUrl = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
  const profiled = process.env.X_PROFILE?.split(",") ?? [];
  const diagnostics = (process.env.X_VARIANTS?.split(",") ?? []).filter(Boolean);
  for (const d of diagnostics) if (!DIAGNOSTIC_VARIANTS[d]) throw new Error(`X_VARIANTS: no variant ${d} (known: ${Object.keys(DIAGNOSTIC_VARIANTS).join(", ")})`);
  const variants: Record<string, VariantSpec> = { ...DIAGNOSTIC_VARIANTS };
  const baseline = process.env.X_BASELINE;
  if (baseline) {
    if (!existsSync(join(baseline, "benchmarks", "gateway-server.js"))) throw new Error(`X_BASELINE: no benchmarks/gateway-server.js in ${baseline} (the dist directory of a build)`);
    variants.baseline = { what: `CORE as built in ${baseline}, set up as the main CORE server`, dist: baseline };
    diagnostics.push("baseline");
  }
  const report = newReport(
    "gateway",
    `GET ${PATH} with a viewer's access token through CORE's HTTP pipeline (request id, security headers, JWT verification, rate limit in Redis, route schemas, RBAC middleware, the auth.me action) ` +
      `vs the same route on a bare moleculer-web (a plain broker with default options, no transporter, no authentication; the action answers an object of the same shape). ` +
      `CORE runs as a production gateway: CORE_ENV=production, services api, auth and audit, NATS ${natsUrl}, Redis ${redisUrl} (rate limits; own key prefix), PostgreSQL ${databaseUrl.replace(/\/\/[^@/]*@/, "//")} (own schema), metrics on, log level info. ` +
      `Each server in a process of its own, the load generator (autocannon, keep-alive connections, one request in flight per connection) in the benchmark's process; ` +
      `${ROUNDS} rounds in alternating order, each with fresh server processes warmed for ${WARM_S} s at the round's load, then ${RUN_S} s per run; medians.`,
  );

  const loadAtStart = loadavg()[0]!.toFixed(1);
  const tag = `${process.pid}_${randomBytes(3).toString("hex")}`;
  const dir = mkdtempSync(join(tmpdir(), "core-bench-gateway-"));
  const profileDir = profiled.length ? mkdtempSync(join(tmpdir(), "core-bench-gateway-profile-")) : undefined;
  const names = ["core", ...diagnostics.map((d) => (variants[d]!.bare ? d : `core, ${d}`))];
  const schemas = names.map((_, i) => `bench_gateway_${tag}_${i}`);
  const prefixes = names.map((_, i) => `bench-gateway-${tag}-${i}`);
  const rows: Row[] = [];
  const diagnosticRows: Row[] = [];
  /** Requests each variant answered, by process: the profiles' divisor. */
  const answeredBy: string[] = [];
  const bucket = { taken: 0, refilled: 0, answered: 0 };
  const specOf = (i: number): VariantSpec => (i === 0 ? { what: "" } : variants[diagnostics[i - 1]!]!);
  const limits = (i: number) => specOf(i).rateLimits === undefined;
  const coreEnv = (i: number): Record<string, string> => {
    const spec = specOf(i);
    const configFile = join(dir, `core-${i}.json`);
    writeFileSync(configFile, JSON.stringify({ rateLimits: spec.rateLimits ?? { default: BUCKET } }));
    const env: Record<string, string> = {
      CORE_ENV: "production",
      CORE_JWT_SECRET: randomBytes(48).toString("base64"),
      CORE_CONFIG: configFile,
      CORE_NODE_ID: `bench-gateway-${i}`,
      CORE_NAMESPACE: `bench-gateway-${tag}-${i}`.replace(/_/g, "-"),
      CORE_API_PORT: "0",
      CORE_METRICS_PORT: "0",
      CORE_LOG_LEVEL: "info",
      NATS_URL: natsUrl,
      REDIS_URL: redisUrl,
      CORE_REDIS_PREFIX: prefixes[i]!,
      DATABASE_URL: databaseUrl,
      CORE_DB_SCHEMA: schemas[i]!,
      ...spec.env,
    };
    for (const key of spec.drop ?? []) delete env[key];
    return env;
  };
  /** Every variant's server, started afresh (its profile, when asked for, named after the cell and round). */
  const startTargets = async (cell: string): Promise<Target[]> => {
    const targets: Target[] = [];
    const profile = (variant: string) => (profiled.includes(variant) ? profileDir : undefined);
    try {
      const bare = await startServer("bare", undefined, profile("bare"), `bare-${cell}`);
      targets.push({ variant: "bare", child: bare.child, url: bare.ready.url, headers: {}, limited: false, answered: 0 });
      for (const [i, name] of names.entries()) {
        const prof = profile(i === 0 ? "core" : diagnostics[i - 1]!);
        if (specOf(i).bare) {
          const calibration = await startServer("bare", undefined, prof, `${name}-${cell}`, specOf(i).switches);
          targets.push({ variant: name, child: calibration.child, url: calibration.ready.url, headers: {}, limited: false, answered: 0 });
          continue;
        }
        const core = await startServer("core", coreEnv(i), prof, `${name}-${cell}`, specOf(i).switches, specOf(i).dist);
        const token = await login(core.ready.url, core.ready.email!, core.ready.password!);
        targets.push({ variant: name, child: core.child, url: core.ready.url, headers: { authorization: `Bearer ${token}` }, limited: limits(i), answered: 0 });
      }
      return targets;
    } catch (err) {
      await Promise.all(targets.map((t) => stopChild(t.child)));
      throw err;
    }
  };
  try {
    for (const connections of CONNECTIONS) {
      const runs = new Map<string, RunResult[]>([["bare", []], ...names.map((n): [string, RunResult[]] => [n, []])]);
      for (let round = 0; round < ROUNDS; round++) {
        // Fresh server processes every round: two processes running the same code differ by several
        // per cent on this VM, which one process per variant for the whole run would turn into a bias.
        const targets = await startTargets(`c${connections}-r${round}`);
        try {
          const coreTarget = targets[1]!;
          for (const target of targets) await probe(target);
          const before = (await probe(coreTarget)).remaining!;
          const started = Date.now();
          // Rotating order: each variant goes first as often as the others (with two, alternating).
          const order = targets.map((_, i) => targets[(i + round) % targets.length]!);
          // Warm-up at this cell's load: JIT, connection pools (Redis, PostgreSQL), the token's first verification.
          for (const target of order) await drive(target, connections, WARM_S);
          for (const target of order) {
            runs.get(target.variant)!.push(await drive(target, connections, RUN_S));
            process.stderr.write(".");
          }
          // Every request took a token from the principal's bucket in Redis (refill: 1 token/s).
          bucket.taken += before - (await probe(coreTarget)).remaining!;
          bucket.refilled += Math.ceil(((Date.now() - started) / 1000) * BUCKET.refillPerSecond);
          bucket.answered += coreTarget.answered;
          for (const t of targets) answeredBy.push(`${t.variant} ${connections}/${round} ${t.answered}`);
        } finally {
          await Promise.all(targets.map((t) => stopChild(t.child)));
        }
      }
      const summary = (rs: RunResult[]) => ({
        rate: median(rs.map((r) => r.rate)),
        p50: median(rs.map((r) => r.p50us)),
        p99: median(rs.map((r) => r.p99us)),
        cpu: rs.every((r) => r.serverCpuUs !== undefined) ? median(rs.map((r) => r.serverCpuUs!)) : undefined,
        byRound: rs.map((r) => Math.round(r.rate)).join(" / "),
      });
      const [bareRuns, coreRuns] = [runs.get("bare")!, runs.get("core")!];
      const [b, c] = [summary(bareRuns), summary(coreRuns)];
      // Each round's runs are back to back on fresh processes: the ratios and differences are taken per round, then their median.
      const ratioTo = (rs: RunResult[], base: RunResult[]) => `${(pairedMedian(rs, base, (x, y) => x.rate / y.rate) * 100).toFixed(1)} %`;
      const cpu = (x: number | undefined) => (x === undefined ? "–" : Math.round(x));
      rows.push({
        connections,
        "bare req/s": Math.round(b.rate),
        "CORE req/s": Math.round(c.rate),
        "CORE / bare": ratioTo(coreRuns, bareRuns),
        "bare p50 µs": Math.round(b.p50),
        "CORE p50 µs": Math.round(c.p50),
        "added p50 µs": Math.round(pairedMedian(coreRuns, bareRuns, (x, y) => x.p50us - y.p50us)),
        "added µs per request": pairedMedian(coreRuns, bareRuns, (x, y) => 1e6 / x.rate - 1e6 / y.rate).toFixed(1),
        "bare p99 µs": Math.round(b.p99),
        "CORE p99 µs": Math.round(c.p99),
        "bare server CPU µs/req": cpu(b.cpu),
        "CORE server CPU µs/req": cpu(c.cpu),
        "bare req/s by round": b.byRound,
        "CORE req/s by round": c.byRound,
        "CORE / bare by round": byRound(coreRuns, bareRuns, (x, y) => x.rate / y.rate).map((r) => `${(r * 100).toFixed(0)} %`).join(" / "),
      });
      for (const name of names.slice(1)) {
        const rs = runs.get(name)!;
        const d = summary(rs);
        diagnosticRows.push({
          variant: name,
          connections,
          "req/s": Math.round(d.rate),
          "vs bare": ratioTo(rs, bareRuns),
          "vs CORE": ratioTo(rs, coreRuns),
          "p50 µs": Math.round(d.p50),
          "p99 µs": Math.round(d.p99),
          "server CPU µs/req": cpu(d.cpu),
          "CPU vs CORE µs/req": d.cpu === undefined || c.cpu === undefined ? "–" : Math.round(d.cpu - c.cpu),
          "req/s by round": d.byRound,
        });
      }
    }
    process.stderr.write("\n");
    if (bucket.taken + bucket.refilled < bucket.answered) throw new Error(`the rate limiter took ${bucket.taken} tokens for ${bucket.answered} requests: not every request went through it`);
    report.notes.push(
      `Rate limit in the path: the viewers' buckets (rateLimits.default, capacity ${BUCKET.capacity.toLocaleString("en")}, refill ${BUCKET.refillPerSecond}/s; a viewer per CORE process) lost ${bucket.taken} tokens over ${bucket.answered} answered requests (plus the probes), ${bucket.refilled} refilled meanwhile: every request's token came out of its bucket in Redis (one per round trip, or leased a few at a time: lib/ratelimit/token-leases.ts); every answer was 200 with the RateLimit-Limit header.`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await Promise.all(prefixes.map((prefix) => cleanRedis(redisUrl, prefix).catch((err: unknown) => console.error(err))));
    await Promise.all(schemas.map((schema) => dropSchema(databaseUrl, schema).catch((err: unknown) => console.error(err))));
    if (profileDir) console.error(`CPU profiles in ${profileDir}; requests answered (variant connections/round count): ${answeredBy.join(", ")}`);
  }

  const load = loadavg()[0]!.toFixed(1);
  report.tables.push({ title: `GET ${PATH}: CORE's full pipeline vs bare moleculer-web`, rows });
  if (diagnosticRows.length) report.tables.push({ title: "CORE with parts turned off, bare with work added (X_VARIANTS)", rows: diagnosticRows });
  report.notes.unshift("Goal: CORE keeps at least 80 % of bare throughput.");
  report.notes.push(
    "Bare: Moleculer's default broker options except `logger: false` (with the default console logger moleculer-web prints two lines per request); moleculer-web's default route settings but `mappingPolicy: \"restrict\"`, as CORE's routes. CORE's answer carries 9 more headers (6 security headers, 3 RateLimit-*), 604 bytes in all against 300, the bodies being the same size; its request carries a bearer token of about 340 bytes.",
    "added µs per request = 1e6 / CORE req/s − 1e6 / bare req/s. With N connections a request waits behind the other N − 1, so its p50 is about N × the time per request.",
    "The load generator (autocannon, in the benchmark's process) shares the machine's 2 cores with the server, Redis and PostgreSQL: where bare is limited by the load generator rather than its server, the ratio understates what CORE costs the server alone.",
    "Server CPU µs/req: user + system time of the server process (all its threads: V8's GC and compiler too) from /proc/<pid>/stat over the run, divided by the requests answered. The kernel counts it in 10 ms ticks: an estimate, steady over a run of thousands of requests. At 1 connection the server sleeps between short bursts, each starting on caches that other processes used meanwhile: the same code then takes about twice the CPU it takes at 64 connections (CPU profiles of the server agree).",
    `The machine was shared with other work: load average (1 min) ${loadAtStart} at the start, ${load} at the end, on 2 cores. Rounds vary by 2× and more (the 'by round' columns); the calls/s, p50 and CPU columns are each variant's own median, CORE / bare and the added columns the median of each round's ratio or difference.`,
  );
  for (const [i, d] of diagnostics.entries()) report.notes.push(`${names[i + 1]}: ${variants[d]!.what}.`);
  saveReport(report);
}
