import type { Context, ServiceBroker, ServiceSchema } from "moleculer";
import type { ActorDefinition, ActorSelf } from "../actors/actor-spec";
import { Mailbox } from "../actors/mailbox";
import { ActorOverloadedError, CoreError, DeadlineExceededError, UnavailableError } from "../lib/errors";
import type { Logger } from "../lib/logger";
import { policyFor } from "../config/resilience-policies";
import { ActorMetrics } from "./actor-metrics";
import { breakerOptions, deadlineInMeta } from "./resilience.middleware";

/** One running incarnation of an actor, as its supervisor sees it. */
export interface ActorIncarnation {
  readonly mailbox: Mailbox;
  /** Set once the service started; cleared when it stops. */
  running: boolean;
}

export interface ActorServiceHooks {
  /** The incarnation crashed (unexpected error, failed health checks, or `self.crash`). */
  onCrash(error: unknown): void;
}

/**
 * An error a handler may throw as an answer (a CORE error, or one of
 * Moleculer's typed errors). Anything else is a bug, and the actor crashes
 * after answering: its supervisor restarts it with a fresh state.
 */
function isExpected(err: unknown): boolean {
  if (err instanceof CoreError) return true;
  const e = err as { type?: unknown; code?: unknown } | null;
  return !!e && typeof e.type === "string";
}

/**
 * Builds the Moleculer service for one incarnation of an actor: every action
 * goes through a bounded mailbox, the state is fresh, health is checked on a
 * timer, and per-actor metrics are kept.
 */
export function actorServiceSchema<S>(def: ActorDefinition<S>, hooks: ActorServiceHooks): { schema: ServiceSchema; incarnation: ActorIncarnation } {
  const mailbox = new Mailbox(def.name, def.mailbox);
  const incarnation: ActorIncarnation = { mailbox, running: false };
  let self: ActorSelf<S> | undefined;
  let metrics: ActorMetrics | undefined;
  let healthTimer: NodeJS.Timeout | undefined;
  let crashed = false;

  const crash = (error: unknown) => {
    if (crashed) return;
    crashed = true;
    incarnation.running = false;
    hooks.onCrash(error);
  };

  // Made once per incarnation, not per message.
  const handled = (result: unknown) => {
    metrics?.message(def.name, "handled");
    return result;
  };
  const failed = (err: unknown) => {
    metrics?.message(def.name, "failed");
    if (!isExpected(err)) setImmediate(() => crash(err));
    throw err;
  };
  // A message that found a free slot: its slot freed and its outcome counted in one continuation.
  const handledInSlot = (result: unknown) => {
    mailbox.release();
    if (metrics) metrics.depth(def.name, mailbox.depth);
    return handled(result);
  };
  const failedInSlot = (err: unknown) => {
    mailbox.release();
    if (metrics) metrics.depth(def.name, mailbox.depth);
    return failed(err);
  };

  const breaker = breakerOptions(policyFor(def.name));
  const actions: ServiceSchema["actions"] = {};
  for (const [actionName, action] of Object.entries(def.spec.actions)) {
    // The handler's answer as a promise, a synchronous throw included.
    const answer = (ctx: Context<Record<string, unknown>, Record<string, unknown>>, me: ActorSelf<S>): Promise<unknown> => {
      try {
        return Promise.resolve(action.handler(ctx, me));
      } catch (err) {
        return Promise.reject(err);
      }
    };
    actions[actionName] = {
      ...(action.params ? { params: action.params } : {}),
      ...(action.permission ? { permission: action.permission } : {}),
      circuitBreaker: { enabled: true, ...breaker },
      handler(ctx: Context<Record<string, unknown>, Record<string, unknown>>) {
        const me = self;
        if (!incarnation.running || !me) {
          throw new UnavailableError(`${def.name} is restarting; retry shortly`, { data: { actor: def.name } });
        }
        if (mailbox.tryAcquire()) return answer(ctx, me).then(handledInSlot, failedInSlot);
        const invoke = (): Promise<unknown> => answer(ctx, me).then(handled, failed);
        // How long a message may wait in the mailbox: what remains of this call's deadline.
        const callDeadline = ctx.meta ? deadlineInMeta(ctx.meta) : undefined;
        const timeout = ctx.options?.timeout;
        const maxWait = callDeadline !== undefined ? callDeadline - Date.now() : typeof timeout === "number" && timeout > 0 ? timeout : undefined;
        const run = mailbox.run(invoke, maxWait !== undefined ? Math.max(maxWait, 1) : undefined);
        if (!metrics) return run;
        const m = metrics;
        return run.then(
          (result) => {
            m.depth(def.name, mailbox.depth);
            return result;
          },
          (err: unknown) => {
            if (err instanceof ActorOverloadedError) m.message(def.name, "refused");
            else if (err instanceof DeadlineExceededError) m.message(def.name, "expired");
            m.depth(def.name, mailbox.depth);
            throw err;
          },
        );
      },
    };
  }

  const schema: ServiceSchema = {
    name: def.name,
    metadata: { actor: true, kind: def.kind, singleton: def.singleton },
    actions,
    async started(this: { broker: ServiceBroker; logger: Logger }) {
      metrics = this.broker.isMetricsEnabled() ? ActorMetrics.for(this.broker) : undefined;
      self = {
        name: def.name,
        nodeID: this.broker.nodeID,
        broker: this.broker,
        logger: this.logger,
        state: def.spec.state ? def.spec.state() : (undefined as S),
        crash,
      };
      await def.spec.started?.(self);
      incarnation.running = true;
      const health = def.spec.health;
      if (health) {
        const threshold = health.failures ?? 3;
        let failures = 0;
        healthTimer = setInterval(async () => {
          try {
            await health.check(self!);
            failures = 0;
          } catch (err) {
            failures++;
            this.logger.warn(`Health check of ${def.name} failed (${failures}/${threshold}): ${(err as Error).message}`);
            if (failures >= threshold) crash(err);
          }
        }, health.intervalMs ?? 5_000);
        healthTimer.unref();
      }
    },
    async stopped() {
      incarnation.running = false;
      if (healthTimer) clearInterval(healthTimer);
      mailbox.rejectWaiting(new UnavailableError(`${def.name} is stopping`, { data: { actor: def.name } }));
      await mailbox.idle();
      if (self) await def.spec.stopped?.(self);
    },
  };
  return { schema, incarnation };
}
