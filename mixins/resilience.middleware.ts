import type { CallingOptions, Middleware } from "moleculer";
import { policyFor, RESILIENCE_POLICIES, type ResiliencePolicy } from "../config/resilience-policies";
import { DeadlineExceededError } from "../lib/errors";
import { backoffDelay } from "../lib/resilience/backoff";
import { DeadlineTimer } from "../lib/resilience/deadline-timer";
import { failPendingRequest, RemoteDeadlineSweep, type PendingTransit } from "./remote-deadline-sweep";
import { toCoreError } from "./to-core-error";

/** Key in `ctx.meta` of the absolute deadline (ms since the epoch) that travels with a request. */
export const DEADLINE_META = "$deadline";
type Meta = Record<string, unknown>;
/**
 * Key in `ctx.meta` of this one call's deadline when it is tighter than the
 * request's: the callee reads it (e.g. to drop a message that waited too long);
 * nothing inherits it. Absent, the call's deadline is the request's.
 */
export const CALL_DEADLINE_META = "$callDeadline";

/** The deadline a call's meta carries: its own when tighter, else the request's. */
export function deadlineInMeta(meta: Meta): number | undefined {
  const deadline = meta[CALL_DEADLINE_META] ?? meta[DEADLINE_META];
  return typeof deadline === "number" ? deadline : undefined;
}

/**
 * The deadline (epoch ms) of the call a handler is serving: its own when
 * tighter, else the request's; without either, now + the call's timeout or
 * the default policy's.
 */
export function deadlineOf(ctx: { meta?: Meta; options?: { timeout?: number | null } }, now: number = Date.now()): number {
  const own = ctx.meta ? deadlineInMeta(ctx.meta) : undefined;
  if (own !== undefined) return own;
  const timeout = ctx.options?.timeout;
  return now + (typeof timeout === "number" && timeout > 0 ? timeout : RESILIENCE_POLICIES.default!.timeoutMs);
}

/** Moleculer's call takes an action name or an endpoint already chosen (moleculer-web passes those). */
type Target = string | { action?: { name?: string }; name?: string };
type CallFn = (target: Target, params?: unknown, opts?: CallingOptions) => Promise<unknown>;

function nameOf(target: Target): string {
  return typeof target === "string" ? target : (target.action?.name ?? target.name ?? "");
}

function inheritedDeadline(opts: CallingOptions): number | undefined {
  const own = (opts.meta as Meta | undefined)?.[DEADLINE_META];
  if (typeof own === "number") return own;
  const parent = (opts.parentCtx?.meta as Meta | undefined)?.[DEADLINE_META];
  return typeof parent === "number" ? parent : undefined;
}

/** How long the server asks us to wait (Retry-After, carried in error data). */
function retryAfterMs(err: { data?: Record<string, unknown> }): number {
  const sec = err.data?.retryAfterSec;
  return typeof sec === "number" && sec > 0 ? sec * 1000 : 0;
}

/** A policy's breaker in the shape of Moleculer's circuit breaker options. */
export function breakerOptions(policy: ResiliencePolicy): { threshold: number; minRequestCount: number; windowTime: number; halfOpenTime: number } {
  const { threshold, minRequestCount, windowTimeSec, halfOpenTimeMs } = policy.circuitBreaker;
  return { threshold, minRequestCount, windowTime: windowTimeSec, halfOpenTime: halfOpenTimeMs };
}

/**
 * Every call out of this node gets a deadline: the one it inherited from its
 * parent call (so a deadline set at the edge travels end to end) or the
 * caller's own timeout, whichever is sooner, else the target kind's default.
 * The deadline is enforced here (Moleculer's per-call timers are turned
 * off): a request sent to another node by a sweep of the transit's pending
 * requests, anything else on one shared timer. Errors marked retryable are
 * retried with jittered exponential backoff (longer if the error asks for
 * it), never past the deadline; other errors fail at once.
 */
export function ResilienceMiddleware(policies: Readonly<Record<string, ResiliencePolicy>> = RESILIENCE_POLICIES, now: () => number = Date.now): Middleware {
  // Policies by action name, so the hot path does no string splitting.
  const cache = new Map<string, ResiliencePolicy>();
  const policyOf = (actionName: string) => {
    let p = cache.get(actionName);
    if (!p) cache.set(actionName, (p = policyFor(actionName, policies)));
    return p;
  };
  const deadlines = new DeadlineTimer();
  let transit: PendingTransit | undefined;
  let sweep: RemoteDeadlineSweep | undefined;

  /** `call` failed with DeadlineExceeded at `deadline` unless it settles first. */
  const raceDeadline = (call: Promise<unknown> & { ctx?: { id: string } }, deadline: number, actionName: string, start: number): Promise<unknown> =>
    new Promise<unknown>((resolve, reject) => {
      const cancel = deadlines.schedule(deadline, () => {
        const err = new DeadlineExceededError(`${actionName} did not answer before its deadline`, { data: { action: actionName, timeoutMs: deadline - start } });
        // Sent meanwhile (it had waited its turn before): fail the pending request too, so the
        // circuit breaker (inside `next`) counts the timeout against that endpoint.
        const id = call.ctx?.id;
        if (id !== undefined && transit) failPendingRequest(transit, id, err);
        reject(err);
      });
      call.then(
        (value) => {
          cancel();
          resolve(value);
        },
        (err: unknown) => {
          cancel();
          reject(err);
        },
      );
    });

  const middleware = {
    name: "CoreResilience",
    created(broker: { transit?: PendingTransit }) {
      transit = broker.transit;
      sweep = transit ? new RemoteDeadlineSweep(transit, deadlineInMeta, 10, now) : undefined;
    },
    call(next: CallFn): CallFn {
      return function resilientCall(target: Target, params?: unknown, opts: CallingOptions = {}) {
        const actionName = nameOf(target);
        // Moleculer's internal $node actions are left as they are.
        if (actionName.charCodeAt(0) === 36 /* $ */) return next(target, params, opts);
        const policy = policyOf(actionName);
        // The tighter of the inherited deadline and this call's own timeout; the kind's default if neither is set.
        const inherited = inheritedDeadline(opts);
        const start = now();
        const own = opts.timeout && opts.timeout > 0 ? start + opts.timeout : undefined;
        const deadline = inherited !== undefined && own !== undefined ? Math.min(inherited, own) : (inherited ?? own ?? start + policy.timeoutMs);
        const retries = opts.retries ?? policy.retries;
        // Moleculer merges a sub-call's meta back into its parent's when it returns, so the meta
        // keeps the request's deadline as inherited and never a call's tighter one (which would
        // leak into the parent and cut its later calls short).
        const requestDeadline = inherited ?? deadline;
        const meta: Meta = { ...(opts.meta as Meta | undefined), [DEADLINE_META]: requestDeadline };
        // Only when tighter (every byte of meta travels both ways, with the request and its answer).
        if (deadline !== requestDeadline) meta[CALL_DEADLINE_META] = deadline;
        else if (meta[CALL_DEADLINE_META] !== undefined) delete meta[CALL_DEADLINE_META];
        // Moleculer's own per-call timers are off (timeout 0, on both sides): the deadline is enforced here.
        const callOpts = { ...opts, meta, timeout: 0, retries: 0 };

        if (deadline <= start) {
          return Promise.reject(
            new DeadlineExceededError(`Deadline passed before ${actionName} could be called`, { data: { action: actionName, attempts: 0 } }),
          );
        }
        const attempt = (n: number): Promise<unknown> => {
          const call = next(target, params, callOpts) as Promise<unknown> & { ctx?: { id: string } };
          // A request waiting in the transit's table is failed at its deadline by the sweep; anything else
          // (a local call, one queued before it is sent) is raced against the deadline here.
          const bounded = call.ctx && sweep?.watches(call.ctx.id) ? call : raceDeadline(call, deadline, actionName, start);
          // A promise of its own even without retries: Moleculer's ctx.call merges the meta of a promise that
          // carries its context into the parent's, and a call's tighter deadline must not leak there.
          return bounded.catch((err: unknown) => {
            if (n >= retries) throw err;
            const core = toCoreError(err);
            const delay = core.retryable ? Math.max(backoffDelay(n + 1, policy.backoff), retryAfterMs(core)) : -1;
            // No retry that could not finish before the deadline.
            if (delay < 0 || now() + delay >= deadline) throw err;
            return new Promise((resolve) => setTimeout(resolve, delay)).then(() => attempt(n + 1));
          });
        };
        return attempt(0);
      };
    },
  };
  // Moleculer's typings declare the `call` hook as returning a Promise; at run time it returns the wrapped function.
  return middleware as unknown as Middleware;
}
