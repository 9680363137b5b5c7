import type { Principal } from "../lib/costs/budget-ledger";

/**
 * Who is calling, from `ctx.meta.principal { id, roles }`: set by the edges once
 * they authenticate (REST, NATS, MCP). In-cluster calls without one are `system`.
 */
export function principalOf(meta: Record<string, unknown>): Principal {
  const p = meta.principal as { id?: unknown; roles?: unknown } | undefined;
  const id = typeof p?.id === "string" && p.id ? p.id : "system";
  const roles = Array.isArray(p?.roles) ? p.roles.filter((r): r is string => typeof r === "string") : [];
  return { id, roles };
}
