import { MemoryPressureError } from "../errors";

/**
 * The actions that start new work on a node (and so are refused while it
 * sheds): a consult, whichever edge it came through — REST, NATS and MCP go
 * through `circle.consult`, the OpenAI-compatible endpoint through
 * `openai.chatCompletions`. Work already running is never cut short.
 */
export const SHED_ACTIONS: readonly string[] = ["circle.consult", "openai.chatCompletions"];

/** Why a node sheds: what its memory monitor saw. */
export interface SheddingCause {
  /** Share of the limit in use (0..1). */
  usedRatio: number;
  /** The memory level, e.g. "critical". */
  level: string;
  /** What a refused caller is told to wait before retrying here. */
  retryAfterSec: number;
}

/**
 * Whether one node refuses new work now. One object per node (broker), set by
 * that node's memory monitor and read by its load-shedding middleware: nodes
 * in one process never share it.
 */
export class LoadShedding {
  private cause: (SheddingCause & { since: number }) | undefined;

  constructor(readonly nodeID: string) {}

  get active(): boolean {
    return this.cause !== undefined;
  }

  /** Epoch ms shedding began, or undefined. */
  get since(): number | undefined {
    return this.cause?.since;
  }

  /** Starts shedding, or updates why (the ratio moves with every sample). Returns true when it was not shedding before. */
  start(cause: SheddingCause, now: number = Date.now()): boolean {
    const began = this.cause === undefined;
    this.cause = { ...cause, since: this.cause?.since ?? now };
    return began;
  }

  /** Returns true when it was shedding. */
  stop(): boolean {
    const was = this.cause !== undefined;
    this.cause = undefined;
    return was;
  }

  /** The error a call of `action` is refused with now, or undefined when this node takes it. */
  refusal(action: string): MemoryPressureError | undefined {
    const c = this.cause;
    if (!c) return undefined;
    const percent = Math.round(c.usedRatio * 100);
    return new MemoryPressureError(
      `Node ${this.nodeID} is refusing new work: its memory is at ${percent} % of its limit (${c.level}); retry in ${c.retryAfterSec} s or on another node`,
      { data: { action, nodeID: this.nodeID, usedRatio: Math.round(c.usedRatio * 1000) / 1000, level: c.level, retryAfterSec: c.retryAfterSec } },
    );
  }
}
