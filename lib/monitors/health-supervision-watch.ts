import type { Alert, AlertSeverity } from "./alert";

/** A child of a supervision tree as its snapshot shows it (actors/supervisor's ChildSnapshot has this shape). */
export interface TreeChild {
  /** An actor's name or a subtree's id (experts, mcp, monitors, actors): unique within a node's tree. */
  id: string;
  kind: "worker" | "supervisor";
  restart: string;
  state: string;
  /** Restarts by its supervisor (not an operator's). */
  restarts: number;
  lastError?: string | undefined;
  children?: readonly TreeChild[] | undefined;
}

export interface TreeSnapshot {
  id: string;
  children: readonly TreeChild[];
}

/** More restarts than this within the window is "restarting often". */
export const DEFAULT_RESTART_LIMIT = { maxRestarts: 3, windowMs: 5 * 60_000 } as const;

export interface SupervisionWatchOptions {
  nodeID: string;
  maxRestarts?: number;
  windowMs?: number;
  now?: () => number;
}

interface ChildState {
  /** The restart counter seen last: a subtree restarted by its parent starts its children's at 0 again. */
  lastCount: number;
  /** When each restart seen happened (sample time), within the window. */
  restarts: number[];
  lastError: string | undefined;
}

interface Raised {
  severity: AlertSeverity;
  /** What the resolving alert says about it. */
  subject: string;
}

/**
 * Reads the node's supervision tree, sampled over time, for what an operator
 * must hear of:
 * - `health.restarts:<actor>` (high): an actor restarted more than
 *   `maxRestarts` times within the window; resolved once a whole window
 *   passed without a restart;
 * - `health.escalated:<subtree>` (critical): a subtree (experts, mcp, …) gave
 *   up and was restarted by its parent; resolved after a quiet window;
 * - `health.exited:<actor>` (critical): an actor crashed and its supervisor
 *   will not restart it (temporary, or given up); resolved when it runs again.
 *
 * Restarts an operator asked for (`restart`) are not counted by the supervisor,
 * so they raise nothing.
 */
export class SupervisionWatch {
  private readonly children = new Map<string, ChildState>();
  private readonly raised = new Map<string, Raised>();
  private readonly maxRestarts: number;
  private readonly windowMs: number;
  private readonly now: () => number;

  constructor(private readonly options: SupervisionWatchOptions) {
    this.maxRestarts = options.maxRestarts ?? DEFAULT_RESTART_LIMIT.maxRestarts;
    this.windowMs = options.windowMs ?? DEFAULT_RESTART_LIMIT.windowMs;
    this.now = options.now ?? Date.now;
  }

  /** Alerts from one sample of the tree; null (no tree on this node) says nothing. */
  evaluate(tree: TreeSnapshot | null): Alert[] {
    if (!tree) return [];
    const now = this.now();
    const alerts: Alert[] = [];
    const seen = new Set<string>();
    const walk = (children: readonly TreeChild[], path: string[]) => {
      for (const child of children) {
        seen.add(child.id);
        this.sample(child, [...path, child.id].join("/"), now, alerts);
        if (child.children) walk(child.children, [...path, child.id]);
      }
    };
    walk(tree.children, [tree.id]);
    // Children gone from the tree: nothing left to watch.
    for (const id of this.children.keys()) if (!seen.has(id)) this.children.delete(id);
    for (const [key, r] of this.raised) {
      const id = key.slice(key.indexOf(":") + 1);
      if (!seen.has(id)) alerts.push(this.resolve(key, r, `${r.subject} is no longer in the supervision tree of node ${this.options.nodeID}`));
    }
    return alerts;
  }

  private sample(child: TreeChild, where: string, now: number, alerts: Alert[]): void {
    let state = this.children.get(child.id);
    if (!state) this.children.set(child.id, (state = { lastCount: child.restarts, restarts: [], lastError: child.lastError }));
    const added = child.restarts >= state.lastCount ? child.restarts - state.lastCount : child.restarts;
    for (let i = 0; i < added; i++) state.restarts.push(now);
    state.lastCount = child.restarts;
    if (child.lastError) state.lastError = child.lastError;
    while (state.restarts.length > 0 && state.restarts[0]! <= now - this.windowMs) state.restarts.shift();
    const inWindow = state.restarts.length;
    const minutes = `${Math.round(this.windowMs / 60_000)} min`;
    const lastError = state.lastError ? `; last error: ${state.lastError}` : "";

    if (child.kind === "supervisor") {
      const key = `health.escalated:${child.id}`;
      if (added > 0 && !this.raised.has(key)) {
        alerts.push(this.raise(key, "critical", `subtree ${where}`, `Supervisor ${where} on node ${this.options.nodeID} gave up (too many restarts of its actors) and was restarted by its parent${lastError}`, inWindow, { path: where }));
      } else if (inWindow === 0 && this.raised.has(key)) {
        alerts.push(this.resolve(key, this.raised.get(key)!, `Supervisor ${where} on node ${this.options.nodeID} has not given up again for ${minutes}`));
      }
      return;
    }

    const often = `health.restarts:${child.id}`;
    if (inWindow > this.maxRestarts && !this.raised.has(often)) {
      alerts.push(
        this.raise(often, "high", `actor ${child.id}`, `Actor ${child.id} on node ${this.options.nodeID} restarted ${inWindow} times within ${minutes} (more than ${this.maxRestarts})${lastError}`, inWindow, {
          actor: child.id,
          path: where,
          restartsInWindow: inWindow,
          windowMs: this.windowMs,
        }),
      );
    } else if (inWindow === 0 && this.raised.has(often)) {
      alerts.push(this.resolve(often, this.raised.get(often)!, `Actor ${child.id} on node ${this.options.nodeID} has not restarted for ${minutes}`));
    }

    const exited = `health.exited:${child.id}`;
    const gaveUp = child.state === "exited" && child.lastError !== undefined;
    if (gaveUp && !this.raised.has(exited)) {
      alerts.push(
        this.raise(exited, "critical", `actor ${child.id}`, `Actor ${child.id} on node ${this.options.nodeID} crashed and will not be restarted (${child.restart}): ${child.lastError}`, undefined, {
          actor: child.id,
          path: where,
          restart: child.restart,
        }),
      );
    } else if (!gaveUp && child.state !== "exited" && this.raised.has(exited)) {
      alerts.push(this.resolve(exited, this.raised.get(exited)!, `Actor ${child.id} on node ${this.options.nodeID} is ${child.state} again`));
    }
  }

  private raise(key: string, severity: AlertSeverity, subject: string, message: string, value: number | undefined, details: Record<string, unknown>): Alert {
    this.raised.set(key, { severity, subject });
    return {
      monitor: "health",
      key,
      severity,
      state: "raised",
      nodeID: this.options.nodeID,
      message,
      ...(value !== undefined ? { value, threshold: severity === "high" ? this.maxRestarts : 0 } : {}),
      details,
      at: this.now(),
    };
  }

  private resolve(key: string, raised: Raised, message: string): Alert {
    this.raised.delete(key);
    return { monitor: "health", key, severity: raised.severity, state: "resolved", nodeID: this.options.nodeID, message, at: this.now() };
  }
}
