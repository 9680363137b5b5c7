import { randomUUID } from "node:crypto";
import type { McpProgress } from "../mcp/mcp-actor-contract";
import type { ToolProgress } from "./tool-gateway";

/** How long a finished call waits for a progress report still on its way. */
export const PROGRESS_GRACE_MS = 50;

interface Relayed {
  listener: (progress: ToolProgress) => void;
  /** Some progress arrived, and the last did not reach its total. */
  unfinished: boolean;
  /** Told when the last report arrives while the call waits for it. */
  finished?: () => void;
}

/**
 * Routes the actors' progress broadcasts (MCP_PROGRESS_EVENT, seen by every
 * node) to the one call that asked for them: each call gets a fresh token of
 * its own, so a client's token never reaches an actor and two clients that
 * chose the same token cannot see each other's progress.
 */
export class ProgressRelay {
  private readonly relayed = new Map<string, Relayed>();

  /** A fresh token whose progress goes to `listener` until it is closed. */
  open(listener: (progress: ToolProgress) => void): string {
    const token = randomUUID();
    this.relayed.set(token, { listener, unfinished: false });
    return token;
  }

  close(token: string): void {
    this.relayed.delete(token);
  }

  /**
   * Closes a call's token once its answer is in, so that the progress
   * reports reach the client before the answer (a client ignores progress
   * after it). A broadcast and an answer travel on different NATS subjects,
   * whose relative order is not kept: when the reports so far stopped short
   * of their total, the last may still be on its way, and this waits for it a
   * little (PROGRESS_GRACE_MS at most). Then a turn of the event loop, so
   * notifications already handed to the transport are written first.
   */
  async settle(token: string, graceMs = PROGRESS_GRACE_MS): Promise<void> {
    const call = this.relayed.get(token);
    if (call?.unfinished) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, graceMs);
        call.finished = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    this.close(token);
    await new Promise((resolve) => setImmediate(resolve));
  }

  /** A progress broadcast; ignored unless one of this relay's calls holds its token. */
  deliver(event: McpProgress): void {
    const call = this.relayed.get(event.progressToken);
    if (!call || typeof event.progress !== "number") return;
    call.listener({
      progress: event.progress,
      ...(typeof event.total === "number" ? { total: event.total } : {}),
      ...(typeof event.message === "string" ? { message: event.message } : {}),
    });
    call.unfinished = !(typeof event.total === "number" && event.progress >= event.total);
    if (!call.unfinished) call.finished?.();
  }

  get size(): number {
    return this.relayed.size;
  }
}
