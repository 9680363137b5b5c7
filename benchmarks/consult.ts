import { request } from "undici";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { randomBytes } from "node:crypto";
import type { Consultation } from "../lib/circle/consultation";
import { startNode, type CoreNode } from "../node";
import { QUESTION } from "./consult-provider";
import { dropSchema } from "./bench-cleanup";
import { median, newReport, saveReport, type Row } from "./report";
import { numbersEnv } from "./bench-env";

/**
 * `circle.consult` end to end on one CORE node, five experts answered by
 * fixed-latency OpenAI-compatible servers (benchmarks/consult-provider.ts, in a
 * process of their own): what CORE adds over the slowest expert, at p50 and
 * p99, and consults/s with 1, 16 and 64 callers each consulting back to back.
 * Two setups side by side in one run, rounds alternating which goes first:
 * embedded (no transporter, PGlite) and clustered (NATS, PostgreSQL); and a
 * baseline with no CORE at all: the same five HTTP requests sent at once with
 * undici's request (what the providers use) from this process, all awaited.
 */

/** Each expert's fixed latency (ms); the slowest sets the floor of every consult. */
const LATENCIES_MS = [20, 25, 30, 35, 40];
const SLOWEST_MS = Math.max(...LATENCIES_MS);
/** X_CONCURRENCY=1,64 and X_SETUPS=embedded narrow a run (for profiling one setup: X_PROFILE). */
const CONCURRENCY = numbersEnv("X_CONCURRENCY", process.env.X_QUICK ? [1, 64] : [1, 16, 64]);
const ROUNDS = 3;
/** Per setup, cell and round: WARM_MS unmeasured, then RUN_MS measured, the callers never pausing in between. */
const WARM_MS = 500;
const RUN_MS = process.env.X_QUICK ? 1_000 : 3_000;
const SERVICES = ["supervisor", "aggregator", "experts", "circle"];

const BASELINE = "baseline: 5 × HTTP request";
type Setup = typeof BASELINE | "embedded" | "clustered";

interface Sample {
  ms: number;
  consultation?: Consultation;
}

interface RunResult {
  rate: number;
  p50: number;
  p99: number;
  samples: Sample[];
}

/** Starts the model servers in their own process and waits for their ports. */
function startProviders(): Promise<{ child: ChildProcess; ports: number[] }> {
  const child = spawn(process.execPath, [join(__dirname, "consult-provider.js"), ...LATENCIES_MS.map(String)], { stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      const m = /ready (\{.*\})/.exec(out);
      if (m) resolve({ child, ports: (JSON.parse(m[1]!) as { ports: number[] }).ports });
    });
    child.once("exit", (code) => reject(new Error(`the provider stub exited with ${code}`)));
  });
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  await exited;
}

/** What a consult must look like for its timing to count: all five answered, agreeing on Paris. */
function check(c: Consultation): Consultation {
  const answered = c.outcomes.filter((o) => o.status === "answered").length;
  if (c.status !== "completed" || answered !== LATENCIES_MS.length || c.consensus?.vote?.answer !== "paris") {
    throw new Error(`unexpected consult: status ${c.status}, ${answered} answered, vote ${JSON.stringify(c.consensus?.vote)}`);
  }
  return c;
}

/**
 * `concurrency` callers, each consulting back to back (closed loop), started
 * spread over one consult's time so they do not move in lock step; the
 * consults started in the measured window count.
 */
async function drive(call: () => Promise<Consultation | undefined>, concurrency: number): Promise<RunResult> {
  const t0 = Date.now();
  const measureFrom = t0 + WARM_MS;
  const end = measureFrom + RUN_MS;
  const samples: Sample[] = [];
  await Promise.all(
    Array.from({ length: concurrency }, async (_, i) => {
      await new Promise((r) => setTimeout(r, (i * SLOWEST_MS) / concurrency));
      for (;;) {
        const started = Date.now();
        if (started >= end) break;
        const h0 = process.hrtime.bigint();
        const consultation = await call();
        const ms = Number(process.hrtime.bigint() - h0) / 1e6;
        if (started >= measureFrom) samples.push(consultation ? { ms, consultation } : { ms });
      }
    }),
  );
  const sorted = samples.map((s) => s.ms).sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))]!;
  return { rate: samples.length / (RUN_MS / 1000), p50: at(0.5), p99: at(0.99), samples };
}

/** X_PROFILE=<dir>: a V8 CPU profile of this process (the node runs in it) over each CORE run, warm-up included; read with benchmarks/cpu-profile.ts. */
const PROFILE_DIR = process.env.X_PROFILE;

async function startProfile(): Promise<{ stop(file: string): Promise<void> }> {
  const session = new Session();
  session.connect();
  await session.post("Profiler.enable");
  await session.post("Profiler.start");
  return {
    async stop(file) {
      const { profile } = await session.post("Profiler.stop");
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, JSON.stringify(profile));
      session.disconnect();
    },
  };
}

const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
const ms = (x: number) => x.toFixed(2);

/** The five requests CORE's OpenAI client sends, sent at once from here with undici's request, all awaited: no actor, no consensus, no store. */
function baselineCall(ports: number[]): () => Promise<undefined> {
  const body = (i: number) => JSON.stringify({ model: `stub-${i + 1}`, messages: [{ role: "user", content: QUESTION }], max_tokens: 1024 });
  return async () => {
    await Promise.all(
      ports.map(async (port, i) => {
        // The HTTP client CORE's providers use (undici's request, keep-alive): the baseline is the cheapest way to ask.
        const res = await request(`http://127.0.0.1:${port}/v1/chat/completions`, {
          method: "POST",
          headers: { "content-type": "application/json", accept: "application/json" },
          body: body(i),
        });
        const json = JSON.parse(await res.body.text()) as { choices?: Array<{ message?: { content?: string } }> };
        if (res.statusCode !== 200 || !json.choices?.[0]?.message?.content) throw new Error(`baseline: ${res.statusCode} from port ${port}`);
      }),
    );
    return undefined;
  };
}

export async function runConsultBenchmark(): Promise<void> {
  const natsUrl = process.env.NATS_URL ?? "nats://127.0.0.1:4222";
  const databaseUrl = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
  const report = newReport(
    "consult",
    `circle.consult end to end on one CORE node (services ${SERVICES.join(", ")}), called in-process with node.broker.call, cache bypassed (cache: false): ` +
      `${LATENCIES_MS.length} experts (provider openai-compatible) answered by fixed-latency chat completions servers (${LATENCIES_MS.join(", ")} ms) in a process of their own (benchmarks/consult-provider.ts). ` +
      `Closed loop: N callers each consulting back to back; per cell ${WARM_MS} ms of warm-up then ${RUN_MS} ms measured, ${ROUNDS} rounds in rotating order, medians. ` +
      `Setups: embedded (no transporter, PGlite in a temp directory), clustered (NATS ${natsUrl}, PostgreSQL ${databaseUrl.replace(/\/\/[^@/]*@/, "//")}, own namespace and schema), ` +
      `and a baseline without CORE (the same five HTTP requests at once with undici's request, as the providers send them, from this process).`,
  );

  const tag = `${process.pid}_${randomBytes(3).toString("hex")}`;
  const dir = mkdtempSync(join(tmpdir(), "core-bench-consult-"));
  const schema = `bench_consult_${tag}`;
  const providers = await startProviders();
  const nodes: CoreNode[] = [];
  const rows: Row[] = [];
  const breakdown: Row[] = [];
  try {
    const configFile = join(dir, "core.json");
    writeFileSync(
      configFile,
      JSON.stringify({
        experts: providers.ports.map((port, i) => ({
          id: `e${i + 1}-${LATENCIES_MS[i]}ms`,
          provider: "openai-compatible",
          model: `stub-${i + 1}`,
          baseUrl: `http://127.0.0.1:${port}/v1`,
          price: { inputPerMTok: 1, outputPerMTok: 4 },
        })),
      }),
    );
    const common = { CORE_CONFIG: configFile, CORE_LOG_LEVEL: "error", CORE_METRICS: "false" };
    const embedded = await startNode({ env: { ...common, CORE_NODE_ID: "bench-embedded", CORE_DATA_DIR: join(dir, "pglite") }, services: SERVICES, command: "bench-consult" });
    nodes.push(embedded);
    const clustered = await startNode({
      env: { ...common, CORE_NODE_ID: "bench-clustered", NATS_URL: natsUrl, CORE_NAMESPACE: `bench-consult-${tag}`.replace(/_/g, "-"), DATABASE_URL: databaseUrl, CORE_DB_SCHEMA: schema },
      services: SERVICES,
      command: "bench-consult",
    });
    nodes.push(clustered);

    const consult = (node: CoreNode) => async () => check(await node.broker.call<Consultation, object>("circle.consult", { question: QUESTION, cache: false, timeoutMs: 10_000 }));
    const calls: Record<Setup, () => Promise<Consultation | undefined>> = {
      [BASELINE]: baselineCall(providers.ports),
      embedded: consult(embedded),
      clustered: consult(clustered),
    };
    const only = process.env.X_SETUPS?.split(",");
    const setups = (Object.keys(calls) as Setup[]).filter((s) => !only || only.some((o) => s.startsWith(o)));

    // Warm-up: JIT, connection pools, the store's first writes, the native engine's threads.
    for (const setup of setups) await drive(calls[setup], 16);

    for (const concurrency of CONCURRENCY) {
      const runs = Object.fromEntries(setups.map((s) => [s, [] as RunResult[]])) as Record<Setup, RunResult[]>;
      for (let round = 0; round < ROUNDS; round++) {
        const order = setups.map((_, i) => setups[(i + round) % setups.length]!);
        for (const setup of order) {
          const profiler = PROFILE_DIR && setup !== BASELINE ? await startProfile() : undefined;
          runs[setup].push(await drive(calls[setup], concurrency));
          await profiler?.stop(join(PROFILE_DIR!, `consult-${setup}-c${concurrency}-r${round}.cpuprofile`));
          process.stderr.write(".");
        }
      }
      const baselineP50 = runs[BASELINE].length ? median(runs[BASELINE].map((x) => x.p50)) : undefined;
      for (const setup of setups) {
        const r = runs[setup];
        const p50 = median(r.map((x) => x.p50));
        const p99 = median(r.map((x) => x.p99));
        rows.push({
          setup,
          concurrency,
          "consults/s": median(r.map((x) => x.rate)).toFixed(1),
          "p50 ms": ms(p50),
          "p99 ms": ms(p99),
          "overhead p50 ms": ms(p50 - SLOWEST_MS),
          "overhead p99 ms": ms(p99 - SLOWEST_MS),
          "p50 over baseline ms": setup === BASELINE || baselineP50 === undefined ? "–" : ms(p50 - baselineP50),
        });
        // Where a consult's time goes, from the consultation's own clock (whole ms, so means over every consult).
        if (concurrency === 1 && setup !== BASELINE) {
          const samples = r.flatMap((x) => x.samples).filter((s) => s.consultation);
          const slowest = samples.map((s) => Math.max(...s.consultation!.outcomes.map((o) => o.latencyMs)));
          breakdown.push({
            setup,
            consults: samples.length,
            "end to end ms": ms(mean(samples.map((s) => s.ms))),
            "slowest expert, as the circle saw it, ms": ms(mean(slowest)),
            "consensus and assembly ms": ms(mean(samples.map((s, i) => s.consultation!.durationMs - slowest[i]!))),
            "store write and the circle.consult call ms": ms(mean(samples.map((s) => s.ms - s.consultation!.durationMs))),
          });
        }
      }
    }
    process.stderr.write("\n");
  } finally {
    for (const node of nodes.reverse()) await node.stop().catch((err: unknown) => console.error(err));
    await stopChild(providers.child);
    rmSync(dir, { recursive: true, force: true });
    await dropSchema(databaseUrl, schema);
  }

  report.tables.push({ title: `circle.consult: ${LATENCIES_MS.length} experts, the slowest answering in ${SLOWEST_MS} ms`, rows });
  report.tables.push({ title: "Concurrency 1: where a consult's time goes (means)", rows: breakdown });
  report.notes.push(
    `Goal: overhead p50 under 2 ms at concurrency 1. Overhead = end-to-end latency − ${SLOWEST_MS} ms, the fixed latency of the slowest stub expert.`,
    "The overhead contains: the circle actor (request validation, the fan-out under one deadline; no budgets are configured and the cache is bypassed), five expert actor calls (expert.<id>.ask: mailbox, deadline and retry middleware, provider breaker), five HTTP requests to the stub servers (JSON out, JSON in, usage and cost), the consensus (aggregator.aggregate, native engine off the event loop), and the store write of the consultation (consultation, responses, usage) before the reply.",
    "It also contains what no product could avoid: the stub's timer firing at or a little after its nominal latency, and loopback HTTP. The baseline rows (the same five requests with undici's request, no CORE) measure that floor; 'p50 over baseline' is CORE's own share at p50: a setup's p50 minus the baseline's at the same concurrency.",
    "Clustered: the node has a NATS transporter and PostgreSQL, but its caller and every actor are on that node, so calls stay local (preferLocal); the difference to embedded is mostly the store (PostgreSQL over TCP vs PGlite in-process).",
    "consults/s counts the consults started in the measured window. In a closed loop with 64 callers the p50 includes queueing for this process's CPU (Little's law: latency ≈ callers / throughput).",
    "Breakdown table: from each consultation's own timings (Date.now, whole ms, hence means). 'Slowest expert' is the latest expert outcome's latency as the fan-out measured it (expert actor call + HTTP + the stub's 40 ms); 'consensus and assembly' is durationMs minus it; the rest (end to end − durationMs) is the store write, the reply and the call into circle.consult.",
  );
  saveReport(report);
}
