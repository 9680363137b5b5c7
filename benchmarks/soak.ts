import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createWriteStream, mkdtempSync, rmSync, writeFileSync, type WriteStream } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { connect } from "nats";
import type { Consultation } from "../lib/circle/consultation";
import { coreSubjects } from "../lib/transport/subjects";
import { cleanRedis, dropSchema } from "./bench-cleanup";
import { QUESTION } from "./consult-provider";
import { median, newReport, saveReport, type Row } from "./report";
import { inspectAfterGc, scrapeNode, socketsByPeer, type InspectedSample, type ProcessSample, type SocketPeers } from "./soak-probe";
import { intEnv } from "./bench-env";
import { runCommand } from "./bench-process";

/**
 * `npm run soak`: SOAK_CONSULTS (default 100 000) consults through REST `POST
 * /api/v1/consult` on one CORE node, at a fixed concurrency, the cache
 * bypassed so each does the whole work (five expert calls, consensus, store
 * write, audit row). Goals: RSS and heap after warm-up grow less than 10 %;
 * open handles and sockets return to their starting count once the load stops.
 *
 * The node is `core start` with the default services in a process of its own,
 * set up as a production node (SOAK_SETUP=clustered, the default: CORE_ENV=production,
 * NATS, Redis and PostgreSQL of the machine under a namespace, subject prefix,
 * Redis prefix and schema of its own, metrics on, log level info) or embedded
 * (SOAK_SETUP=embedded: no NATS or Redis, PGlite in a temporary directory).
 * Requests carry an API key made with `core keys create`. Five experts are
 * answered by fixed-latency OpenAI-compatible servers (benchmarks/consult-provider.ts)
 * in another process; the client is this process (fetch, keep-alive).
 *
 * Phases: warm-up (the first SOAK_WARMUP consults, default 10 %), a pause of
 * SOAK_IDLE_MS and the start checkpoint, the measured consults, a pause and the
 * end checkpoint. The node is sampled every SOAK_SAMPLE_MS from its /metrics
 * (and /proc for sockets); a checkpoint forces a full GC through the node's
 * inspector and reads memory and handles at that instant (benchmarks/soak-probe.ts).
 *
 * Knobs: SOAK_CONSULTS, SOAK_CONCURRENCY (16), SOAK_WARMUP, SOAK_SETUP,
 * SOAK_SAMPLE_MS (5000), SOAK_IDLE_MS (65000), SOAK_SETTLE_MS (30000),
 * SOAK_GC=false (no inspector; checkpoints then read /metrics after the idle pause).
 */

const LATENCIES_MS = [20, 25, 30, 35, 40];
const SLOWEST_MS = Math.max(...LATENCIES_MS);
const GROWTH_LIMIT = 0.1;
/** Moleculer's metrics collectInterval (5 s), at which process_memory_* and process_internal_active_handles are refreshed. */
const METRICS_REFRESH_MS = 5_000;

interface Settings {
  consults: number;
  concurrency: number;
  warmup: number;
  setup: "clustered" | "embedded";
  sampleMs: number;
  idleMs: number;
  settleMs: number;
  gc: boolean;
}

function readSettings(): Settings {
  const consults = intEnv("SOAK_CONSULTS", 100_000);
  const setup = process.env.SOAK_SETUP ?? "clustered";
  if (setup !== "clustered" && setup !== "embedded") throw new Error(`SOAK_SETUP: received ${JSON.stringify(setup)}; expected clustered or embedded`);
  const warmup = intEnv("SOAK_WARMUP", Math.round(consults / 10), 0);
  if (warmup >= consults) throw new Error(`SOAK_WARMUP (${warmup}) must be below SOAK_CONSULTS (${consults})`);
  return {
    consults,
    concurrency: intEnv("SOAK_CONCURRENCY", 16),
    warmup,
    setup,
    sampleMs: intEnv("SOAK_SAMPLE_MS", 5_000, 100),
    // Longer than the longest keep-alive in the node: its connections to the experts stay open for the
    // stub servers' 60 s keep-alive hint (less 2 s), then close; pg's pool idles out after 10 s, fetch's after 4 s.
    idleMs: intEnv("SOAK_IDLE_MS", 65_000, 0),
    settleMs: intEnv("SOAK_SETTLE_MS", 30_000, 0),
    gc: process.env.SOAK_GC !== "false",
  };
}

/** A sample of the node during the load: how many consults had finished when it was taken. */
interface SeriesPoint extends ProcessSample {
  atMs: number;
  consultsDone: number;
}

interface Checkpoint extends ProcessSample {
  resources?: Record<string, number>;
  /** Open sockets by what they are for (socketsByPeer). */
  peers?: Record<string, number>;
  /** "after forced GC (inspector)" or "from /metrics". */
  how: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const mb = (bytes: number) => (bytes / 2 ** 20).toFixed(1);
const pct = (x: number) => `${x >= 0 ? "+" : ""}${(x * 100).toFixed(1)} %`;

function quantile(sorted: Float64Array, q: number): number {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))]!;
}

/** Starts a child whose output goes to `log`, resolving with the first match of `ready` in it. */
function startChild(args: string[], env: NodeJS.ProcessEnv, ready: RegExp, what: string, log?: WriteStream): Promise<{ child: ChildProcess; match: RegExpMatchArray; output: () => string }> {
  const child = spawn(process.execPath, args, { env, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  return new Promise((resolve, reject) => {
    let done = false;
    const onData = (chunk: Buffer) => {
      log?.write(chunk);
      if (done) return;
      out += chunk.toString();
      const m = ready.exec(out);
      if (!m) return;
      done = true;
      resolve({ child, match: m, output: () => out });
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.once("exit", (code) => {
      if (!done) reject(new Error(`${what} exited with ${code}:\n${out.slice(-4000)}`));
    });
  });
}


async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  await exited;
}

/** The failure code of one consult: CORE's error code from the body, else the HTTP status or the network error. */
async function consultOnce(url: string, apiKey: string, body: string): Promise<string | undefined> {
  let res: Response;
  try {
    res = await fetch(url, { method: "POST", headers: { "content-type": "application/json", "x-api-key": apiKey }, body });
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause;
    return `network: ${cause?.code ?? (err as Error).message}`;
  }
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return `HTTP ${res.status}, not JSON`;
  }
  if (res.status !== 200) {
    const j = json as { code?: string; error?: { code?: string } };
    return `HTTP ${res.status} ${j.code ?? j.error?.code ?? ""}`.trim();
  }
  const c = json as Consultation;
  const answered = c.outcomes?.filter((o) => o.status === "answered").length;
  if (c.status !== "completed" || answered !== LATENCIES_MS.length || c.consensus?.vote?.answer !== "paris") return `200 but ${c.status}, ${answered} answered`;
  return undefined;
}

/** The node's processes and addresses, and what to remove after the run. */
interface SoakNode {
  child: ChildProcess;
  api: string;
  metricsUrl: string;
  inspectorUrl: string | undefined;
  env: NodeJS.ProcessEnv;
}

interface PhaseResult {
  latencies: Float64Array;
  done: number;
  failures: Map<string, number>;
  ms: number;
}

/**
 * `count` consults by `concurrency` callers back to back (closed loop), the
 * callers started spread over one consult's time. Calls `onDone` after each.
 */
async function drive(count: number, concurrency: number, call: () => Promise<string | undefined>, onDone: (failed: boolean) => void): Promise<PhaseResult> {
  const latencies = new Float64Array(count);
  const failures = new Map<string, number>();
  let started = 0;
  let done = 0;
  const t0 = Date.now();
  await Promise.all(
    Array.from({ length: Math.min(concurrency, count) }, async (_, i) => {
      await sleep((i * SLOWEST_MS) / concurrency);
      while (started < count) {
        const k = started++;
        const h0 = process.hrtime.bigint();
        const failure = await call();
        latencies[k] = Number(process.hrtime.bigint() - h0) / 1e6;
        done++;
        if (failure) failures.set(failure, (failures.get(failure) ?? 0) + 1);
        onDone(failure !== undefined);
        // A node that refuses everything would otherwise be hammered for the whole run.
        const failed = [...failures.values()].reduce((s, n) => s + n, 0);
        if (done >= 200 && failed > done / 2) {
          started = count; // the other callers stop after their current consult
          throw new Error(`more than half the consults failed (${failed} of ${done}): ${JSON.stringify(Object.fromEntries(failures))}`);
        }
      }
    }),
  );
  return { latencies, done, failures, ms: Date.now() - t0 };
}

export async function runSoak(): Promise<void> {
  const s = readSettings();
  const natsUrl = process.env.NATS_URL ?? "nats://127.0.0.1:4222";
  const redisUrl = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
  const databaseUrl = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
  const clustered = s.setup === "clustered";
  const loadAtStart = loadavg()[0]!.toFixed(1);
  const tag = `${process.pid}-${randomBytes(3).toString("hex")}`;
  const dir = mkdtempSync(join(tmpdir(), "core-soak-"));
  const schema = `soak_${tag.replace(/-/g, "_")}`;
  const redisPrefix = `soak-${tag}:`;
  const subjects = coreSubjects(`soak-${tag}`);
  const logFile = join(dir, "node.log");
  const log = createWriteStream(logFile);
  const children: ChildProcess[] = [];
  const progress = (line: string) => process.stderr.write(`soak: ${line}\n`);

  const report = newReport(
    "soak",
    `${s.consults.toLocaleString("en")} consults through REST POST /api/v1/consult on one CORE node (\`core start\`, default services, in a process of its own), ` +
      (clustered
        ? `set up as a production node: CORE_ENV=production, NATS ${natsUrl}, Redis ${redisUrl}, PostgreSQL ${databaseUrl.replace(/\/\/[^@/]*@/, "//")} (own namespace, subject prefix, Redis prefix and schema), metrics on, log level info. `
        : `embedded: no NATS or Redis, PGlite in a temporary directory, metrics on, log level info. `) +
      `${LATENCIES_MS.length} experts answered by fixed-latency chat completions servers (${LATENCIES_MS.join(", ")} ms, benchmarks/consult-provider.ts) in another process. ` +
      `Each request carries an operator's API key (\`core keys create\`) and the cache is bypassed (cache: false). ${s.concurrency} callers consulting back to back (fetch, keep-alive) from the soak's process; ` +
      `the first ${s.warmup.toLocaleString("en")} consults are warm-up. The node's RSS, heap used and active handles are read from its /metrics (Moleculer's process metrics) every ${s.sampleMs / 1000} s, its open sockets from /proc/<pid>/fd.`,
  );

  let node: SoakNode | undefined;
  const series: SeriesPoint[] = [];
  const t0 = Date.now();
  let consultsDone = 0;
  let failuresSoFar = 0;
  let sampling = false;
  let sampler: NodeJS.Timeout | undefined;
  let warmupResult: PhaseResult | undefined;
  let measured: PhaseResult | undefined;
  let start: Checkpoint | undefined;
  let end: Checkpoint | undefined;
  let settledAfterMs: number | undefined;
  try {
    const providers = await startChild([join(__dirname, "consult-provider.js"), ...LATENCIES_MS.map(String)], process.env, /ready (\{.*\})/, "the provider stub");
    children.push(providers.child);
    const ports = (JSON.parse(providers.match[1]!) as { ports: number[] }).ports;
    const configFile = join(dir, "core.json");
    writeFileSync(
      configFile,
      JSON.stringify({
        experts: ports.map((port, i) => ({ id: `e${i + 1}-${LATENCIES_MS[i]}ms`, provider: "openai-compatible", model: `stub-${i + 1}`, baseUrl: `http://127.0.0.1:${port}/v1` })),
      }),
    );
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      CORE_CONFIG: configFile,
      CORE_NAMESPACE: `soak-${tag}`,
      CORE_SUBJECT_PREFIX: subjects.prefix,
      CORE_API_PORT: "0",
      CORE_METRICS_PORT: "0",
      CORE_LOG_LEVEL: "info",
      ...(clustered
        ? { CORE_ENV: "production", CORE_JWT_SECRET: randomBytes(48).toString("base64"), NATS_URL: natsUrl, REDIS_URL: redisUrl, CORE_REDIS_PREFIX: redisPrefix, DATABASE_URL: databaseUrl, CORE_DB_SCHEMA: schema }
        : { CORE_DATA_DIR: join(dir, "data") }),
    };
    progress(`starting the node (${s.setup}); its log: ${logFile}`);
    const inspect = s.gc ? ["--inspect=127.0.0.1:0"] : [];
    const started = await startChild([...inspect, join(__dirname, "..", "bin", "core.js"), "start", "--node-id", `soak-${tag}`], env, /listening: api (http:\/\/\S+?), metrics http:\/\/\S*?:(\d+)\/metrics/, "the CORE node", log);
    children.push(started.child);
    node = {
      child: started.child,
      api: started.match[1]!,
      metricsUrl: `http://127.0.0.1:${started.match[2]!}/metrics`,
      inspectorUrl: s.gc ? /Debugger listening on (ws:\/\/\S+)/.exec(started.output())?.[1] : undefined,
      env,
    };
    if (s.gc && !node.inspectorUrl) throw new Error("the node did not print its inspector's address (Debugger listening on ws://…)");

    // An operator's key, made as an operator would: `core keys create` against the running node.
    const keyJson = await runCommand([join(__dirname, "..", "bin", "core.js"), "keys", "create", "--name", "soak", "--role", "operator", "--json"], { ...env, CORE_METRICS: "false", CORE_LOG_LEVEL: "warn", CORE_NODE_ID: `soak-keys-${tag}` }, "core keys create");
    // The client node's own log lines may come first on stdout: the JSON starts at a line of its own.
    const jsonStart = keyJson.search(/^\{/m);
    const apiKey = jsonStart < 0 ? undefined : (JSON.parse(keyJson.slice(jsonStart)) as { key?: string }).key;
    if (!apiKey) throw new Error(`core keys create printed no key: ${keyJson}`);

    const soakNode = node;
    const url = `${node.api}/api/v1/consult`;
    const body = JSON.stringify({ question: QUESTION, cache: false, timeoutMs: 10_000 });
    const call = () => consultOnce(url, apiKey, body);
    const onDone = (failed: boolean) => {
      consultsDone++;
      if (failed) failuresSoFar++;
    };
    const sample = async () => {
      if (sampling) return;
      sampling = true;
      try {
        const p = await scrapeNode(soakNode.metricsUrl, soakNode.child.pid);
        series.push({ atMs: Date.now() - t0, consultsDone, ...p });
        progress(
          `${consultsDone}/${s.consults} consults, ${failuresSoFar} failed; node rss ${mb(p.rssBytes)} MB, heap ${mb(p.heapUsedBytes)} MB, handles ${p.activeHandles}, sockets ${p.sockets ?? "?"}`,
        );
      } catch (err) {
        progress(`sample failed: ${(err as Error).message}`);
      } finally {
        sampling = false;
      }
    };
    const portOf = (u: string) => Number(new URL(u).port);
    const peers: SocketPeers = {
      remote: new Map<number, string>([
        ...ports.map((port): [number, string] => [port, "experts (keep-alive pool)"]),
        ...(clustered ? ([[portOf(natsUrl), "NATS"], [portOf(redisUrl), "Redis"], [portOf(databaseUrl), "PostgreSQL"]] as Array<[number, string]>) : []),
      ]),
      local: new Map<number, string>([
        [portOf(node.api), "API clients"],
        [portOf(node.metricsUrl), "metrics scrapes"],
        ...(node.inspectorUrl ? ([[portOf(node.inspectorUrl.replace(/^ws/, "http")), "inspector session"]] as Array<[number, string]>) : []),
      ]),
    };
    const checkpoint = async (): Promise<Checkpoint> => {
      const peersNow = () => socketsByPeer(soakNode.child.pid, peers);
      if (soakNode.inspectorUrl) {
        const i: InspectedSample = await inspectAfterGc(soakNode.inspectorUrl, soakNode.child.pid);
        return { ...i, peers: peersNow(), how: "after a forced full GC (inspector)" };
      }
      return { ...(await scrapeNode(soakNode.metricsUrl, soakNode.child.pid)), peers: peersNow(), how: "from /metrics" };
    };
    const describe = (c: Checkpoint) =>
      `rss ${mb(c.rssBytes)} MB, heap ${mb(c.heapUsedBytes)} MB, handles ${c.activeHandles} ${JSON.stringify(c.resources ?? {})}, sockets ${c.sockets ?? "?"} ${JSON.stringify(c.peers ?? {})}`;

    sampler = setInterval(() => void sample(), s.sampleMs);
    await sample();
    progress(`warm-up: ${s.warmup} consults at concurrency ${s.concurrency}`);
    warmupResult = await drive(s.warmup, s.concurrency, call, onDone);
    const warmupFailures = [...warmupResult.failures.values()].reduce((a, b) => a + b, 0);
    if (warmupFailures > 0) progress(`warm-up failures: ${JSON.stringify(Object.fromEntries(warmupResult.failures))}`);

    // Idle past every keep-alive and pool idle timeout (fetch 4 s, the API server 5 s, pg's pool 10 s) so both checkpoints see the node at rest.
    progress(`warm-up done; idle ${s.idleMs / 1000} s, then the start checkpoint`);
    await sleep(s.idleMs);
    start = await checkpoint();
    progress(`start checkpoint: ${describe(start)}`);
    const measuredFromMs = Date.now() - t0;
    const measuredFromConsults = consultsDone;

    measured = await drive(s.consults - s.warmup, s.concurrency, call, onDone);
    const measuredToMs = Date.now() - t0;
    await sample();

    progress(`load stopped; idle ${s.idleMs / 1000} s, then the end checkpoint`);
    await sleep(s.idleMs);
    end = await checkpoint();
    const settleFrom = Date.now();
    // Connections and timers can outlive the idle pause by a little (a pool's idle timer firing late on a loaded machine): give them SOAK_SETTLE_MS.
    while ((end.activeHandles > start.activeHandles || (end.sockets ?? 0) > (start.sockets ?? 0)) && Date.now() - settleFrom < s.settleMs) {
      await sleep(2_000);
      end = await checkpoint();
    }
    settledAfterMs = Date.now() - settleFrom;
    // The sampler ran through both pauses, so both checkpoints see its connection to /metrics alike.
    clearInterval(sampler);
    sampler = undefined;
    progress(`end checkpoint: ${describe(end)}`);

    // --- The report ---
    // Moleculer refreshes its process metrics every 5 s: a sample in the measured phase's first 5 s may still show the warm-up's or the checkpoint's values.
    const under = series.filter((p) => p.atMs >= measuredFromMs + METRICS_REFRESH_MS && p.atMs <= measuredToMs);
    // The windows: the samples of the second and the last tenth of the measured consults, at least 3 each. Not the
    // first tenth: after the idle pause and the forced GC, V8 grows its heap back to what the load needs during it.
    const span = s.consults - s.warmup;
    const secondFrom = measuredFromConsults + span / 10;
    const secondTo = measuredFromConsults + (2 * span) / 10;
    const lastCut = s.consults - span / 10;
    const atLeast3 = (picked: SeriesPoint[], fallback: SeriesPoint[]) => (picked.length >= 3 ? picked : fallback);
    const first = atLeast3(
      under.filter((p) => p.consultsDone >= secondFrom && p.consultsDone <= secondTo),
      under.filter((p) => p.consultsDone >= secondFrom).slice(0, 3),
    );
    const last = atLeast3(under.filter((p) => p.consultsDone >= lastCut), under.slice(-3));
    const growth = (f: (p: ProcessSample) => number) => {
      const a = median(first.map(f));
      const b = median(last.map(f));
      return { a, b, g: (b - a) / a };
    };
    const rss = growth((p) => p.rssBytes);
    const heap = growth((p) => p.heapUsedBytes);
    const gcHeap = { a: start.heapUsedBytes, b: end.heapUsedBytes, g: (end.heapUsedBytes - start.heapUsedBytes) / start.heapUsedBytes };
    const gcRss = { a: start.rssBytes, b: end.rssBytes, g: (end.rssBytes - start.rssBytes) / start.rssBytes };

    const lat = Float64Array.from(measured.latencies).sort();
    const tenth = Math.max(1, Math.floor(measured.done / 10));
    const firstLat = Float64Array.from(measured.latencies.subarray(0, tenth)).sort();
    const lastLat = Float64Array.from(measured.latencies.subarray(measured.done - tenth)).sort();
    const allFailures = new Map(warmupResult.failures);
    for (const [code, n] of measured.failures) allFailures.set(code, (allFailures.get(code) ?? 0) + n);
    const failed = [...allFailures.values()].reduce((a, b) => a + b, 0);

    report.tables.push({
      title: "Load",
      rows: [
        { phase: "warm-up", consults: warmupResult.done, failed: warmupFailures, "consults/s": (warmupResult.done / (warmupResult.ms / 1000)).toFixed(1), "p50 ms": "–", "p99 ms": "–", "duration s": (warmupResult.ms / 1000).toFixed(1) },
        {
          phase: "measured",
          consults: measured.done,
          failed: failed - warmupFailures,
          "consults/s": (measured.done / (measured.ms / 1000)).toFixed(1),
          "p50 ms": quantile(lat, 0.5).toFixed(2),
          "p99 ms": quantile(lat, 0.99).toFixed(2),
          "duration s": (measured.ms / 1000).toFixed(1),
        },
        { phase: "measured, first tenth", consults: tenth, failed: "", "consults/s": "", "p50 ms": quantile(firstLat, 0.5).toFixed(2), "p99 ms": quantile(firstLat, 0.99).toFixed(2), "duration s": "" },
        { phase: "measured, last tenth", consults: tenth, failed: "", "consults/s": "", "p50 ms": quantile(lastLat, 0.5).toFixed(2), "p99 ms": quantile(lastLat, 0.99).toFixed(2), "duration s": "" },
      ],
    });
    report.tables.push({
      title: "Failures by code",
      rows: failed === 0 ? [{ code: "(none)", consults: 0 }] : [...allFailures].map(([code, n]) => ({ code, consults: n })),
    });
    const memRow = (what: string, x: { a: number; b: number; g: number }, how: string): Row => ({
      measure: what,
      "after warm-up MB": mb(x.a),
      "at the end MB": mb(x.b),
      growth: pct(x.g),
      how,
    });
    report.tables.push({
      title: "Memory of the node",
      rows: [
        memRow("RSS under load", rss, `median of ${first.length} samples in the second tenth of the measured consults vs of ${last.length} in the last tenth`),
        memRow("heap used under load", heap, `the same samples`),
        memRow("RSS at rest", gcRss, `start vs end checkpoint, ${start.how}`),
        memRow("heap used at rest", gcHeap, `start vs end checkpoint, ${start.how}`),
      ],
    });
    const handleRows: Row[] = [
      { measure: "active handles (process.getActiveResourcesInfo)", start: start.activeHandles, end: end.activeHandles, "returned to start": end.activeHandles <= start.activeHandles ? "yes" : "no" },
      {
        measure: "open sockets (/proc/<pid>/fd)",
        start: start.sockets ?? "?",
        end: end.sockets ?? "?",
        "returned to start": start.sockets === undefined || end.sockets === undefined ? "unknown (no /proc)" : end.sockets <= start.sockets ? "yes" : "no",
      },
    ];
    for (const type of new Set([...Object.keys(start.resources ?? {}), ...Object.keys(end.resources ?? {})])) {
      const a = start.resources?.[type] ?? 0;
      const b = end.resources?.[type] ?? 0;
      handleRows.push({ measure: `  handles: ${type}`, start: a, end: b, "returned to start": b <= a ? "yes" : "no" });
    }
    for (const kind of new Set([...Object.keys(start.peers ?? {}), ...Object.keys(end.peers ?? {})])) {
      const a = start.peers?.[kind] ?? 0;
      const b = end.peers?.[kind] ?? 0;
      handleRows.push({ measure: `  sockets: ${kind}`, start: a, end: b, "returned to start": b <= a ? "yes" : "no" });
    }
    report.tables.push({ title: `Handles and sockets of the node at rest (start: after warm-up and ${s.idleMs / 1000} s idle; end: ${s.idleMs / 1000} s after the load stopped${settledAfterMs > 0 ? `, then ${(settledAfterMs / 1000).toFixed(0)} s more to settle` : ""})`, rows: handleRows });
    report.tables.push({
      title: "Series (every sample of the node during the run)",
      rows: series.map((p) => ({ "t s": (p.atMs / 1000).toFixed(0), consults: p.consultsDone, "rss MB": mb(p.rssBytes), "heap MB": mb(p.heapUsedBytes), handles: p.activeHandles, sockets: p.sockets ?? "?" })),
    });

    const met = (ok: boolean) => (ok ? "**met**" : "**not met**");
    const socketsBack = start.sockets === undefined || end.sockets === undefined ? undefined : end.sockets <= start.sockets;
    // With a forced GC, the checkpoints at rest measure what the node keeps; the medians under load also hold garbage not yet collected, whose amount follows the GC's timing.
    const [rssGoal, heapGoal, goalHow] = s.gc ? [gcRss, gcHeap, "at rest after a forced full GC, start vs end checkpoint"] : [rss, heap, "medians under load, second vs last tenth"];
    report.notes.push(
      `Goal: RSS after warm-up grows less than 10 %: ${met(rssGoal.g < GROWTH_LIMIT)}, ${pct(rssGoal.g)} (${mb(rssGoal.a)} → ${mb(rssGoal.b)} MB, ${goalHow})${s.gc ? `; under load, medians of the second vs last tenth: ${pct(rss.g)} (${mb(rss.a)} → ${mb(rss.b)} MB)` : ""}.`,
      `Goal: heap after warm-up grows less than 10 %: ${met(heapGoal.g < GROWTH_LIMIT)}, ${pct(heapGoal.g)} (${mb(heapGoal.a)} → ${mb(heapGoal.b)} MB, ${goalHow})${s.gc ? `; under load, medians of the second vs last tenth: ${pct(heap.g)} (${mb(heap.a)} → ${mb(heap.b)} MB)` : ""}.`,
      `Goal: open handles and sockets return to their starting count: ${met(end.activeHandles <= start.activeHandles && socketsBack !== false)} (handles ${start.activeHandles} → ${end.activeHandles}, sockets ${start.sockets ?? "?"} → ${end.sockets ?? "?"}).`,
      `Consults: ${consultsDone.toLocaleString("en")} done (${s.warmup.toLocaleString("en")} warm-up), ${failed} failed. A consult counts as done when it answered 200 with all ${LATENCIES_MS.length} experts answered and the vote on Paris; anything else is a failure under its code.`,
      "Under load, Moleculer refreshes its process metrics every 5 s (samples closer than that repeat a value; the measured phase's first 5 s are left out), and the heap then holds garbage not yet collected: the medians under load follow the GC's sawtooth and are shown for the trend. At rest, the inspector forces two full GCs before reading process.memoryUsage() and process.getActiveResourcesInfo() (the sources of Moleculer's process_memory_* and process_internal_active_handles): that is what the node keeps, and the goals' measure. Active handles count only referenced handles (an idle keep-alive socket that its pool unreferenced is not one); open sockets are every socket descriptor of the process, by peer: NATS, Redis, PostgreSQL, the listening servers (API, metrics, inspector), connections to the experts, and the inspector's own session.",
      `Both checkpoints come after ${s.idleMs / 1000} s without load, past the node's keep-alive timeouts (fetch 4 s, pg's pool 10 s, the connections to the expert stubs 58 s from their 60 s Keep-Alive hint), so that a pool's size at the moment the load stopped does not count.`,
      `The machine was shared with other work: load average (1 min) ${loadAtStart} at the start, ${loadavg()[0]!.toFixed(1)} at the end, on 2 cores.`,
    );
  } finally {
    if (sampler) clearInterval(sampler);
    for (const child of children.reverse()) await stopChild(child);
    log.end();
    if (clustered) {
      await dropSchema(databaseUrl, schema).catch((err: unknown) => console.error(err));
      await cleanRedis(redisUrl, redisPrefix).catch((err: unknown) => console.error(err));
      await deleteJobsStream(natsUrl, subjects.jobsStream).catch((err: unknown) => console.error(err));
    }
  }
  saveReport(report);
  // The node's log is kept only when something failed.
  rmSync(dir, { recursive: true, force: true });
}

/** The node's JetStream stream for durable jobs, made under the soak's subject prefix on the shared NATS. */
async function deleteJobsStream(natsUrl: string, stream: string): Promise<void> {
  const nc = await connect({ servers: natsUrl, name: "core-soak-cleanup" });
  try {
    const jsm = await nc.jetstreamManager();
    await jsm.streams.delete(stream).catch(() => undefined);
  } finally {
    await nc.close();
  }
}

if (require.main === module) {
  runSoak().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
