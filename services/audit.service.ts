import type { Context, ServiceSchema } from "moleculer";
import { AuditLog } from "../lib/audit";
import { UnavailableError } from "../lib/errors";
import { requires } from "../mixins/action-permission";
import type { NodeRuntime } from "../mixins/node-runtime";

/** The audit trail: `audit.verify` walks the hash chain (what `core audit verify` calls), `audit.list` pages through it. */
export default function createAuditService(runtime: NodeRuntime): ServiceSchema {
  const log = () => {
    if (!runtime.store) throw new UnavailableError("This node has no store");
    return AuditLog.of(runtime.store);
  };
  return {
    name: "audit",
    actions: {
      verify: requires("admin:audit", {
        handler: () => log().verify(),
      }),
      list: requires("admin:audit", {
        params: { afterSeq: { type: "number", integer: true, min: 0, optional: true, convert: true }, limit: { type: "number", integer: true, min: 1, max: 1000, optional: true, convert: true }, $$strict: true },
        handler: (ctx: Context<{ afterSeq?: number; limit?: number }>) => log().list(ctx.params),
      }),
    },
  };
}
