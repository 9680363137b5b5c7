import type { ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { ToolListChangedNotificationSchema, type CallToolResult, type Tool } from "@modelcontextprotocol/sdk/types.js";
import { Client as PgClient } from "pg";
import { packageInfo } from "../lib/package-info";
import { cleanRedis, dropSchema } from "./bench-cleanup";
import { cpuTimeUs } from "./process-cpu";
import {
  freePort,
  quantile,
  rateLimitBuckets,
  startChild,
  stopChild,
  wallClockMs,
} from "./mcp-bench-support";
import type { McpCoreNodeReady } from "./mcp-core-node";
import { byRound, median, newReport, pairedMedian, saveReport, type Row } from "./report";
import { numbersEnv } from "./bench-env";

/**
 * The MCP gateway's cost, in two parts.
 *
 * Calls: `tools/call` of server-everything's `echo` directly (the SDK's
 * client over Streamable HTTP to server-everything) and through CORE (the
 * same client to CORE's `/mcp`, tool `everything__echo`), side by side in one
 * run, both paths ending at the same server-everything process: CORE is
 * configured with it as an `http` MCP server. CORE's path is what a call
 * takes in production: admission (bearer access token or API key, the HTTP
 * rate limit in Redis), the MCP session, the catalogue, RBAC, the per-tool
 * rate limit in Redis, the `mcp.everything` actor, its SDK client's POST to
 * server-everything, and an audit row in PostgreSQL. Goal: under 1 ms added
 * at p50.
 *
 * Listing: ten small SDK-built MCP servers over stdio (benchmarks/mcp-list-server.ts,
 * 12 tools each) behind one CORE node: the warm `tools/list` through the gateway
 * against listing the ten directly (ten stdio sessions of this process, at
 * once); how long a tool added upstream takes to reach a gateway client
 * (list_changed, then listed); and a cold start: from spawning the node's
 * process to the full list.
 *
 * CORE runs in a process of its own (benchmarks/mcp-core-node.ts), as do
 * server-everything and every list server; the clients run here.
 *
 * Knobs: X_QUICK (shorter), X_CONCURRENCY=1,8, X_ROUNDS, X_PARTS=calls,list,
 * X_VARIANTS (CORE set up otherwise, beside the main paths: see
 * DIAGNOSTIC_VARIANTS), X_PROFILE=core (`--cpu-prof` on the calls' main CORE
 * node; read it with benchmarks/cpu-profile.ts).
 */

const QUICK = Boolean(process.env.X_QUICK);
const CONCURRENCY = numbersEnv("X_CONCURRENCY", [1, 8]);
const ROUNDS = process.env.X_ROUNDS ? Number(process.env.X_ROUNDS) : QUICK ? 3 : 5;
const RUN_MS = QUICK ? 1_500 : 3_000;
const WARM_MS = QUICK ? 2_000 : 5_000;
const PARTS = process.env.X_PARTS?.split(",") ?? ["calls", "list"];
const LIST_SERVERS = 10;
const TOOLS_PER_SERVER = 12;
const UPSTREAM_TOOLS = LIST_SERVERS * TOOLS_PER_SERVER;
const CHANGES = QUICK ? 5 : 10;
const COLD_STARTS = QUICK ? 2 : 3;
/** A bucket no run can empty, so every request takes the Redis round trip and none is refused. */
const BUCKET = { capacity: 1_000_000_000, refillPerSecond: 1 };
const SERVICES = ["api", "auth", "supervisor", "mcp", "mcp-gateway"];
const MESSAGE = "hello from benchmarks/mcp";

const EVERYTHING = join(packageInfo().root, "node_modules/@modelcontextprotocol/server-everything/dist/index.js");
const LIST_SERVER = join(__dirname, "mcp-list-server.js");
const CORE_NODE = join(__dirname, "mcp-core-node.js");

interface Infra {
  natsUrl: string;
  redisUrl: string;
  databaseUrl: string;
  tag: string;
  dir: string;
}

interface CoreProcess {
  child: ChildProcess;
  ready: McpCoreNodeReady;
}

/** A connected MCP client and how to end its session. */
interface Session {
  client: Client;
  close(): Promise<void>;
}

interface RunResult {
  rate: number;
  p50us: number;
  p99us: number;
  /** CPU time (user + system, all threads) per answered call of the CORE process, and of server-everything. */
  coreCpuUs: number | undefined;
  upstreamCpuUs: number | undefined;
  answered: number;
  /** Calls through the main CORE node answered so far whose audit row was not yet in PostgreSQL, at the end of the run. */
  auditBehind?: number;
}

function coreEnv(infra: Infra, name: string, configFile: string): Record<string, string> {
  return {
    PATH: process.env.PATH ?? "",
    CORE_ENV: "production",
    CORE_JWT_SECRET: randomBytes(48).toString("base64"),
    CORE_CONFIG: configFile,
    CORE_NODE_ID: `bench-mcp-${name}`,
    CORE_NAMESPACE: `bench-mcp-${infra.tag}-${name}`.replace(/_/g, "-"),
    CORE_API_PORT: "0",
    CORE_METRICS_PORT: "0",
    CORE_LOG_LEVEL: "info",
    NATS_URL: infra.natsUrl,
    REDIS_URL: infra.redisUrl,
    CORE_REDIS_PREFIX: `bench-mcp-${infra.tag}-${name}`,
    DATABASE_URL: infra.databaseUrl,
    CORE_DB_SCHEMA: `bench_mcp_${infra.tag}_${name}`,
  };
}

async function startCore(env: Record<string, string>, setup: boolean, profileDir?: string): Promise<CoreProcess> {
  const profile = profileDir ? ["--cpu-prof", `--cpu-prof-dir=${profileDir}`, `--cpu-prof-name=mcp-core.cpuprofile`] : [];
  const { child, match } = await startChild([...profile, CORE_NODE, JSON.stringify(env), SERVICES.join(","), ...(setup ? ["setup"] : [])], {
    env,
    ready: /^ready (\{.*\})$/m,
    name: "the CORE node",
    echo: true,
  });
  return { child, ready: JSON.parse(match[1]!) as McpCoreNodeReady };
}

async function login(url: string, email: string, password: string): Promise<string> {
  const res = await fetch(`${url}/api/v1/auth/login`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ email, password }) });
  const body = (await res.json()) as { accessToken?: string };
  if (res.status !== 200 || !body.accessToken) throw new Error(`login answered ${res.status}: ${JSON.stringify(body)}`);
  return body.accessToken;
}

async function httpSession(url: string, headers: Record<string, string> = {}): Promise<Session> {
  const transport = new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } });
  const client = new Client({ name: "benchmarks-mcp", version: "1.0.0" });
  await client.connect(transport);
  return {
    client,
    async close() {
      await transport.terminateSession().catch(() => undefined);
      await client.close().catch(() => undefined);
    },
  };
}

async function stdioSession(index: number): Promise<Session> {
  const transport = new StdioClientTransport({ command: process.execPath, args: [LIST_SERVER, String(index), String(TOOLS_PER_SERVER)], stderr: "inherit" });
  const client = new Client({ name: "benchmarks-mcp", version: "1.0.0" });
  await client.connect(transport);
  return { client, close: () => client.close().catch(() => undefined) };
}

/** server-everything over Streamable HTTP on a free port; resolves once it listens. */
async function startEverything(): Promise<{ child: ChildProcess; url: string }> {
  const port = await freePort();
  const { child } = await startChild([EVERYTHING, "streamableHttp"], { env: { PATH: process.env.PATH ?? "", PORT: String(port) }, ready: /listening on port/i, name: "server-everything" });
  return { child, url: `http://127.0.0.1:${port}/mcp` };
}

/** Lists until `done` says the answer is complete (the catalogue fills as actors start); the last answer. */
async function listUntil(client: Client, done: (tools: Tool[]) => boolean, timeoutMs: number, what: string): Promise<{ tools: Tool[]; firstAt: number }> {
  const deadline = Date.now() + timeoutMs;
  let firstAt: number | undefined;
  for (;;) {
    const { tools } = await client.listTools();
    firstAt ??= wallClockMs();
    if (done(tools)) return { tools, firstAt };
    if (Date.now() > deadline) throw new Error(`${what}: ${tools.length} tools listed after ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function echoOf(result: CallToolResult): string | undefined {
  const first = result.content[0];
  return first?.type === "text" ? first.text : undefined;
}

/** `concurrency` callers, each calling back to back for `ms`; the calls started within it count. CPU of the named processes over the run. */
async function drive(call: () => Promise<void>, concurrency: number, ms: number, pids: { core?: number; upstream?: number }): Promise<RunResult> {
  const latencies: number[] = [];
  const cpu0 = { core: cpuTimeUs(pids.core), upstream: cpuTimeUs(pids.upstream) };
  const t0 = process.hrtime.bigint();
  const end = Date.now() + ms;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (Date.now() < end) {
        const h0 = process.hrtime.bigint();
        await call();
        latencies.push(Number(process.hrtime.bigint() - h0) / 1e3);
      }
    }),
  );
  const elapsed = Number(process.hrtime.bigint() - t0) / 1e9;
  const perCall = (before: number | undefined, pid: number | undefined) => {
    const after = cpuTimeUs(pid);
    return before === undefined || after === undefined ? undefined : (after - before) / latencies.length;
  };
  const coreCpuUs = pids.core === undefined ? undefined : perCall(cpu0.core, pids.core);
  const upstreamCpuUs = perCall(cpu0.upstream, pids.upstream);
  latencies.sort((a, b) => a - b);
  return { rate: latencies.length / elapsed, p50us: quantile(latencies, 0.5), p99us: quantile(latencies, 0.99), coreCpuUs, upstreamCpuUs, answered: latencies.length };
}

const us = (x: number) => Math.round(x);
const cpuCell = (x: number | undefined) => (x === undefined ? "–" : Math.round(x));
const msCell = (x: number) => x.toFixed(1);

interface CallTarget {
  name: string;
  session: Session;
  tool: string;
  /** The CORE process in the path, if any. */
  corePid: number | undefined;
  answered: number;
}

/**
 * CORE set up otherwise, to see what a part of the path costs; run beside
 * the main paths (with an access token) when X_VARIANTS names them.
 */
interface VariantSpec {
  what: string;
  env?: Record<string, string>;
  /** The configuration file's rateLimits; default: `BUCKET` for rateLimits.default and `MCP /*`. */
  rateLimits?: object;
  /** Variables of the production environment left out. */
  drop?: string[];
  /** PGlite in a temporary directory instead of PostgreSQL. */
  pglite?: boolean;
}

const DIAGNOSTIC_VARIANTS: Record<string, VariantSpec> = {
  "no-rate-limits": { what: "no rate limit configured: no Redis round trip (CORE's default configuration)", rateLimits: {} },
  "metrics-off": { what: "CORE_METRICS=false", env: { CORE_METRICS: "false" } },
  "audit-flush-0": { what: "CORE_AUDIT_FLUSH_MS=0: each call's audit row written on the next turn of the event loop, not batched with the next 10 ms's", env: { CORE_AUDIT_FLUSH_MS: "0" } },
  "audit-flush-200": { what: "CORE_AUDIT_FLUSH_MS=200: a call's audit row waits up to 200 ms for others to share its write", env: { CORE_AUDIT_FLUSH_MS: "200" } },
  embedded: {
    what: "one process as on a laptop: no NATS, rate limits in memory (no REDIS_URL), PGlite in the process (the audit row written there) instead of PostgreSQL",
    drop: ["NATS_URL", "REDIS_URL", "CORE_REDIS_PREFIX", "DATABASE_URL", "CORE_DB_SCHEMA"],
    pglite: true,
  },
};

const DEFAULT_RATE_LIMITS = { default: BUCKET, routes: { "MCP /*": BUCKET } };

/** Part one: echo directly vs through CORE. */
async function benchmarkCalls(infra: Infra, report: ReturnType<typeof newReport>): Promise<void> {
  const variants = (process.env.X_VARIANTS?.split(",") ?? []).filter(Boolean);
  for (const v of variants) if (!DIAGNOSTIC_VARIANTS[v]) throw new Error(`X_VARIANTS: no variant ${v} (known: ${Object.keys(DIAGNOSTIC_VARIANTS).join(", ")})`);
  const profileDir = process.env.X_PROFILE?.split(",").includes("core") ? mkdtempSync(join(tmpdir(), "core-bench-mcp-profile-")) : undefined;
  const everything = await startEverything();
  const targets: CallTarget[] = [];
  const cores: CoreProcess[] = [];
  let auditDb: PgClient | undefined;
  /** A CORE node whose one MCP server is that server-everything over HTTP. */
  const startCallNode = async (key: string, spec: VariantSpec, profile: string | undefined): Promise<{ core: CoreProcess; env: Record<string, string> }> => {
    const configFile = join(infra.dir, `core-${key}.json`);
    writeFileSync(configFile, JSON.stringify({ mcpServers: [{ name: "everything", transport: "http", url: everything.url }], rateLimits: spec.rateLimits ?? DEFAULT_RATE_LIMITS }));
    const env: Record<string, string> = { ...coreEnv(infra, key, configFile), ...spec.env, ...(spec.pglite ? { CORE_DATA_DIR: join(infra.dir, `pglite-${key}`) } : {}) };
    for (const name of spec.drop ?? []) delete env[name];
    process.stderr.write(`starting the CORE node (${key})\n`);
    const core = await startCore(env, true, profile);
    cores.push(core);
    return { core, env };
  };
  try {
    const main = await startCallNode("calls", { what: "" }, profileDir);
    const { url, email, password, apiKey } = main.core.ready;
    const token = await login(url, email!, password!);
    const corePid = main.core.child.pid;
    targets.push({ name: "direct", session: await httpSession(everything.url), tool: "echo", corePid: undefined, answered: 0 });
    targets.push({ name: "CORE, access token", session: await httpSession(`${url}/mcp`, { authorization: `Bearer ${token}` }), tool: "everything__echo", corePid, answered: 0 });
    targets.push({ name: "CORE, API key", session: await httpSession(`${url}/mcp`, { authorization: `Bearer ${apiKey!}` }), tool: "everything__echo", corePid, answered: 0 });
    for (const [i, v] of variants.entries()) {
      const { core } = await startCallNode(`v${i}`, DIAGNOSTIC_VARIANTS[v]!, undefined);
      const variantToken = await login(core.ready.url, core.ready.email!, core.ready.password!);
      targets.push({ name: `CORE, ${v}`, session: await httpSession(`${core.ready.url}/mcp`, { authorization: `Bearer ${variantToken}` }), tool: "everything__echo", corePid: core.child.pid, answered: 0 });
    }
    for (const t of targets) await listUntil(t.session.client, (tools) => tools.some((x) => x.name === t.tool), 30_000, `${t.tool} (${t.name})`);

    const calls = new Map(
      targets.map((t) => [
        t,
        async () => {
          const result = (await t.session.client.callTool({ name: t.tool, arguments: { message: MESSAGE } })) as CallToolResult;
          if (result.isError || echoOf(result) !== `Echo: ${MESSAGE}`) throw new Error(`${t.name}: ${t.tool} answered ${JSON.stringify(result)}`);
          t.answered++;
        },
      ]),
    );
    const pidsOf = (t: CallTarget) => ({ ...(t.corePid === undefined ? {} : { core: t.corePid }), upstream: everything.child.pid });
    auditDb = new PgClient({ connectionString: infra.databaseUrl });
    await auditDb.connect();
    const auditRows = auditCounter(auditDb, main.env.CORE_DB_SCHEMA!);
    const answeredByMain = () => targets.filter((t) => t.corePid === corePid).reduce((n, t) => n + t.answered, 0);
    const buckets0 = await rateLimitBuckets(infra.redisUrl, main.env.CORE_REDIS_PREFIX!);
    const started = Date.now();
    // Warm-up: JIT on every side, connection pools, the first token verification and key lookup.
    for (const t of targets) await drive(calls.get(t)!, Math.max(...CONCURRENCY), WARM_MS, pidsOf(t));

    const rows: Row[] = [];
    for (const concurrency of CONCURRENCY) {
      const runs = new Map<CallTarget, RunResult[]>(targets.map((t) => [t, []]));
      for (let round = 0; round < ROUNDS; round++) {
        // Rotating order: each path goes first as often as the others.
        for (const t of targets.map((_, i) => targets[(i + round) % targets.length]!)) {
          const run = await drive(calls.get(t)!, concurrency, RUN_MS, pidsOf(t));
          if (t.corePid === corePid) run.auditBehind = answeredByMain() - (await auditRows());
          runs.get(t)!.push(run);
          process.stderr.write(".");
        }
      }
      const summary = (rs: RunResult[]) => ({
        rate: median(rs.map((r) => r.rate)),
        p50: median(rs.map((r) => r.p50us)),
        p99: median(rs.map((r) => r.p99us)),
        coreCpu: rs.every((r) => r.coreCpuUs !== undefined) ? median(rs.map((r) => r.coreCpuUs!)) : undefined,
        upstreamCpu: rs.every((r) => r.upstreamCpuUs !== undefined) ? median(rs.map((r) => r.upstreamCpuUs!)) : undefined,
        auditBehind: rs.every((r) => r.auditBehind !== undefined) ? rs.map((r) => r.auditBehind!).join(" / ") : "–",
        p50ByRound: rs.map((r) => us(r.p50us)).join(" / "),
      });
      const directRuns = runs.get(targets[0]!)!;
      // Each round runs every path once, back to back: the added columns are the median of each round's difference.
      const addedP50 = (x: RunResult, d: RunResult) => x.p50us - d.p50us;
      for (const t of targets) {
        const s = summary(runs.get(t)!);
        const viaCore = t.corePid !== undefined;
        const own = runs.get(t)!;
        rows.push({
          concurrency,
          path: t.name,
          "calls/s": Math.round(s.rate),
          "p50 µs": us(s.p50),
          "p99 µs": us(s.p99),
          "added p50 µs": viaCore ? us(pairedMedian(own, directRuns, addedP50)) : "–",
          "added p50 µs by round": viaCore ? byRound(own, directRuns, addedP50).map(us).join(" / ") : "–",
          "added µs per call": viaCore ? pairedMedian(own, directRuns, (x, d) => 1e6 / x.rate - 1e6 / d.rate).toFixed(0) : "–",
          "CORE CPU µs/call": viaCore ? cpuCell(s.coreCpu) : "–",
          "server-everything CPU µs/call": cpuCell(s.upstreamCpu),
          "p50 µs by round": s.p50ByRound,
          "audit rows behind after each round": s.auditBehind,
        });
      }
    }
    process.stderr.write("\n");
    report.tables.push({ title: "tools/call echo: directly on server-everything vs through CORE's /mcp (everything__echo)", rows });

    // Proof that the rate limits and the audit were in the path of every call through the main CORE node.
    const throughCore = answeredByMain();
    const lastCallAt = Date.now();
    const refilled = Math.ceil(((Date.now() - started) / 1000) * BUCKET.refillPerSecond);
    const buckets1 = await rateLimitBuckets(infra.redisUrl, main.env.CORE_REDIS_PREFIX!);
    const taken = (kind: string) =>
      Math.round([...buckets1].filter(([key]) => key.startsWith(kind)).reduce((n, [key, t]) => n + (buckets0.get(key) ?? BUCKET.capacity) - t, 0));
    const toolTaken = taken("rl:r:");
    const httpTaken = taken("rl:p:");
    if (toolTaken + 2 * refilled < throughCore) throw new Error(`the per-tool buckets lost ${toolTaken} tokens for ${throughCore} calls through CORE: not every call went through the limiter`);
    const audited = await waitForAuditRows(auditRows, throughCore);
    const caughtUpS = ((Date.now() - lastCallAt) / 1000).toFixed(1);
    report.notes.push(
      `In the path of every call through CORE (checked after the run, main node): the per-tool buckets (\`MCP /*\`, one per principal) lost ${toolTaken.toLocaleString("en")} tokens and the HTTP buckets (rateLimits.default) ${httpTaken.toLocaleString("en")} over ${throughCore.toLocaleString("en")} calls answered (warm-up included; the HTTP buckets also count the sessions' other requests; up to ${refilled} tokens refilled per bucket meanwhile); the audit log holds ${audited.toLocaleString("en")} mcp.call rows (all there ${caughtUpS} s after the last call).`,
      "Audit rows behind: at the end of each run of a path through the main node, the calls it had answered so far minus the mcp.call rows in PostgreSQL (the gateway appends each row without waiting; appends are serialised by the log's hash chain).",
    );
    for (const v of variants) report.notes.push(`CORE, ${v}: ${DIAGNOSTIC_VARIANTS[v]!.what}; access token.`);
  } finally {
    await auditDb?.end().catch(() => undefined);
    await Promise.all(targets.map((t) => t.session.close()));
    await Promise.all(cores.map((c) => stopChild(c.child)));
    await stopChild(everything.child);
    if (profileDir) console.error(`CPU profile of the CORE node in ${profileDir}; calls through it: ${targets.filter((t) => t.corePid === cores[0]?.child.pid).reduce((n, t) => n + t.answered, 0)}`);
  }
}

/** Counts the mcp.call rows of the audit log in `schema`. */
function auditCounter(pg: PgClient, schema: string): () => Promise<number> {
  return async () => Number((await pg.query<{ n: string }>(`SELECT count(*) AS n FROM "${schema}".audit_log WHERE action = 'mcp.call'`)).rows[0]!.n);
}

/** The audit rows of tool calls once `expected` are there, or once their count stops growing (the gateway writes them without waiting). */
async function waitForAuditRows(count: () => Promise<number>, expected: number): Promise<number> {
  let last = -1;
  for (;;) {
    const n = await count();
    if (n >= expected || n === last) return n;
    last = n;
    await new Promise((r) => setTimeout(r, 1_000));
  }
}

/** Part two: ten servers, 120 tools. */
async function benchmarkListing(infra: Infra, report: ReturnType<typeof newReport>): Promise<void> {
  const configFile = join(infra.dir, "core-list.json");
  writeFileSync(
    configFile,
    JSON.stringify({
      mcpServers: Array.from({ length: LIST_SERVERS }, (_, i) => ({ name: `list${i}`, transport: "stdio", command: process.execPath, args: [LIST_SERVER, String(i), String(TOOLS_PER_SERVER)] })),
      rateLimits: { default: BUCKET, routes: { "MCP /*": BUCKET } },
    }),
  );
  const env = coreEnv(infra, "list", configFile);
  const upstreamOf = (tools: Tool[]) => tools.filter((t) => /^list\d+__/.test(t.name));
  const sessions: Session[] = [];
  const direct: Session[] = [];
  let core: CoreProcess | undefined;
  try {
    process.stderr.write("starting the CORE node (listing)\n");
    core = await startCore(env, true);
    const { url, email, password, apiKey } = core.ready;
    const token = await login(url, email!, password!);
    const gateway = await httpSession(`${url}/mcp`, { authorization: `Bearer ${token}` });
    sessions.push(gateway);
    const { tools } = await listUntil(gateway.client, (t) => upstreamOf(t).length >= UPSTREAM_TOOLS, 60_000, "the ten list servers through CORE");
    direct.push(...(await Promise.all(Array.from({ length: LIST_SERVERS }, (_, i) => stdioSession(i)))));
    const answerBytes = Buffer.byteLength(JSON.stringify({ tools }));

    // (a) A warm tools/list: through the gateway, and the ten directly at once.
    let directTools = 0;
    const listers: Array<{ name: string; call: () => Promise<void> }> = [
      {
        name: `CORE: one tools/list (${tools.length} tools: ${UPSTREAM_TOOLS} upstream + CORE's own, ${(answerBytes / 1024).toFixed(0)} KiB)`,
        call: async () => {
          const n = (await gateway.client.listTools()).tools.length;
          if (n < tools.length) throw new Error(`CORE listed ${n} tools`);
        },
      },
      {
        name: `direct: the ${LIST_SERVERS} servers' tools/list at once (${LIST_SERVERS} stdio sessions, ${UPSTREAM_TOOLS} tools)`,
        call: async () => {
          directTools = (await Promise.all(direct.map((s) => s.client.listTools()))).reduce((n, l) => n + l.tools.length, 0);
        },
      },
    ];
    for (const l of listers) await drive(l.call, 1, WARM_MS / 2, {});
    const listRuns = new Map(listers.map((l) => [l, [] as RunResult[]]));
    for (let round = 0; round < ROUNDS; round++) {
      for (const l of listers.map((_, i) => listers[(i + round) % listers.length]!)) {
        listRuns.get(l)!.push(await drive(l.call, 1, RUN_MS, { core: core.child.pid }));
        process.stderr.write(".");
      }
    }
    if (directTools !== UPSTREAM_TOOLS) throw new Error(`the direct sessions listed ${directTools} tools`);
    report.tables.push({
      title: `tools/list across ${LIST_SERVERS} upstream servers (${TOOLS_PER_SERVER} tools each, stdio), warm, one caller`,
      rows: listers.map((l) => {
        const rs = listRuns.get(l)!;
        return {
          path: l.name,
          "lists/s": Math.round(median(rs.map((r) => r.rate))),
          "p50 µs": us(median(rs.map((r) => r.p50us))),
          "p99 µs": us(median(rs.map((r) => r.p99us))),
          "CORE CPU µs/list": l === listers[0] ? cpuCell(median(rs.map((r) => r.coreCpuUs ?? NaN))) : "–",
        };
      }),
    });

    // (b) A tool added upstream: from the server's list_changed to the gateway's client listing it.
    const changeRows: Row[] = [];
    for (const [name, session, toolOf] of [
      ["CORE: upstream list_changed → actor re-lists → catalogue → the gateway's list_changed → tools/list", gateway, (k: number) => `list${k}__add_tool`],
      ["direct: the server's list_changed → tools/list on its session", undefined, () => "add_tool"],
    ] as const) {
      const heard: number[] = [];
      const listed: number[] = [];
      let relists = 0;
      for (let i = 0; i < CHANGES; i++) {
        const k = i % LIST_SERVERS;
        const s = session ?? direct[k]!;
        let onChanged: ((at: number) => void) | undefined;
        s.client.setNotificationHandler(ToolListChangedNotificationSchema, () => onChanged?.(wallClockMs()));
        const notified = new Promise<number>((resolve, reject) => {
          onChanged = resolve;
          setTimeout(() => reject(new Error(`${name}: no list_changed within 10 s`)), 10_000).unref();
        });
        const result = (await s.client.callTool({ name: toolOf(k), arguments: {} })) as CallToolResult;
        const added = JSON.parse(echoOf(result) ?? "{}") as { name: string; notifiedAt: number };
        const heardAt = await notified;
        const expected = session ? `list${k}__${added.name}` : added.name;
        let attempts = 0;
        const holdsIt = (tools: Tool[]) => {
          attempts++;
          return tools.some((t) => t.name === expected);
        };
        await listUntil(s.client, holdsIt, 10_000, `${expected} listed`);
        const listedAt = wallClockMs();
        relists += attempts - 1;
        heard.push(heardAt - added.notifiedAt);
        listed.push(listedAt - added.notifiedAt);
        onChanged = undefined;
        // Let the change settle (no second notification of it lands in the next one's wait).
        await new Promise((r) => setTimeout(r, 200));
      }
      heard.sort((a, b) => a - b);
      listed.sort((a, b) => a - b);
      changeRows.push({
        path: name,
        changes: CHANGES,
        "→ client hears list_changed, p50 ms": msCell(median(heard)),
        "→ hears, max ms": msCell(heard.at(-1)!),
        "→ new tool listed, p50 ms": msCell(median(listed)),
        "→ listed, max ms": msCell(listed.at(-1)!),
        "lists that missed it": relists,
      });
    }
    report.tables.push({ title: "A tool added upstream at runtime: from the server sending list_changed", rows: changeRows });
    await Promise.all(sessions.splice(0).map((s) => s.close()));
    await stopChild(core.child);
    core = undefined;

    // (c) Cold: from spawning CORE's process to the full list (user and key are in the store from the first start).
    const coldRows: Row[] = [];
    const spans: Array<{ modules: number; node: number; first: number; full: number }> = [];
    for (let i = 0; i < COLD_STARTS; i++) {
      const t0 = wallClockMs();
      core = await startCore(env, false);
      const session = await httpSession(`${core.ready.url}/mcp`, { authorization: `Bearer ${apiKey!}` });
      sessions.push(session);
      const { firstAt } = await listUntil(session.client, (t) => upstreamOf(t).length >= UPSTREAM_TOOLS, 60_000, "the full list after a cold start");
      const fullAt = wallClockMs();
      const { modulesLoadedAt, nodeStartedAt } = core.ready;
      spans.push({ modules: modulesLoadedAt - t0, node: nodeStartedAt - t0, first: firstAt - t0, full: fullAt - t0 });
      await Promise.all(sessions.splice(0).map((s) => s.close()));
      await stopChild(core.child);
      core = undefined;
      process.stderr.write(".");
    }
    process.stderr.write("\n");
    coldRows.push({
      starts: COLD_STARTS,
      "spawn → modules loaded, p50 ms": median(spans.map((s) => s.modules)).toFixed(0),
      "→ node started (actors connected), p50 ms": median(spans.map((s) => s.node - s.modules)).toFixed(0),
      "spawn → node started, p50 ms": median(spans.map((s) => s.node)).toFixed(0),
      "spawn → first tools/list answered, p50 ms": median(spans.map((s) => s.first)).toFixed(0),
      [`spawn → all ${UPSTREAM_TOOLS} upstream tools listed, p50 ms`]: median(spans.map((s) => s.full)).toFixed(0),
      "node started → all listed, p50 ms": median(spans.map((s) => s.full - s.node)).toFixed(0),
      "all listed, by start (ms)": spans.map((s) => s.full.toFixed(0)).join(" / "),
    });
    report.tables.push({ title: `Cold start: CORE's process with ${LIST_SERVERS} stdio servers, until a client lists all ${UPSTREAM_TOOLS} of their tools`, rows: coldRows });
  } finally {
    await Promise.all([...sessions, ...direct].map((s) => s.close()));
    if (core) await stopChild(core.child);
  }
}

export async function runMcpBenchmark(): Promise<void> {
  const infra: Infra = {
    natsUrl: process.env.NATS_URL ?? "nats://127.0.0.1:4222",
    redisUrl: process.env.REDIS_URL ?? "redis://127.0.0.1:6379",
    databaseUrl: process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test",
    tag: `${process.pid}_${randomBytes(3).toString("hex")}`,
    dir: mkdtempSync(join(tmpdir(), "core-bench-mcp-")),
  };
  const report = newReport(
    "mcp",
    `The MCP gateway. Calls: tools/call of server-everything's echo (@modelcontextprotocol/server-everything, Streamable HTTP) with the SDK's client (@modelcontextprotocol/sdk), directly and through CORE's /mcp as everything__echo, both ending at the same server-everything process. ` +
      `CORE runs as a production node: CORE_ENV=production, services ${SERVICES.join(", ")}, NATS ${infra.natsUrl}, Redis ${infra.redisUrl} (rate limits: rateLimits.default and \`MCP /*\`, each a bucket no run empties, so every call takes both Redis round trips), ` +
      `PostgreSQL ${infra.databaseUrl.replace(/\/\/[^@/]*@/, "//")} (an audit row per call), metrics on, log level info; the caller is an admin, by bearer access token or by API key. ` +
      `Closed loop: N callers on one session each calling back to back; ${WARM_MS / 1000} s of warm-up per path, then ${RUN_MS / 1000} s per run, ${ROUNDS} rounds in rotating order, medians. ` +
      `Listing: ${LIST_SERVERS} SDK-built stdio servers of ${TOOLS_PER_SERVER} tools each (benchmarks/mcp-list-server.ts) behind a node set up the same way. Every server and CORE in a process of its own, the clients in the benchmark's.`,
  );
  const loadAtStart = loadavg()[0]!.toFixed(1);
  try {
    if (PARTS.includes("calls")) await benchmarkCalls(infra, report);
    if (PARTS.includes("list")) await benchmarkListing(infra, report);
  } finally {
    rmSync(infra.dir, { recursive: true, force: true });
    for (const name of ["calls", "list", ...(process.env.X_VARIANTS?.split(",") ?? []).map((_, i) => `v${i}`)]) {
      await cleanRedis(infra.redisUrl, `bench-mcp-${infra.tag}-${name}`).catch((err: unknown) => console.error(err));
      await dropSchema(infra.databaseUrl, `bench_mcp_${infra.tag}_${name}`).catch((err: unknown) => console.error(err));
    }
  }
  report.notes.unshift("Goal: under 1 ms added at p50 (added p50: CORE's p50 − the direct p50 of the same round, at the same concurrency; the median over rounds).");
  report.notes.push(
    "What CORE adds to a call: a second HTTP hop (client → CORE, then CORE → server-everything, both loopback, both Streamable HTTP answering as an SSE stream), admission (the JWT checked, from a cache of verified tokens; or the API key's hash checked against its row, read from PostgreSQL at most every 5 s per node), the HTTP rate limit in Redis, the MCP server side of the SDK in CORE, the catalogue lookup and RBAC, the per-tool rate limit in Redis, a call to the mcp.everything actor (mailbox, deadline and breaker), the SDK client's request upstream, and the audit row (written without waiting).",
    "added µs per call = 1e6 / CORE calls/s − 1e6 / direct calls/s (per round, median). At concurrency 8 the callers share one session (as a real client does); a call's p50 then includes waiting for the CPU behind the other seven.",
    "CPU µs/call: user + system time of the process (all its threads) from /proc/<pid>/stat over the run, divided by the calls answered; the kernel counts it in ticks, so an estimate, steady over thousands of calls. server-everything does the same work per call on both paths.",
    "The list servers over stdio are CORE's children; the direct listing spawns ten more of them, as a client without a gateway would. A tool added upstream: the server timestamps its list_changed (performance.timeOrigin + performance.now(), the same clock in every process of the machine); the client timestamps the notification it gets and the first tools/list that holds the new tool. Cold start: the node's process spawned with the user and API key of an earlier start already in PostgreSQL; the client connects once the node has started and lists until all the upstream tools are there.",
    `The machine was shared with other work: load average (1 min) ${loadAtStart} at the start, ${loadavg()[0]!.toFixed(1)} at the end, on ${report.machine.cpus} cores; rounds vary (the 'by round' column), the table shows their medians.`,
  );
  saveReport(report);
}
