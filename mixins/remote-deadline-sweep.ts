import { DeadlineExceededError } from "../lib/errors";

type Meta = Record<string, unknown>;

/** A request Moleculer's transit has sent and waits an answer for (the parts read here). */
export interface PendingRequest {
  ctx: { meta?: Meta | null; action?: { name?: string } | null };
  reject(err: Error): void;
}

/** The part of Moleculer's transit the sweep reads: requests waiting for an answer, by context id. */
export interface PendingTransit {
  pendingRequests: Map<string, PendingRequest>;
  removePendingRequest(id: string): void;
}

/** Fails the request of context `id` waiting in the transit's table with `err`; false when none waits. */
export function failPendingRequest(transit: PendingTransit, id: string, err: Error): boolean {
  const pending = transit.pendingRequests.get(id);
  if (!pending) return false;
  transit.removePendingRequest(id);
  pending.reject(err);
  return true;
}

/**
 * Deadlines of remote calls, enforced on the table Moleculer's transit keeps
 * of requests waiting for an answer: every `resolutionMs` while any wait, each
 * whose deadline (in its meta, `deadlineOf`) has passed is removed and failed
 * with DeadlineExceeded, which the circuit breaker then counts against its
 * endpoint. A call costs nothing to arm or to cancel (an answered request
 * leaves the table by itself), where an entry per call in a timer cost the
 * caller about half a microsecond and a promise (benchmarks/actor-call); a
 * sweep costs a check per request in flight.
 */
export class RemoteDeadlineSweep {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly transit: PendingTransit,
    private readonly deadlineOf: (meta: Meta) => number | undefined,
    private readonly resolutionMs = 10,
    private readonly now: () => number = Date.now,
  ) {}

  /** True when the request of context `id` is waiting in the transit's table: its deadline is then swept for. */
  watches(id: string): boolean {
    if (!this.transit.pendingRequests.has(id)) return false;
    if (!this.timer) {
      this.timer = setInterval(() => this.sweep(), this.resolutionMs);
      this.timer.unref();
    }
    return true;
  }

  /** Fails every waiting request whose deadline has passed; stops the interval once none waits. */
  sweep(): void {
    const { pendingRequests } = this.transit;
    if (pendingRequests.size === 0) {
      clearInterval(this.timer);
      this.timer = undefined;
      return;
    }
    const now = this.now();
    for (const [id, request] of pendingRequests) {
      const deadline = request.ctx.meta ? this.deadlineOf(request.ctx.meta) : undefined;
      if (deadline === undefined || deadline > now) continue;
      const action = request.ctx.action?.name ?? "";
      // Removing the entry being visited is safe in a Map's iteration.
      failPendingRequest(this.transit, id, new DeadlineExceededError(`${action} did not answer before its deadline`, { data: { action, deadline } }));
    }
  }
}
