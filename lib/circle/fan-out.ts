import { CoreError, DeadlineExceededError } from "../errors";
import type { ExpertAnswer } from "./expert-answer";

/** How one expert's part of a consult ended. Every expert asked has one: none is dropped. */
export type ExpertOutcome =
  | { expertId: string; status: "answered"; latencyMs: number; answer: ExpertAnswer }
  | { expertId: string; status: "failed" | "late"; latencyMs: number; error: OutcomeError };

/** An error as a consult reports it: what a client can show and match on. */
export interface OutcomeError {
  code: string;
  message: string;
  status: number;
  retryable: boolean;
  data?: Record<string, unknown>;
}

export interface FanOutOptions {
  /** Expert ids, in the order their outcomes are reported. */
  experts: readonly string[];
  /** Indices of `experts` in the order to ask them (all of them, each once); unset: as listed. */
  order?: readonly number[];
  /** Answers needed for the consult to succeed. */
  minResponses: number;
  /** Epoch ms: no expert is waited for past this. */
  deadline: number;
  /** An expert's own bound (ms), when tighter than the consult's deadline. */
  expertTimeoutMs?: number;
  /**
   * Once the quorum is in, how much longer (ms) the others may take; unset: until the
   * deadline. Lets a consult answer quickly when most experts did.
   */
  graceMs?: number;
  /** Asks one expert; must reject by `deadline` at the latest (the call carries it). */
  ask(expertId: string, deadline: number): Promise<ExpertAnswer>;
  /** Told of each expert's outcome as it comes (progress displays). */
  onOutcome?: (outcome: ExpertOutcome) => void;
  now?: () => number;
}

export interface FanOutResult {
  outcomes: ExpertOutcome[];
  answered: number;
  quorum: boolean;
}

export function outcomeError(err: unknown): OutcomeError {
  if (err instanceof CoreError) {
    const data = Object.keys(err.data).length > 0 ? { data: err.data } : {};
    return { code: err.code, message: err.message, status: err.status, retryable: err.retryable, ...data };
  }
  // Not a CORE error: a bug somewhere below; its text may hold internals, so it is not passed on.
  return { code: "INTERNAL", message: "The expert failed unexpectedly (see the node's log)", status: 500, retryable: false };
}

/**
 * Asks every expert at once and collects what they answer before the
 * deadline. Resolves when every expert has answered or failed, when the
 * deadline passes (the rest are reported `late`), or when the quorum is in and
 * the grace period after it has passed. Never rejects: the caller decides what
 * a missing quorum means (a malformed `order` throws before anything is asked).
 */
export function fanOut(options: FanOutOptions): Promise<FanOutResult> {
  const now = options.now ?? Date.now;
  const started = now();
  const n = options.experts.length;
  const outcomes: Array<ExpertOutcome | undefined> = new Array(n).fill(undefined);
  let settledCount = 0;
  let answered = 0;
  const order = options.order ?? options.experts.map((_, i) => i);
  // A wrong order is a caller's bug: thrown at once, before any expert is asked.
  if (order.length !== n || new Set(order).size !== n || order.some((i) => !(Number.isInteger(i) && i >= 0 && i < n))) {
    throw new RangeError(`order must list each of the ${n} experts' indices once, not ${JSON.stringify(order)}`);
  }

  return new Promise<FanOutResult>((resolve) => {
    let done = false;
    const timers: NodeJS.Timeout[] = [];
    const finish = () => {
      if (done) return;
      done = true;
      for (const t of timers) clearTimeout(t);
      const at = now();
      const result = options.experts.map(
        (expertId, i): ExpertOutcome =>
          outcomes[i] ?? {
            expertId,
            status: "late",
            latencyMs: at - started,
            error: outcomeError(
              new DeadlineExceededError(`${expertId} had not answered when the consult had to reply`, { data: { expert: expertId, waitedMs: at - started } }),
            ),
          },
      );
      resolve({ outcomes: result, answered, quorum: answered >= options.minResponses });
    };

    timers.push(setTimeout(finish, Math.max(0, options.deadline - started)));
    if (n === 0) return finish();

    for (const i of order) {
      const expertId = options.experts[i]!;
      const own = options.expertTimeoutMs !== undefined ? started + options.expertTimeoutMs : Infinity;
      const deadline = Math.min(options.deadline, own);
      let call: Promise<ExpertAnswer>;
      try {
        call = options.ask(expertId, deadline);
      } catch (err) {
        call = Promise.reject(err);
      }
      call.then(
        (answer) => {
          if (done) return;
          outcomes[i] = { expertId, status: "answered", latencyMs: now() - started, answer };
          answered++;
          settle(outcomes[i]);
        },
        (err: unknown) => {
          if (done) return;
          const error = outcomeError(err);
          outcomes[i] = { expertId, status: error.code === DeadlineExceededError.code ? "late" : "failed", latencyMs: now() - started, error };
          settle(outcomes[i]);
        },
      );
    }

    function settle(outcome: ExpertOutcome) {
      options.onOutcome?.(outcome);
      settledCount++;
      if (settledCount === n) return finish();
      if (answered === options.minResponses && options.graceMs !== undefined) {
        timers.push(setTimeout(finish, options.graceMs));
      }
    }
  });
}
