import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { cleanRedis, dropSchema } from "./bench-cleanup";
import { drive, probe, type RunResult } from "./compare-load";
import {
  bareProxyTarget,
  CIRCLE_SIZE,
  coreTarget,
  directTarget,
  LATENCIES_MS,
  LITELLM_VERSION,
  liteLlmTarget,
  portkeyTarget,
  startStub,
  type CoreTarget,
  type RequestSpec,
  type Stub,
  type Target,
} from "./compare-targets";
import { median, newReport, saveReport, type Row } from "./report";
import { numbersEnv } from "./bench-env";

/**
 * `npm run bench:compare`: what a gateway in front of an OpenAI-compatible
 * upstream adds, side by side in one run. One stub upstream (fixed latency 0
 * and 50 ms, benchmarks/consult-provider.ts) in its own process; in front of
 * it, each in its own process: nothing (direct), a bare node:http + undici
 * keep-alive proxy (the floor of a Node gateway), CORE's `/v1/chat/completions`
 * passing through one expert, Portkey's gateway (npm) and the LiteLLM proxy
 * (PyPI, in .venv-litellm/). The load generator (autocannon) runs here.
 * Added latency = a target's p50/p99 − direct's at the same upstream latency
 * and concurrency; maximum throughput = 2xx answers/s at concurrency 50 with
 * the 0 ms upstream. Then CORE's circle consult of 5 experts on the same stub.
 *
 * Knobs: COMPARE_DURATION_SEC (per measured run, default 2), COMPARE_WARMUP_SEC
 * (per target, default 2), COMPARE_ROUNDS (default 3), COMPARE_CONNECTIONS
 * (default 1,50), COMPARE_TARGETS (e.g. direct,bare,core: leave gateways out),
 * COMPARE_KEEP_LOGS=1 (keep the targets' logs and configuration; they are kept anyway when the run fails).
 * COMPARE_PROFILE=core (a CPU profile of the CORE node, kept with the logs).
 * COMPARE_CIRCLE=0 (leave the circle consult out).
 * NATS_URL, REDIS_URL, DATABASE_URL: the services CORE runs on.
 */

const DURATION_S = Number(process.env.COMPARE_DURATION_SEC ?? 2);
const WARM_S = Number(process.env.COMPARE_WARMUP_SEC ?? 2);
const ROUNDS = Number(process.env.COMPARE_ROUNDS ?? 3);
const CONNECTIONS = numbersEnv("COMPARE_CONNECTIONS", [1, 50]);
const ONLY = process.env.COMPARE_TARGETS?.split(",").map((s) => s.trim().toLowerCase());
/** The goals of the issue: added p50 at concurrency 1, and CORE's share of the bare proxy's throughput at 50. */
const GOAL_ADDED_P50_MS = 0.35;
const GOAL_SHARE_OF_BARE = 0.5;
const MAX_CONNECTIONS = Math.max(...CONNECTIONS);

for (const [name, value] of [
  ["COMPARE_DURATION_SEC", DURATION_S],
  ["COMPARE_WARMUP_SEC", WARM_S],
  ["COMPARE_ROUNDS", ROUNDS],
] as const) {
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name}: a whole number ≥ 1 (autocannon counts whole seconds), not ${process.env[name]}`);
}
if (CONNECTIONS.some((c) => !Number.isInteger(c) || c < 1)) throw new Error(`COMPARE_CONNECTIONS: whole numbers ≥ 1, comma-separated, not ${process.env.COMPARE_CONNECTIONS}`);

interface Cell {
  latencyMs: number;
  connections: number;
  /** Runs per target name, one per round. */
  runs: Map<string, RunResult[]>;
}

interface Summary {
  rate: number;
  p50ms: number;
  p99ms: number;
  cpuUs: number | undefined;
  failed: number;
  statuses: Record<string, number>;
  byRound: string;
}

function summarize(runs: RunResult[]): Summary {
  const statuses: Record<string, number> = {};
  for (const r of runs) for (const [s, n] of Object.entries(r.statuses)) statuses[s] = (statuses[s] ?? 0) + n;
  return {
    rate: median(runs.map((r) => r.rate)),
    p50ms: median(runs.map((r) => r.p50us)) / 1000,
    p99ms: median(runs.map((r) => r.p99us)) / 1000,
    cpuUs: runs.every((r) => r.serverCpuUs !== undefined) ? median(runs.map((r) => r.serverCpuUs!)) : undefined,
    failed: runs.reduce((s, r) => s + r.non2xx + r.errors + r.timeouts, 0),
    statuses,
    byRound: runs.map((r) => Math.round(r.rate)).join(" / "),
  };
}

const fixed = (x: number, digits: number) => (Number.isFinite(x) ? x.toFixed(digits) : "–");
const signed = (x: number) => (Number.isFinite(x) ? `${x >= 0 ? "+" : ""}${x.toFixed(3)}` : "–");

/** Measures every target in every cell; rounds rotate the order, so each target goes first as often as the others. */
async function measure(targets: Target[], specOf: (t: Target, ms: number) => RequestSpec): Promise<Cell[]> {
  const cells: Cell[] = [];
  for (const latencyMs of LATENCIES_MS) {
    for (const connections of CONNECTIONS) {
      const cell: Cell = { latencyMs, connections, runs: new Map(targets.map((t) => [t.name, []])) };
      for (let round = 0; round < ROUNDS; round++) {
        const order = targets.map((_, i) => targets[(i + round) % targets.length]!);
        for (const target of order) {
          cell.runs.get(target.name)!.push(await drive(specOf(target, latencyMs), target.pid, connections, DURATION_S));
          process.stderr.write(".");
        }
      }
      process.stderr.write(` ${latencyMs} ms × ${connections}\n`);
      cells.push(cell);
    }
  }
  return cells;
}

export async function runCompareBenchmark(): Promise<void> {
  const natsUrl = process.env.NATS_URL ?? "nats://127.0.0.1:4222";
  const redisUrl = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
  const databaseUrl = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
  const wanted = (name: string) => !ONLY || ONLY.some((o) => name.toLowerCase().startsWith(o));
  const report = newReport(
    "compare",
    `POST /v1/chat/completions (non-streaming, the same messages everywhere) against one OpenAI-compatible stub upstream with a fixed latency of ${LATENCIES_MS.join(" and ")} ms (benchmarks/consult-provider.ts, its own process): ` +
      `direct; a bare node:http + undici Pool keep-alive proxy (benchmarks/bare-proxy.ts); CORE (\`core start\`, CORE_ENV=production, NATS, Redis rate limits, PostgreSQL, metrics on, log level info, an API key; model core/<expert> passes through one expert); ` +
      `Portkey's gateway (@portkey-ai/gateway, its Node build, provider openai with the stub as custom host); the LiteLLM proxy ${LITELLM_VERSION} (PyPI, one worker, no database, master key). ` +
      `Each target in a process of its own; the load generator (autocannon, keep-alive, one request in flight per connection) in the benchmark's process. ` +
      `${WARM_S} s warm-up per target, then ${DURATION_S} s per run, ${ROUNDS} round(s) in rotating order per cell (upstream latency × connections ${CONNECTIONS.join(", ")}), medians.`,
  );
  const loadAtStart = loadavg()[0]!.toFixed(1);
  const tag = `${process.pid}_${randomBytes(3).toString("hex")}`;
  const dir = mkdtempSync(join(tmpdir(), "core-bench-compare-"));
  const targets: Target[] = [];
  const unavailable: Array<{ name: string; reason: string }> = [];
  let core: CoreTarget | undefined;
  let stub: Stub | undefined;
  let ok = false;
  try {
    stub = await startStub();
    const s = stub;
    if (wanted("direct")) targets.push(directTarget(s));
    // The bare proxy and CORE are the point of the comparison: their failure to start fails the run.
    if (wanted("bare")) targets.push(await bareProxyTarget(s));
    if (wanted("core")) {
      process.stderr.write("starting CORE\n");
      core = await coreTarget(s, { natsUrl, redisUrl, databaseUrl, dir, tag });
      targets.push(core);
    }
    // The competitors are optional: when one cannot be installed or started, the run says why and goes on.
    const optional: Array<[string, () => Promise<Target>]> = [
      ["Portkey", () => portkeyTarget(s, dir)],
      ["LiteLLM", () => liteLlmTarget(s, dir)],
    ];
    for (const [name, start] of optional) {
      if (!wanted(name)) continue;
      process.stderr.write(`starting ${name}\n`);
      try {
        targets.push(await start());
      } catch (err) {
        unavailable.push({ name, reason: (err as Error).message });
        process.stderr.write(`${name} not measured: ${(err as Error).message}\n`);
      }
    }
    if (!targets.some((t) => t.name === "direct")) throw new Error("COMPARE_TARGETS must include direct: added latency is measured against it");

    // Every target answers a real completion for each latency before it is measured.
    for (const target of [...targets]) {
      try {
        for (const ms of LATENCIES_MS) await probe(target.name, target.request(ms));
      } catch (err) {
        if (target.name !== "Portkey" && target.name !== "LiteLLM") throw err;
        unavailable.push({ name: target.name, reason: (err as Error).message });
        targets.splice(targets.indexOf(target), 1);
        await target.stop();
      }
    }
    if (core) for (const ms of LATENCIES_MS) await probe("CORE circle", core.circle(ms));

    // Warm-up: JIT, connection pools to the stub, PostgreSQL and Redis.
    for (const target of targets) {
      const warm = await drive(target.request(0), target.pid, MAX_CONNECTIONS, WARM_S);
      process.stderr.write(`warm-up ${target.name}: ${Math.round(warm.rate)} req/s, ${warm.non2xx + warm.errors + warm.timeouts} failed\n`);
    }

    const cells = await measure(targets, (t, ms) => t.request(ms));
    const names = targets.map((t) => t.name);
    const rows: Row[] = [];
    const summaries = new Map<string, Summary>();
    const key = (name: string, ms: number, c: number) => `${name}|${ms}|${c}`;
    for (const cell of cells) {
      const direct = summarize(cell.runs.get("direct")!);
      for (const name of names) {
        const x = summarize(cell.runs.get(name)!);
        summaries.set(key(name, cell.latencyMs, cell.connections), x);
        rows.push({
          "upstream ms": cell.latencyMs,
          connections: cell.connections,
          target: name,
          "req/s": Math.round(x.rate),
          "p50 ms": fixed(x.p50ms, 3),
          "p99 ms": fixed(x.p99ms, 3),
          "added p50 ms": name === "direct" ? "" : signed(x.p50ms - direct.p50ms),
          "added p99 ms": name === "direct" ? "" : signed(x.p99ms - direct.p99ms),
          "server CPU µs/req": x.cpuUs === undefined ? "–" : Math.round(x.cpuUs),
          "non-2xx/errors": x.failed ? `${x.failed} ${JSON.stringify(x.statuses)}` : 0,
          "req/s by round": x.byRound,
        });
      }
    }
    report.tables.push({ title: "Added latency and throughput per target (medians of the rounds)", rows });

    // Maximum throughput: 0 ms upstream at the highest concurrency.
    const maxRow = (name: string) => summaries.get(key(name, 0, MAX_CONNECTIONS));
    const bare = maxRow("bare proxy");
    const direct0 = maxRow("direct")!;
    report.tables.push({
      title: `Maximum throughput: 2xx answers/s at ${MAX_CONNECTIONS} connections, 0 ms upstream`,
      rows: names.map((name) => {
        const x = maxRow(name)!;
        return {
          target: name,
          "req/s": Math.round(x.rate),
          "vs direct": `${((x.rate / direct0.rate) * 100).toFixed(1)} %`,
          "vs bare proxy": bare ? `${((x.rate / bare.rate) * 100).toFixed(1)} %` : "–",
          "server CPU µs/req": x.cpuUs === undefined ? "–" : Math.round(x.cpuUs),
          "non-2xx/errors": x.failed,
        };
      }),
    });

    // The circle consult of CIRCLE_SIZE experts, CORE only, beside direct (one call to the stub: the floor of 5 parallel calls).
    if (core && process.env.COMPARE_CIRCLE !== "0") {
      const circleTarget: Target = { ...core, name: "CORE circle" };
      const circleCells = await measure([circleTarget], (t, ms) => (t === circleTarget ? core!.circle(ms) : t.request(ms)));
      report.tables.push({
        title: `CORE's circle consult of ${CIRCLE_SIZE} experts on the same stub (model core/circle:<5 experts>, consult cache off)`,
        rows: circleCells.map((cell) => {
          const x = summarize(cell.runs.get("CORE circle")!);
          const d = summaries.get(key("direct", cell.latencyMs, cell.connections))!;
          const p = summaries.get(key("CORE", cell.latencyMs, cell.connections))!;
          return {
            "upstream ms": cell.latencyMs,
            connections: cell.connections,
            "consults/s": Math.round(x.rate),
            "p50 ms": fixed(x.p50ms, 3),
            "p99 ms": fixed(x.p99ms, 3),
            "added p50 ms vs direct": signed(x.p50ms - d.p50ms),
            "added p50 ms vs pass-through": signed(x.p50ms - p.p50ms),
            "server CPU µs/consult": x.cpuUs === undefined ? "–" : Math.round(x.cpuUs),
            "non-2xx/errors": x.failed ? `${x.failed} ${JSON.stringify(x.statuses)}` : 0,
            "consults/s by round": x.byRound,
          };
        }),
      });
    }

    // Goals: a target with failed requests in a cell does not count as faster there.
    const goals: Row[] = [];
    const coreAt = (ms: number, c: number) => summaries.get(key("CORE", ms, c));
    const directAt = (ms: number, c: number) => summaries.get(key("direct", ms, c))!;
    const verdict = (met: boolean | undefined) => (met === undefined ? "not measured" : met ? "met" : "NOT MET");
    for (const ms of LATENCIES_MS) {
      const c = coreAt(ms, 1);
      if (!CONNECTIONS.includes(1)) break;
      const added = c ? c.p50ms - directAt(ms, 1).p50ms : NaN;
      goals.push({
        goal: `concurrency 1, ${ms} ms upstream: CORE adds < ${GOAL_ADDED_P50_MS} ms at p50`,
        result: verdict(c ? c.failed === 0 && added < GOAL_ADDED_P50_MS : undefined),
        measured: c ? `${added.toFixed(3)} ms${c.failed ? `, ${c.failed} failed` : ""}` : "–",
      });
    }
    const coreMax = maxRow("CORE");
    goals.push({
      goal: `concurrency ${MAX_CONNECTIONS}, 0 ms upstream: CORE ≥ ${GOAL_SHARE_OF_BARE * 100} % of the bare proxy's req/s`,
      result: verdict(coreMax && bare ? coreMax.failed === 0 && coreMax.rate >= GOAL_SHARE_OF_BARE * bare.rate : undefined),
      measured: coreMax && bare ? `${Math.round(coreMax.rate)} vs ${Math.round(bare.rate)} req/s (${((coreMax.rate / bare.rate) * 100).toFixed(1)} %)` : "–",
    });
    for (const rival of ["Portkey", "LiteLLM"]) {
      const gone = unavailable.find((u) => u.name === rival);
      if (gone || !names.includes(rival)) {
        goals.push({ goal: `CORE beats ${rival}`, result: "not measured", measured: gone ? gone.reason.split("\n")[0]!.slice(0, 300) : "left out (COMPARE_TARGETS)" });
        continue;
      }
      for (const ms of LATENCIES_MS) {
        for (const c of CONNECTIONS) {
          const mine = coreAt(ms, c);
          const theirs = summaries.get(key(rival, ms, c))!;
          if (!mine) continue;
          const d = directAt(ms, c);
          // A rival whose requests failed is not faster; CORE's own failures lose the cell.
          const better = mine.failed === 0 && (theirs.failed > 0 || (mine.p50ms < theirs.p50ms && mine.p99ms < theirs.p99ms));
          goals.push({
            goal: `${ms} ms upstream, ${c} connection(s): CORE adds less than ${rival} at p50 and p99`,
            result: verdict(better),
            measured: `added p50 ${signed(mine.p50ms - d.p50ms)} vs ${signed(theirs.p50ms - d.p50ms)} ms, p99 ${signed(mine.p99ms - d.p99ms)} vs ${signed(theirs.p99ms - d.p99ms)} ms${theirs.failed ? `; ${rival} ${theirs.failed} failed` : ""}`,
          });
        }
      }
      const theirsMax = maxRow(rival)!;
      if (coreMax) {
        goals.push({
          goal: `maximum throughput: CORE above ${rival}`,
          result: verdict(coreMax.failed === 0 && (theirsMax.failed > 0 || coreMax.rate > theirsMax.rate)),
          measured: `${Math.round(coreMax.rate)} vs ${Math.round(theirsMax.rate)} req/s${theirsMax.failed ? `; ${rival} ${theirsMax.failed} failed` : ""}`,
        });
      }
    }
    report.tables.unshift({ title: "Goals", rows: goals });
    for (const u of unavailable) report.notes.push(`${u.name} was not measured: ${u.reason}`);
    report.notes.push(
      "Added latency: a target's p50 (p99) minus direct's p50 (p99) in the same cell (same upstream latency and connections), each the median over the rounds. With N connections a request also waits behind the other N − 1, so at 50 connections the figures include queueing in the gateway.",
      "non-2xx/errors: answers other than 2xx, socket errors and timeouts (10 s) over all rounds, with the status codes; latency and req/s count 2xx answers only, and a target with failures in a cell is not counted as beating CORE there.",
      "Server CPU µs/req: user + system time of the target's process (all its threads) from /proc/<pid>/stat over the run, per 2xx answer (the kernel counts 10 ms ticks: an estimate). The stub's CPU is not in it; the LiteLLM figure is of its one uvicorn worker process.",
      `The load generator shares the machine's ${report.machine.cpus} cores with the stub, the target and (for CORE) NATS, Redis and PostgreSQL: at 50 connections and 0 ms upstream the fastest targets are bounded by the generator and the stub as much as by themselves, which understates their difference.`,
      `Load average (1 min) ${loadAtStart} at the start, ${loadavg()[0]!.toFixed(1)} at the end. Rounds vary; the 'by round' columns show how much.`,
    );
    ok = true;
  } finally {
    await Promise.all(targets.map((t) => t.stop().catch((err: unknown) => console.error(err))));
    await stub?.stop();
    if (core) {
      await cleanRedis(redisUrl, core.redisPrefix).catch((err: unknown) => console.error(err));
      await dropSchema(databaseUrl, core.schema).catch((err: unknown) => console.error(err));
    }
    // The targets' logs stay when the run failed, to read why.
    if (ok && !process.env.COMPARE_KEEP_LOGS && !process.env.COMPARE_PROFILE) rmSync(dir, { recursive: true, force: true });
    else console.error(`logs of the targets kept in ${dir}`);
  }
  saveReport(report);
}

if (require.main === module) {
  runCompareBenchmark().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
