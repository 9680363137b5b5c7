import { AuditQueue, type AuditLog, type AuditOutcome } from "../lib/audit";
import type { CoreError } from "../lib/errors";

/** How a refused or failed request is recorded. */
export function outcomeOf(err: { status?: number | undefined }): AuditOutcome {
  return err.status === 401 || err.status === 403 ? "denied" : err.status === 422 ? "invalid" : "failed";
}

export interface EdgeCall {
  action: string;
  principal: string | undefined;
  target: string | null;
  source: string | undefined;
  requestId: string | undefined;
  outcome: AuditOutcome;
  error?: CoreError | undefined;
}

/**
 * Writes the audit rows of calls that come in through an edge (REST, the
 * OpenAI endpoint, NATS, MCP) for the actions worth auditing. Not awaited:
 * the answer does not wait for its row; rows go through the store's
 * AuditQueue, written in batches, and one that cannot be written is logged by
 * the node (the request is not failed for it after the fact).
 */
export class EdgeAuditor {
  private readonly queue: AuditQueue;

  constructor(
    log: AuditLog,
    private readonly actions: ReadonlySet<string>,
  ) {
    this.queue = AuditQueue.of(log.store);
  }

  record(call: EdgeCall): void {
    if (!this.actions.has(call.action)) return;
    this.queue.enqueue({
      principal: call.principal ?? "anonymous",
      action: call.action,
      target: call.target,
      source: call.source ?? null,
      outcome: call.outcome,
      requestId: call.requestId ?? null,
      details: call.error ? { error: call.error.code } : {},
    });
  }
}
