import type { LeaseStore } from "../lib/lease/lease-store";
import type { ChildSpec, ChildState, ExitReason, RunningChild } from "./supervisor";

export interface SingletonOptions {
  lease: LeaseStore;
  /** This node's id: what the lease records as its holder. */
  holder: string;
  /** How often the holder renews its lease; default a third of the TTL, at most 1 s. */
  intervalMs?: number;
  /**
   * How often a node standing by tries for the lease; default a quarter of the
   * TTL, at most 250 ms: a takeover comes at most this long after the lease expired.
   */
  standbyIntervalMs?: number;
  onChange?: (event: { actor: string; change: "acquired" | "lost" | "released" }) => void;
}

/**
 * A singleton actor is supervised on every node that may run it, but runs on
 * one only: the holder of its lease. The others stand by, trying for the lease;
 * when the holder dies its lease expires and one of them takes over. A crash of
 * the running actor releases the lease and is reported to the supervisor like
 * any crash.
 */
export function singletonChild(inner: ChildSpec, options: SingletonOptions): ChildSpec {
  return {
    ...inner,
    start: async (context) => {
      const runner = new SingletonRunner(inner, context, options);
      runner.begin();
      return runner;
    },
  };
}

class SingletonRunner implements RunningChild {
  readonly exited: Promise<ExitReason>;
  private resolveExit!: (reason: ExitReason) => void;
  private active: RunningChild | undefined;
  private timer: NodeJS.Timeout | undefined;
  private busy = false;
  private stopped = false;
  private ended = false;
  private readonly key: string;
  private readonly intervalMs: number;
  private readonly standbyIntervalMs: number;

  constructor(private readonly inner: ChildSpec, private readonly context: { path: string[] }, private readonly options: SingletonOptions) {
    this.exited = new Promise((resolve) => (this.resolveExit = resolve));
    this.key = `singleton.${inner.id}`;
    this.intervalMs = options.intervalMs ?? Math.min(1_000, Math.floor(options.lease.ttlMs / 3));
    this.standbyIntervalMs = options.standbyIntervalMs ?? Math.min(this.intervalMs, 250, Math.floor(options.lease.ttlMs / 4));
  }

  state(): ChildState {
    return this.active ? "running" : "standby";
  }

  begin(): void {
    void this.tick();
  }

  /** One try for the lease (standing by) or one renewal (holding it), then the next after its interval. */
  private async tick(): Promise<void> {
    if (this.busy || this.stopped) return;
    this.busy = true;
    try {
      if (!this.active) await this.tryTakeOver();
      else if (!(await this.options.lease.renew(this.key, this.options.holder))) await this.lost();
    } finally {
      this.busy = false;
    }
    if (!this.stopped && !this.ended) this.timer = setTimeout(() => void this.tick(), this.active ? this.intervalMs : this.standbyIntervalMs);
  }

  private async tryTakeOver(): Promise<void> {
    if (!(await this.options.lease.acquire(this.key, this.options.holder).catch(() => false)) || this.stopped) return;
    this.options.onChange?.({ actor: this.inner.id, change: "acquired" });
    let running: RunningChild;
    try {
      running = await this.inner.start(this.context);
    } catch (error) {
      await this.end({ kind: "crash", error });
      return;
    }
    this.active = running;
    void running.exited.then((reason) => {
      if (this.active === running) {
        this.active = undefined;
        void this.end(reason);
      }
    });
  }

  /** Someone else holds the lease now (we were cut off longer than its TTL): stop our copy. */
  private async lost(): Promise<void> {
    const running = this.active;
    this.active = undefined;
    this.options.onChange?.({ actor: this.inner.id, change: "lost" });
    await running?.stop().catch(() => undefined);
  }

  private async end(reason: ExitReason): Promise<void> {
    this.ended = true;
    if (this.timer) clearTimeout(this.timer);
    await this.options.lease.release(this.key, this.options.holder).catch(() => undefined);
    this.resolveExit(reason);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    const running = this.active;
    this.active = undefined;
    await running?.stop();
    await this.options.lease.release(this.key, this.options.holder).catch(() => undefined);
    this.options.onChange?.({ actor: this.inner.id, change: "released" });
  }

  kill(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.active?.kill?.();
  }
}
