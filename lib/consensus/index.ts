import type { Logger } from "../logger";
import { consensusRaw } from "./engine";
import { validateConsensusInput } from "./limits";
import { loadNativeEngine, type NativeEngine } from "./native-engine";
import { presentResult, type ConsensusResult } from "./result";
import type { ConsensusOptions, ExpertResponse } from "./types";

export type { ConsensusResult } from "./result";
export type * from "./types";
export { consensusRaw } from "./engine";
export { validateConsensusInput, MAX_RESPONSES, MAX_RESPONSE_BYTES, MAX_TOTAL_BYTES } from "./limits";
export { loadNativeEngine, type NativeEngine } from "./native-engine";

/** The TypeScript reference: the same result as the native engine, computed on the calling thread. */
export function consensusReference(responses: readonly ExpertResponse[], options?: ConsensusOptions): ConsensusResult {
  const input = validateConsensusInput(responses, options);
  return presentResult(consensusRaw(input.responses.map((r) => r.text), input.weights, input.options), input.responses, "reference");
}

/**
 * Below this much text (UTF-8 bytes, all responses) the native engine runs on
 * the calling thread: it then takes 20-55 µs (p99 under 120 µs), less than
 * handing the work to a pool thread and waking the event loop for the result
 * (0.42 ms for 5 short answers through the pool in benchmarks/consult, most of
 * it the two hand-offs between threads of an idle machine).
 */
export const INLINE_MAX_BYTES = 4 * 1024;

export interface ConsensusEngine {
  (responses: readonly ExpertResponse[], options?: ConsensusOptions): Promise<ConsensusResult>;
  readonly engine: "native" | "reference";
}

/**
 * The consensus function: the native addon off the event loop; when the addon
 * cannot be loaded, the reference, after one loud warning saying why and how to fix it.
 */
export function createConsensus(opts: { nativePath?: string; logger?: Pick<Logger, "warn"> } = {}): ConsensusEngine {
  const loaded = loadNativeEngine(opts.nativePath);
  let native: NativeEngine | undefined;
  if ("engine" in loaded) native = loaded.engine;
  else {
    const warn = opts.logger ? (m: string) => opts.logger!.warn(m) : (m: string) => process.emitWarning(m, { code: "CORE_CONSENSUS_REFERENCE" });
    warn(
      `The native consensus engine could not be loaded (${loaded.error.message.split("\n")[0]}); ` +
        "using the TypeScript reference, which is much slower and runs on the event loop. Build it with `npm run build:native` (needs the Rust toolchain).",
    );
  }
  const run = async (responses: readonly ExpertResponse[], options?: ConsensusOptions): Promise<ConsensusResult> => {
    const input = validateConsensusInput(responses, options);
    const texts = input.responses.map((r) => r.text);
    if (!native) return presentResult(consensusRaw(texts, input.weights, input.options), input.responses, "reference");
    const weights = Array.from(input.weights);
    const raw = input.totalBytes < INLINE_MAX_BYTES ? native.consensusSync(texts, weights, input.options) : await native.consensus(texts, weights, input.options);
    return presentResult(raw, input.responses, "native");
  };
  return Object.assign(run, { engine: native ? ("native" as const) : ("reference" as const) });
}

let shared: ConsensusEngine | undefined;

/** Consensus over the experts' responses (native engine; see createConsensus). */
export function consensus(responses: readonly ExpertResponse[], options?: ConsensusOptions): Promise<ConsensusResult> {
  return (shared ??= createConsensus())(responses, options);
}
