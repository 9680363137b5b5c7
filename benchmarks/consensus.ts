import { consensusReference, createConsensus, type ConsensusEngine, type ExpertResponse } from "../lib/consensus";
import { responseSet } from "./consensus-corpus";
import { newReport, saveReport, type Row } from "./report";

/**
 * The native engine against the TypeScript reference, marshalling included:
 * both through the public functions (validation, the engine, the result by
 * expert id), one call at a time, side by side in one run (rounds alternate
 * which goes first), for 5, 32 and 128 responses of 1, 4 and 16 KB.
 */

const COUNTS = process.env.X_QUICK ? [32] : [5, 32, 128];
const SIZES_KB = process.env.X_QUICK ? [4] : [1, 4, 16];
const ROUNDS = 3;
/** Per engine, per cell, per round: at least this long and this many calls. */
const ROUND_MS = 700;
const MIN_CALLS = 5;

interface Sample {
  latenciesMs: number[];
  seconds: number;
}

async function measure(run: () => unknown): Promise<Sample> {
  const latenciesMs: number[] = [];
  const start = process.hrtime.bigint();
  const end = Date.now() + ROUND_MS;
  while (Date.now() < end || latenciesMs.length < MIN_CALLS) {
    const t0 = process.hrtime.bigint();
    await run();
    latenciesMs.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return { latenciesMs, seconds: Number(process.hrtime.bigint() - start) / 1e9 };
}

function summary(samples: Sample[]): { p50: number; p99: number; rate: number } {
  const all = samples.flatMap((s) => s.latenciesMs).sort((a, b) => a - b);
  const seconds = samples.reduce((s, x) => s + x.seconds, 0);
  const at = (q: number) => all[Math.min(all.length - 1, Math.floor(all.length * q))]!;
  return { p50: at(0.5), p99: at(0.99), rate: all.length / seconds };
}

const ms = (x: number) => (x < 10 ? x.toFixed(2) : x.toFixed(1));

export async function runConsensusBenchmark(): Promise<void> {
  const native: ConsensusEngine = createConsensus();
  if (native.engine !== "native") throw new Error("the native consensus engine did not load: run npm run build:native");
  const report = newReport(
    "consensus",
    `Consensus: the native engine (Rust, async napi task, rayon) against the TypeScript reference, marshalling included (both through lib/consensus: validation, engine, result by expert id); one call at a time; ${ROUNDS} rounds of at least ${ROUND_MS} ms per engine and cell, alternating which engine goes first; synthetic model-like answers (benchmarks/consensus-corpus.ts).`,
  );
  const rows: Row[] = [];
  for (const count of COUNTS) {
    for (const kb of SIZES_KB) {
      const responses: ExpertResponse[] = responseSet(count, kb * 1024);
      const engines = { native: () => native(responses), reference: () => consensusReference(responses) };
      // Warm both up (JIT, thread pool, allocator).
      for (let i = 0; i < 3; i++) {
        await engines.native();
        engines.reference();
      }
      const samples = { native: [] as Sample[], reference: [] as Sample[] };
      for (let round = 0; round < ROUNDS; round++) {
        const order = round % 2 === 0 ? (["native", "reference"] as const) : (["reference", "native"] as const);
        for (const engine of order) samples[engine].push(await measure(engines[engine]));
      }
      const n = summary(samples.native);
      const r = summary(samples.reference);
      rows.push({
        responses: count,
        "size each": `${kb} KB`,
        "native p50 ms": ms(n.p50),
        "native p99 ms": ms(n.p99),
        "native calls/s": Math.round(n.rate),
        "reference p50 ms": ms(r.p50),
        "reference p99 ms": ms(r.p99),
        "reference calls/s": Math.round(r.rate),
        "native / reference": `${(r.p50 / n.p50).toFixed(1)}×`,
      });
    }
  }
  report.tables.push({ title: "Native against reference", rows });
  report.notes.push(
    "native / reference = reference p50 ÷ native p50.",
    "Goals: native at least 10× the reference at 32 × 4 KB, and native p50 under 5 ms there.",
  );
  saveReport(report);
}
