import fc from "fast-check";
import { consensusReference, createConsensus, type ConsensusResult, type ExpertResponse } from "../../lib/consensus";
import { consensusCase, type ConsensusCase } from "./consensus-input";
import { expectedValid, firstDifference, INPUT_ERROR_CODES, invariantViolations, maxKeyPointsOf, outcomeLabel, type Outcome } from "./consensus-check";
import { CoreError } from "../../lib/errors";

/**
 * Runs consensus cases [from, to) of a seed on both engines, in a child
 * process (forked, IPC) so benchmarks/fuzz/consensus-part.ts can kill one that
 * hangs (a synchronous engine blocks its own timers) and survives one that
 * crashes (a native fault takes its process down; stopping a worker thread
 * while the addon works faults the whole process, so no worker threads). Case i is the (i mod 50)th of
 * `fc.sample(consensusCase, { seed: seed + ⌊i / 50⌋, numRuns: 50 })`: any case
 * is regenerated from the seed and its index alone.
 */

export interface WorkerInput {
  seed: number;
  from: number;
  to: number;
}

export type WorkerMessage =
  | { type: "engine"; engine: "native" | "reference" }
  | { type: "start"; index: number }
  | { type: "done"; index: number; ms: number; outcome: string; failures: Array<{ kind: string; detail: string }> }
  | { type: "end" };

export const BATCH = 50;

export function caseAt(seed: number, index: number, cache?: Map<number, ConsensusCase[]>): ConsensusCase {
  const batch = Math.floor(index / BATCH);
  let cases = cache?.get(batch);
  if (!cases) {
    cases = fc.sample(consensusCase, { seed: seed + batch, numRuns: BATCH });
    cache?.clear();
    cache?.set(batch, cases);
  }
  return cases[index % BATCH]!;
}

async function attempt(f: () => ConsensusResult | Promise<ConsensusResult>): Promise<Outcome> {
  try {
    return { ok: true, result: await f() };
  } catch (error) {
    return { ok: false, error };
  }
}

/** A short description of an input, for a failure's detail. */
function shape(c: ConsensusCase): string {
  const r = c.responses;
  const n = Array.isArray(r) ? `${r.length} responses` : `responses ${typeof r}`;
  const bytes = Array.isArray(r) ? r.reduce((s: number, x: unknown) => s + (typeof (x as { text?: unknown })?.text === "string" ? Buffer.byteLength((x as { text: string }).text) : 0), 0) : 0;
  return `${n}, ${bytes} text bytes, options ${JSON.stringify(c.options)?.slice(0, 120)}`;
}

/** The generic part of a violation (before its values), so failures group by kind. */
const kindOf = (violation: string) => violation.split(":")[0]!.replace(/\[\d+\]/g, "[i]");

const post = (m: WorkerMessage) => process.send!(m);

async function main(): Promise<void> {
  const { seed, from, to } = JSON.parse(process.env.FUZZ_CONSENSUS_WORKER!) as WorkerInput;
  const native = createConsensus({ logger: { warn: () => undefined } });
  post({ type: "engine", engine: native.engine });
  const cache = new Map<number, ConsensusCase[]>();
  for (let index = from; index < to; index++) {
    const c = caseAt(seed, index, cache);
    post({ type: "start", index });
    const started = performance.now();
    const failures: Array<{ kind: string; detail: string }> = [];
    const fail = (kind: string, detail: string) => failures.push({ kind, detail: `seed ${seed} case ${index} (${shape(c)}): ${detail}` });
    const results: Record<"native" | "reference", Outcome> = {
      reference: await attempt(() => consensusReference(c.responses as ExpertResponse[], c.options as object)),
      native: await attempt(() => native(c.responses as ExpertResponse[], c.options as object)),
    };
    const valid = expectedValid(c.responses, c.options);
    for (const [engine, o] of Object.entries(results)) {
      if (!o.ok) {
        const typed = o.error instanceof CoreError && INPUT_ERROR_CODES.has(o.error.code);
        if (!typed) fail(`crash: ${outcomeLabel(o)} (${engine})`, String((o.error as Error)?.stack ?? o.error).slice(0, 600));
        else if (valid) fail(`valid input refused (${engine})`, (o.error as Error).message.slice(0, 300));
        continue;
      }
      if (!valid) fail(`invalid input accepted (${engine})`, "the documented contract refuses it");
      const responses = (c.responses as ExpertResponse[]).map((r) => ({ expertId: r.expertId, text: r.text.toWellFormed() }));
      for (const violation of invariantViolations(o.result, responses, maxKeyPointsOf(c.options))) fail(`invariant: ${kindOf(violation)} (${engine})`, violation);
    }
    const [n, r] = [results.native, results.reference];
    if (n.ok && r.ok) {
      const difference = firstDifference(n.result, r.result);
      if (difference) fail("native and reference differ", difference);
    } else if (outcomeLabel(n) !== outcomeLabel(r)) {
      fail("native and reference disagree on the input", `native ${outcomeLabel(n)}, reference ${outcomeLabel(r)}`);
    }
    const outcome = outcomeLabel(r) === outcomeLabel(n) ? outcomeLabel(r) : `native ${outcomeLabel(n)} / reference ${outcomeLabel(r)}`;
    post({ type: "done", index, ms: performance.now() - started, outcome, failures });
  }
  post({ type: "end" });
}

if (process.send && process.env.FUZZ_CONSENSUS_WORKER) void main().then(() => process.disconnect());
