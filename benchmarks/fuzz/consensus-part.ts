import { fork } from "node:child_process";
import { join } from "node:path";
import type { WorkerInput, WorkerMessage } from "./consensus-worker";
import { envCount, FailureLog, quick, Tally, type FuzzPartResult } from "./fuzz-part";

/**
 * Part 3 of `npm run fuzz`: fast-check input for `consensus(responses,
 * options)` (benchmarks/fuzz/consensus-input.ts), each case through the native
 * engine (`createConsensus`, what `consensus` uses) and the TypeScript
 * reference (`consensusReference`). Each must answer a result that keeps the
 * invariants (benchmarks/fuzz/consensus-check.ts) or throw a typed input error
 * (VALIDATION_FAILED, PAYLOAD_TOO_LARGE), exactly when the documented contract
 * says the input is wrong; the two engines must agree (results within 1e-9,
 * as test/unit/lib/consensus/parity.test.ts compares them, or the same error
 * code). A case that runs longer than the per-case timeout is a hang: its
 * worker is stopped and a new one goes on with the next case.
 *
 * Knobs: FUZZ_CONSENSUS_RUNS (10 000; FUZZ_QUICK 300), FUZZ_SEED (random),
 * FUZZ_CONSENSUS_FROM (first case index, to replay one), FUZZ_CONSENSUS_CASE_TIMEOUT_MS (30 000).
 */

export async function runConsensusFuzz(): Promise<FuzzPartResult> {
  const runs = envCount("FUZZ_CONSENSUS_RUNS", quick() ? 300 : 10_000);
  const seed = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : Math.floor(Math.random() * 2 ** 31);
  const from = process.env.FUZZ_CONSENSUS_FROM ? Number(process.env.FUZZ_CONSENSUS_FROM) : 0;
  const caseTimeoutMs = envCount("FUZZ_CONSENSUS_CASE_TIMEOUT_MS", 30_000);
  const started = performance.now();
  const log = new FailureLog();
  const failures = log.tally;
  const outcomes = new Tally();
  const durations: number[] = [];
  let slowest = { ms: 0, index: -1 };
  const engines = new Set<string>();
  let next = from;
  const end = from + runs;
  console.log(`fuzz consensus: ${runs} cases, seed ${seed}, per-case timeout ${caseTimeoutMs} ms`);

  /** Runs cases from `next` to the end in one child process; resolves when it exits (done, crashed, or killed for a hang). */
  const runWorker = () =>
    new Promise<void>((resolve) => {
      const input: WorkerInput = { seed, from: next, to: end };
      const worker = fork(join(__dirname, "consensus-worker.js"), [], { env: { ...process.env, FUZZ_CONSENSUS_WORKER: JSON.stringify(input) }, stdio: ["ignore", "inherit", "inherit", "ipc"] });
      let timer: NodeJS.Timeout | undefined;
      let current = -1;
      let hung = false;
      worker.on("message", (m: WorkerMessage) => {
        if (m.type === "engine") engines.add(m.engine);
        else if (m.type === "start") {
          current = m.index;
          timer = setTimeout(() => {
            log.add("hang (case over the per-case timeout)", `seed ${seed} case ${current}: no result within ${caseTimeoutMs} ms (replay: FUZZ_SEED=${seed} FUZZ_CONSENSUS_FROM=${current} FUZZ_CONSENSUS_RUNS=1)`);
            next = current + 1;
            hung = true;
            worker.kill("SIGKILL");
          }, caseTimeoutMs);
        } else if (m.type === "done") {
          clearTimeout(timer);
          durations.push(m.ms);
          if (m.ms > slowest.ms) slowest = { ms: m.ms, index: m.index };
          outcomes.add(m.outcome);
          for (const f of m.failures) log.add(f.kind, f.detail);
          next = m.index + 1;
          if (next % 1000 === 0) console.log(`fuzz consensus: ${next - from}/${runs} cases`);
        } else if (m.type === "end") next = end;
      });
      worker.on("exit", (code, signal) => {
        clearTimeout(timer);
        if (!hung && next < end) {
          // The process died mid-case (a native fault, out of memory): a crash of the case it was on.
          log.add(`process crashed: ${signal ?? `exit ${code}`}`, `seed ${seed} case ${current} (replay: FUZZ_SEED=${seed} FUZZ_CONSENSUS_FROM=${current} FUZZ_CONSENSUS_RUNS=1)`);
          // Past the case it was on; past the first one if it died before any (so a crash at start cannot loop).
          next = current >= input.from ? Math.max(next, current + 1) : next + 1;
        }
        resolve();
      });
    });

  while (next < end) await runWorker();

  durations.sort((a, b) => a - b);
  const at = (q: number) => durations[Math.min(durations.length - 1, Math.floor(durations.length * q))] ?? 0;
  const cases = durations.length + (failures.counts["hang (case over the per-case timeout)"] ?? 0);
  const nativeLoaded = engines.has("native");
  if (!nativeLoaded) failures.add("native engine not loaded (npm run build:native)");
  return {
    part: "consensus",
    goal: `${runs} fast-check cases on the native engine and the reference: no crash, no hang (per case ${caseTimeoutMs} ms), each a result keeping the invariants or a typed input error, the two engines agreeing`,
    cases,
    requested: runs,
    failures: failures.counts,
    durationS: (performance.now() - started) / 1000,
    met: failures.total === 0 && cases >= runs && nativeLoaded,
    outcomes: outcomes.counts,
    examples: log.examples,
    notes: [
      `Seed ${seed} (replay any case: FUZZ_SEED=${seed} FUZZ_CONSENSUS_FROM=<case> FUZZ_CONSENSUS_RUNS=1 npm run fuzz -- consensus).`,
      `Per case, both engines: p50 ${at(0.5).toFixed(1)} ms, p99 ${at(0.99).toFixed(1)} ms, slowest ${slowest.ms.toFixed(0)} ms (case ${slowest.index}).`,
      `Engines: ${[...engines].join(", ")}.`,
    ],
  };
}
