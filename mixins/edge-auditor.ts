import type { AuditLog, AuditOutcome } from "../lib/audit";
import type { CoreError } from "../lib/errors";
import type { Logger } from "../lib/logger";

/** How a refused or failed request is recorded. */
export function outcomeOf(err: CoreError): AuditOutcome {
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
 * OpenAI endpoint; NATS and MCP later) for the actions worth auditing. Not
 * awaited: the answer does not wait for its row; a row that cannot be written
 * is logged, and the request is not failed for it after the fact.
 */
export class EdgeAuditor {
  constructor(
    private readonly log: AuditLog,
    private readonly actions: ReadonlySet<string>,
  ) {}

  record(call: EdgeCall, logger: Logger): void {
    if (!this.actions.has(call.action)) return;
    this.log
      .append({
        principal: call.principal ?? "anonymous",
        action: call.action,
        target: call.target,
        source: call.source ?? null,
        outcome: call.outcome,
        requestId: call.requestId ?? null,
        details: call.error ? { error: call.error.code } : {},
      })
      .catch((err: unknown) => logger.error(`Audit row for ${call.action} not written: ${(err as Error).message}`));
  }
}
