import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { closeSync, existsSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { packageInfo } from "../lib/package-info";

/**
 * The processes of benchmarks/compare: the OpenAI-compatible stub upstream
 * (benchmarks/consult-provider.ts, one server per fixed latency) and each
 * gateway under test, every one in a process of its own and pointed at the
 * same stub servers. A target answers, for an upstream latency, the request
 * the load generator sends it (URL, headers, model); the body is the same
 * everywhere but for the model's name, which each gateway spells its own way.
 */

/** The upstream latencies (ms) every target is measured against. */
export const LATENCIES_MS = [0, 50] as const;
/** Experts of the circle consult, per latency. */
export const CIRCLE_SIZE = 5;
/** The LiteLLM release the script installs into .venv-litellm/ (pinned: its proxy changes often). */
export const LITELLM_VERSION = "1.108.7";

export interface RequestSpec {
  url: string;
  headers: Record<string, string>;
  model: string;
}

export interface Target {
  name: string;
  /** The process whose CPU time is measured (none for direct). */
  pid: number | undefined;
  request(latencyMs: number): RequestSpec;
  stop(): Promise<void>;
}

export interface Stub {
  /** Port of the stub server with each latency. */
  ports: Map<number, number>;
  stop(): Promise<void>;
}

const CHAT_PATH = "/v1/chat/completions";
const root = packageInfo().root;

export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  // A gateway that ignores SIGTERM (or drains slowly) is not left behind.
  const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
  await exited;
  clearTimeout(timer);
}

export function freePort(): Promise<number> {
  const server = createServer();
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Spawns a node script of benchmarks/ that prints `ready {json}` and resolves with that JSON. */
function spawnReady<T>(script: string, args: string[]): Promise<{ child: ChildProcess; ready: T }> {
  const child = spawn(process.execPath, [join(__dirname, script), ...args], { stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      const m = /ready (\{.*\})/.exec(out);
      if (m) resolve({ child, ready: JSON.parse(m[1]!) as T });
    });
    child.once("exit", (code) => reject(new Error(`${script} exited with ${code}`)));
  });
}

/**
 * Spawns a server whose output goes to `log` and waits until `probeUrl`
 * answers (any status below 500), or rejects with the log's tail when the
 * process exits or `timeoutMs` passes.
 */
async function spawnServer(name: string, command: string, args: string[], env: NodeJS.ProcessEnv, log: string, probeUrl: string, timeoutMs: number): Promise<ChildProcess> {
  const fd = openSync(log, "a");
  const child = spawn(command, args, { stdio: ["ignore", fd, fd], env });
  closeSync(fd);
  const tail = () => (existsSync(log) ? readFileSync(log, "utf8").split("\n").slice(-15).join("\n") : "");
  let exited: string | undefined;
  child.once("exit", (code, signal) => (exited = `exited with ${code ?? signal}`));
  child.once("error", (err) => (exited = err.message));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (exited) throw new Error(`${name} ${exited} before it was ready; its log (${log}) ends:\n${tail()}`);
    if (Date.now() > deadline) {
      await stopChild(child);
      throw new Error(`${name} not ready after ${timeoutMs / 1000} s; its log (${log}) ends:\n${tail()}`);
    }
    const status = await fetch(probeUrl).then(
      (res) => res.status,
      () => 0,
    );
    if (status > 0 && status < 500) return child;
    await new Promise((r) => setTimeout(r, 250));
  }
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"], env });
    let out = "";
    let err = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString()));
    child.stderr.on("data", (c: Buffer) => (err += c.toString()));
    child.once("error", reject);
    child.once("exit", (code) => (code === 0 ? resolve(out) : reject(new Error(`${command} ${args.join(" ")} exited with ${code}: ${err.trim().slice(-2000)}`))));
  });
}

export async function startStub(): Promise<Stub> {
  const { child, ready } = await spawnReady<{ ports: number[] }>("consult-provider.js", LATENCIES_MS.map(String));
  return { ports: new Map(LATENCIES_MS.map((ms, i) => [ms, ready.ports[i]!])), stop: () => stopChild(child) };
}

const stubBase = (stub: Stub, latencyMs: number) => `http://127.0.0.1:${stub.ports.get(latencyMs)!}`;

export function directTarget(stub: Stub): Target {
  return {
    name: "direct",
    pid: undefined,
    request: (ms) => ({ url: `${stubBase(stub, ms)}${CHAT_PATH}`, headers: { authorization: "Bearer sk-stub" }, model: "stub-model" }),
    stop: async () => undefined,
  };
}

export async function bareProxyTarget(stub: Stub): Promise<Target> {
  const { child, ready } = await spawnReady<{ url: string }>("bare-proxy.js", LATENCIES_MS.map((ms) => stubBase(stub, ms)));
  return {
    name: "bare proxy",
    pid: child.pid,
    request: (ms) => ({ url: `${ready.url}${CHAT_PATH}`, headers: { authorization: "Bearer sk-stub", "x-upstream": String(LATENCIES_MS.indexOf(ms as 0 | 50)) }, model: "stub-model" }),
    stop: () => stopChild(child),
  };
}

export interface CoreSetup {
  natsUrl: string;
  redisUrl: string;
  databaseUrl: string;
  /** Where configuration and logs go. */
  dir: string;
  tag: string;
}

export interface CoreTarget extends Target {
  /** Request spec of the circle consult of CIRCLE_SIZE experts at that upstream latency. */
  circle(latencyMs: number): RequestSpec;
  schema: string;
  redisPrefix: string;
}

export const passThroughExpert = (ms: number) => `stub-${ms}ms`;
const circleExpert = (ms: number, i: number) => `circle-${ms}ms-${i + 1}`;

/**
 * `core start` as in production: CORE_ENV=production, NATS, Redis (rate
 * limits), PostgreSQL (consultations, keys, audit), metrics on, log level info;
 * one expert per stub latency (the pass-through) and CIRCLE_SIZE more per
 * latency for the circle consult, all on the same stub; the consult cache off
 * (CORE_CACHE_TTL=0) so every circle consult asks its experts. A rate-limit
 * bucket no run can empty keeps the limiter's Redis round trip in the path
 * without refusing anything. The load generator authenticates with an API key
 * made by `core keys create` (role operator).
 */
export async function coreTarget(stub: Stub, setup: CoreSetup): Promise<CoreTarget> {
  const experts = LATENCIES_MS.flatMap((ms) => [
    { id: passThroughExpert(ms), provider: "openai-compatible", model: "stub-model", baseUrl: `${stubBase(stub, ms)}/v1`, price: { inputPerMTok: 1, outputPerMTok: 4 } },
    ...Array.from({ length: CIRCLE_SIZE }, (_, i) => ({ id: circleExpert(ms, i), provider: "openai-compatible", model: "stub-model", baseUrl: `${stubBase(stub, ms)}/v1` })),
  ]);
  const configFile = join(setup.dir, "core.json");
  writeFileSync(configFile, JSON.stringify({ experts, rateLimits: { default: { capacity: 1_000_000_000, refillPerSecond: 1 } } }));
  const port = await freePort();
  const schema = `bench_compare_${setup.tag}`;
  const redisPrefix = `bench-compare-${setup.tag}`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    CORE_ENV: "production",
    CORE_JWT_SECRET: randomBytes(48).toString("base64"),
    CORE_CONFIG: configFile,
    CORE_NODE_ID: `bench-compare-${setup.tag}`,
    CORE_NAMESPACE: `bench-compare-${setup.tag}`.replace(/_/g, "-"),
    CORE_HOST: "127.0.0.1",
    CORE_API_PORT: String(port),
    CORE_METRICS_PORT: String(await freePort()),
    CORE_LOG_LEVEL: "info",
    CORE_CACHE_TTL: "0",
    NATS_URL: setup.natsUrl,
    REDIS_URL: setup.redisUrl,
    CORE_REDIS_PREFIX: redisPrefix,
    DATABASE_URL: setup.databaseUrl,
    CORE_DB_SCHEMA: schema,
  };
  const coreJs = join(root, "dist", "bin", "core.js");
  const url = `http://127.0.0.1:${port}`;
  // COMPARE_PROFILE=core: a V8 CPU profile of the node, written to the run's directory when it stops (read it with benchmarks/cpu-profile.ts).
  const profile = process.env.COMPARE_PROFILE?.split(",").includes("core") ? ["--cpu-prof", `--cpu-prof-dir=${setup.dir}`, "--cpu-prof-name=core.cpuprofile"] : [];
  const child = await spawnServer("core start", process.execPath, [...profile, coreJs, "start"], env, join(setup.dir, "core.log"), `${url}/health/ready`, 60_000);
  try {
    // A client node of the same cluster (its own node id), quiet so that stdout is the key's JSON.
    const printed = await run(process.execPath, [coreJs, "keys", "create", "--name", "bench-compare", "--role", "operator", "--json"], {
      ...env,
      CORE_NODE_ID: `${env.CORE_NODE_ID}-cli`,
      CORE_LOG_LEVEL: "error",
    });
    const created = JSON.parse(printed.slice(printed.indexOf("{\n"))) as { key?: string };
    if (!created.key) throw new Error("core keys create printed no key");
    const headers = { authorization: `Bearer ${created.key}` };
    return {
      name: "CORE",
      pid: child.pid,
      schema,
      redisPrefix,
      request: (ms) => ({ url: `${url}${CHAT_PATH}`, headers, model: `core/${passThroughExpert(ms)}` }),
      circle: (ms) => ({ url: `${url}${CHAT_PATH}`, headers, model: `core/circle:${Array.from({ length: CIRCLE_SIZE }, (_, i) => circleExpert(ms, i)).join(",")}` }),
      stop: () => stopChild(child),
    };
  } catch (err) {
    await stopChild(child);
    throw err;
  }
}

/**
 * Portkey's open-source gateway (@portkey-ai/gateway, its Node build) on a
 * port of its own, headless (no console UI); each request names the provider
 * (openai) and the stub as its custom host in Portkey's headers.
 */
export async function portkeyTarget(stub: Stub, dir: string): Promise<Target> {
  const entry = join(root, "node_modules", "@portkey-ai", "gateway", "build", "start-server.js");
  if (!existsSync(entry)) throw new Error(`${entry} is missing: run npm ci (it is a devDependency)`);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = await spawnServer("Portkey gateway", process.execPath, [entry, `--port=${port}`, "--headless"], { ...process.env, NODE_ENV: "production" }, join(dir, "portkey.log"), `${url}/`, 30_000);
  return {
    name: "Portkey",
    pid: child.pid,
    request: (ms) => ({
      url: `${url}${CHAT_PATH}`,
      headers: { authorization: "Bearer sk-stub", "x-portkey-provider": "openai", "x-portkey-custom-host": `${stubBase(stub, ms)}/v1` },
      model: "stub-model",
    }),
    stop: () => stopChild(child),
  };
}

const venv = join(root, ".venv-litellm");

/** The pinned LiteLLM proxy in .venv-litellm/, installed (python3 -m venv, pip) when missing or of another version, as scripts/schemathesis.mjs installs schemathesis. */
export async function ensureLiteLlm(): Promise<string> {
  const bin = join(venv, "bin", "litellm");
  const version = existsSync(bin) ? await run(bin, ["--version"], process.env).catch(() => "") : "";
  if (version.includes(LITELLM_VERSION)) return bin;
  const python = process.env.PYTHON ?? "python3";
  process.stderr.write(`installing litellm[proxy]==${LITELLM_VERSION} into ${venv} (a few minutes, ~750 MB)\n`);
  await run(python, ["-m", "venv", "--clear", venv], process.env);
  await run(join(venv, "bin", "python"), ["-m", "pip", "install", "--quiet", "--disable-pip-version-check", `litellm[proxy]==${LITELLM_VERSION}`], process.env);
  return bin;
}

/**
 * The LiteLLM proxy (`litellm --config`), one worker, no database: one model
 * per stub latency (provider openai, api_base the stub), a master key as the
 * only credential, the bundled model cost map (no download at start).
 */
export async function liteLlmTarget(stub: Stub, dir: string): Promise<Target> {
  const bin = await ensureLiteLlm();
  const masterKey = `sk-${randomBytes(12).toString("hex")}`;
  const configFile = join(dir, "litellm.yaml");
  const models = LATENCIES_MS.map(
    (ms) => `  - model_name: ${passThroughExpert(ms)}\n    litellm_params:\n      model: openai/stub-model\n      api_base: ${stubBase(stub, ms)}/v1\n      api_key: sk-stub\n`,
  );
  writeFileSync(configFile, `model_list:\n${models.join("")}litellm_settings:\n  telemetry: false\ngeneral_settings:\n  master_key: ${masterKey}\n`);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const env = { ...process.env, LITELLM_LOCAL_MODEL_COST_MAP: "True", LITELLM_LOG: "ERROR", LITELLM_TELEMETRY: "False", DISABLE_SCHEMA_UPDATE: "True" };
  const child = await spawnServer(
    "LiteLLM proxy",
    bin,
    ["--config", configFile, "--host", "127.0.0.1", "--port", String(port), "--num_workers", "1"],
    env,
    join(dir, "litellm.log"),
    `${url}/health/liveliness`,
    120_000,
  );
  return {
    name: "LiteLLM",
    pid: child.pid,
    request: (ms) => ({ url: `${url}${CHAT_PATH}`, headers: { authorization: `Bearer ${masterKey}` }, model: passThroughExpert(ms) }),
    stop: () => stopChild(child),
  };
}
