import { backoffDelay, type BackoffPolicy } from "../lib/resilience/backoff";

/**
 * An OTP supervisor, without Moleculer: it starts children in order, watches
 * them exit, and restarts them by the words OTP uses.
 *
 * - restart type: `permanent` (always restarted), `transient` (restarted after
 *   an abnormal exit only), `temporary` (never restarted);
 * - strategy: `one_for_one` (restart the child that exited), `one_for_all`
 *   (stop the others, restart all), `rest_for_one` (stop and restart the
 *   children started after it);
 * - intensity: more than `maxRestarts` restarts within `periodMs` and the
 *   supervisor gives up: it stops its children (in reverse order) and exits
 *   abnormally, which its own parent sees as a crash (escalation).
 *
 * Two additions to OTP: restarts wait a capped, jittered exponential backoff,
 * and a child that fails to start counts as a crash (it is retried under the
 * same intensity) rather than failing the whole tree at boot.
 */

export type RestartType = "permanent" | "transient" | "temporary";
export type Strategy = "one_for_one" | "one_for_all" | "rest_for_one";

export type ExitReason =
  | { kind: "normal" }
  | { kind: "crash"; error: unknown }
  /** Stopped by its supervisor (not a failure). */
  | { kind: "shutdown" };

/** A started child: how to stop it, and a promise of how it ended by itself. */
export interface RunningChild {
  /** Resolves when the child ends on its own (never for a stop the supervisor asked for). */
  readonly exited: Promise<ExitReason>;
  /** Asks the child to stop; the supervisor waits at most the child's shutdown timeout. */
  stop(): Promise<void>;
  /** Ends the child without waiting, after the shutdown timeout passed. */
  kill?(): void;
  /** For trees: the nested supervisor's snapshot. */
  snapshot?(): SupervisorSnapshot;
  /** A child that knows better than "running" (a singleton waiting for its lease is on standby). */
  state?(): ChildState;
}

export interface ChildSpec {
  id: string;
  /** Starts the child; `path` is its supervisor's place in the tree (for nested supervisors). */
  start: (context: { path: string[] }) => Promise<RunningChild>;
  restart?: RestartType;
  /** How long a stop may take before the child is killed; default 5 s. */
  shutdownMs?: number;
  kind?: "worker" | "supervisor";
}

export interface Intensity {
  maxRestarts: number;
  periodMs: number;
}

export interface SupervisorSpec {
  id: string;
  strategy?: Strategy;
  intensity?: Intensity;
  backoff?: BackoffPolicy;
  children: ChildSpec[];
}

export type ChildState = "starting" | "running" | "standby" | "restarting" | "stopped" | "exited";

export interface ChildSnapshot {
  id: string;
  kind: "worker" | "supervisor";
  restart: RestartType;
  state: ChildState;
  restarts: number;
  lastError?: string | undefined;
  children?: ChildSnapshot[] | undefined;
  strategy?: Strategy | undefined;
}

export interface SupervisorSnapshot {
  id: string;
  strategy: Strategy;
  intensity: Intensity;
  children: ChildSnapshot[];
}

export type SupervisorEvent =
  | { type: "started"; path: string[] }
  | { type: "exited"; path: string[]; reason: ExitReason }
  | { type: "restarting"; path: string[]; delayMs: number; restarts: number }
  | { type: "start_failed"; path: string[]; error: unknown }
  | { type: "shutdown_timeout"; path: string[]; timeoutMs: number }
  | { type: "escalated"; path: string[]; restarts: number; periodMs: number };

export interface SupervisorOptions {
  /** Where this supervisor sits in the tree, for events (root: []). */
  path?: string[];
  onEvent?: (event: SupervisorEvent) => void;
  now?: () => number;
  random?: () => number;
}

/** OTP's default is 1 restart in 5 s; CORE allows a few more before giving up. */
export const DEFAULT_INTENSITY: Intensity = { maxRestarts: 3, periodMs: 5_000 };
export const DEFAULT_RESTART_BACKOFF: BackoffPolicy = { initialMs: 50, maxMs: 5_000, factor: 2 };
const DEFAULT_SHUTDOWN_MS = 5_000;

/** The error a supervisor exits with when it gives up. */
export class MaxRestartIntensityError extends Error {
  constructor(readonly supervisor: string, readonly restarts: number, readonly periodMs: number, readonly lastError: unknown) {
    super(`supervisor ${supervisor} reached its maximum restart intensity (${restarts} restarts within ${periodMs} ms)`);
    this.name = "MaxRestartIntensityError";
  }
}

interface Slot {
  spec: Required<Omit<ChildSpec, "kind">> & { kind: "worker" | "supervisor" };
  running: RunningChild | undefined;
  /** Bumped on every start and every deliberate stop, so a stale exit is ignored. */
  generation: number;
  state: ChildState;
  restarts: number;
  lastError: unknown;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export class Supervisor implements RunningChild {
  readonly exited: Promise<ExitReason>;
  private resolveExit!: (reason: ExitReason) => void;
  private readonly slots: Slot[];
  private readonly restartTimes: number[] = [];
  /** Operations run one at a time, so exits arriving together cannot interleave restarts. */
  private queue: Promise<void> = Promise.resolve();
  private stopping = false;
  private done = false;
  private readonly strategy: Strategy;
  private readonly intensity: Intensity;
  private readonly backoff: BackoffPolicy;
  private readonly path: string[];
  private readonly now: () => number;
  /** Backoff waits in progress; a stop ends them at once. */
  private readonly waits = new Set<() => void>();

  private constructor(readonly id: string, spec: SupervisorSpec, private readonly options: SupervisorOptions) {
    this.strategy = spec.strategy ?? "one_for_one";
    this.intensity = spec.intensity ?? DEFAULT_INTENSITY;
    this.backoff = spec.backoff ?? DEFAULT_RESTART_BACKOFF;
    this.path = [...(options.path ?? []), id];
    this.now = options.now ?? Date.now;
    const ids = new Set<string>();
    this.slots = spec.children.map((child) => {
      if (ids.has(child.id)) throw new Error(`supervisor ${id}: two children named ${child.id}`);
      ids.add(child.id);
      return {
        spec: {
          id: child.id,
          start: child.start,
          restart: child.restart ?? "permanent",
          shutdownMs: child.shutdownMs ?? DEFAULT_SHUTDOWN_MS,
          kind: child.kind ?? "worker",
        },
        running: undefined,
        generation: 0,
        state: "stopped",
        restarts: 0,
        lastError: undefined,
      };
    });
    this.exited = new Promise((resolve) => (this.resolveExit = resolve));
  }

  /** Starts the supervisor and its children in order; resolves once each had its first start attempt. */
  static async start(spec: SupervisorSpec, options: SupervisorOptions = {}): Promise<Supervisor> {
    const sup = new Supervisor(spec.id, spec, options);
    await sup.enqueue(async () => {
      for (const slot of sup.slots) await sup.startSlot(slot);
    });
    return sup;
  }

  /** A child spec that runs a nested supervisor (a subtree). */
  static child(spec: SupervisorSpec, options: Omit<SupervisorOptions, "path"> = {}): ChildSpec {
    return {
      id: spec.id,
      kind: "supervisor",
      restart: "permanent",
      shutdownMs: 60_000,
      start: ({ path }) => Supervisor.start(spec, { ...options, path }),
    };
  }

  snapshot(): SupervisorSnapshot {
    return {
      id: this.id,
      strategy: this.strategy,
      intensity: this.intensity,
      children: this.slots.map((slot) => {
        const nested = slot.running?.snapshot?.();
        return {
          id: slot.spec.id,
          kind: slot.spec.kind,
          restart: slot.spec.restart,
          state: (slot.state === "running" && slot.running?.state?.()) || slot.state,
          restarts: slot.restarts,
          lastError: slot.lastError === undefined ? undefined : describe(slot.lastError),
          ...(nested ? { children: nested.children, strategy: nested.strategy } : {}),
        };
      }),
    };
  }

  /** Stops every child in reverse start order; the supervisor then exits with `shutdown`. */
  stop(): Promise<void> {
    if (this.stopping) return this.exited.then(() => undefined);
    this.stopping = true;
    for (const wake of this.waits) wake();
    return this.enqueue(async () => {
      await this.stopSlots([...this.slots].reverse());
      this.finish({ kind: "shutdown" });
    });
  }

  /**
   * Restarts one child on request (an operator's `restart`): stop, then start.
   * Not a failure, so it does not count toward the restart intensity.
   */
  restartChild(id: string): Promise<void> {
    const slot = this.slots.find((s) => s.spec.id === id);
    if (!slot) {
      // Not ours: a nested supervisor may have it.
      const owner = this.slots.map((s) => s.running).find((r): r is Supervisor => r instanceof Supervisor && r.contains(id));
      if (owner) return owner.restartChild(id);
      return Promise.reject(new Error(`supervisor ${this.id} has no child ${id}`));
    }
    return this.enqueue(async () => {
      if (this.stopping) return;
      await this.stopSlot(slot);
      await this.startSlot(slot);
    });
  }

  /** Whether a child with this id runs anywhere in this subtree. */
  contains(id: string): boolean {
    return this.slots.some((s) => s.spec.id === id || (s.running instanceof Supervisor && s.running.contains(id)));
  }

  private enqueue(op: () => Promise<void>): Promise<void> {
    const run = this.queue.then(op);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private emit(event: SupervisorEvent): void {
    this.options.onEvent?.(event);
  }

  private finish(reason: ExitReason): void {
    if (this.done) return;
    this.done = true;
    this.resolveExit(reason);
  }

  private childPath(slot: Slot): string[] {
    return [...this.path, slot.spec.id];
  }

  /** One start attempt. A failure is handled like a crash of the child. */
  private async startSlot(slot: Slot): Promise<void> {
    const generation = ++slot.generation;
    slot.state = "starting";
    let running: RunningChild;
    try {
      running = await slot.spec.start({ path: this.path });
    } catch (error) {
      this.emit({ type: "start_failed", path: this.childPath(slot), error });
      slot.running = undefined;
      this.onChildExit(slot, generation, { kind: "crash", error });
      return;
    }
    if (generation !== slot.generation || this.stopping) {
      // Stopped while it was starting: stop what just started.
      await running.stop().catch(() => undefined);
      return;
    }
    slot.running = running;
    slot.state = "running";
    this.emit({ type: "started", path: this.childPath(slot) });
    void running.exited.then((reason) => this.onChildExit(slot, generation, reason));
  }

  private async stopSlot(slot: Slot): Promise<void> {
    slot.generation++;
    const running = slot.running;
    slot.running = undefined;
    slot.state = "stopped";
    if (!running) return;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), slot.spec.shutdownMs);
    });
    const outcome = await Promise.race([running.stop().then(() => "stopped" as const, () => "stopped" as const), timedOut]);
    clearTimeout(timer);
    if (outcome === "timeout") {
      this.emit({ type: "shutdown_timeout", path: this.childPath(slot), timeoutMs: slot.spec.shutdownMs });
      running.kill?.();
    }
  }

  private async stopSlots(slots: Slot[]): Promise<void> {
    for (const slot of slots) await this.stopSlot(slot);
  }

  private onChildExit(slot: Slot, generation: number, reason: ExitReason): void {
    if (generation !== slot.generation || this.stopping || this.done) return;
    slot.running = undefined;
    slot.state = "exited";
    if (reason.kind === "crash") slot.lastError = reason.error;
    this.emit({ type: "exited", path: this.childPath(slot), reason });

    const restart =
      slot.spec.restart === "permanent" || (slot.spec.restart === "transient" && reason.kind === "crash");
    if (!restart) return;

    void this.enqueue(async () => {
      if (this.stopping || this.done || generation !== slot.generation) return;
      const now = this.now();
      this.restartTimes.push(now);
      while (this.restartTimes.length && this.restartTimes[0]! <= now - this.intensity.periodMs) this.restartTimes.shift();
      if (this.restartTimes.length > this.intensity.maxRestarts) {
        await this.escalate(reason);
        return;
      }
      slot.restarts++;
      slot.state = "restarting";
      const delayMs = backoffDelay(this.restartTimes.length, this.backoff, this.options.random);
      this.emit({ type: "restarting", path: this.childPath(slot), delayMs, restarts: slot.restarts });

      const index = this.slots.indexOf(slot);
      const affected =
        this.strategy === "one_for_one" ? [slot] : this.strategy === "one_for_all" ? this.slots : this.slots.slice(index);
      // Siblings to restart are stopped now (reverse order), before the wait.
      await this.stopSlots(affected.filter((s) => s !== slot).reverse());
      for (const s of affected) if (s !== slot) s.state = "restarting";
      await this.sleep(delayMs);
      if (this.stopping || this.done) return;
      for (const s of affected) {
        if (s !== slot && s.spec.restart === "temporary") {
          // OTP: a temporary child stopped for a sibling is not brought back.
          s.state = "stopped";
          continue;
        }
        if (s !== slot) s.restarts++;
        await this.startSlot(s);
      }
    });
  }

  private async escalate(reason: ExitReason): Promise<void> {
    const restarts = this.restartTimes.length;
    this.emit({ type: "escalated", path: this.path, restarts, periodMs: this.intensity.periodMs });
    this.stopping = true;
    await this.stopSlots([...this.slots].reverse());
    const last = reason.kind === "crash" ? reason.error : undefined;
    this.finish({ kind: "crash", error: new MaxRestartIntensityError(this.id, restarts, this.intensity.periodMs, last) });
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.waits.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.waits.add(wake);
    });
  }
}
