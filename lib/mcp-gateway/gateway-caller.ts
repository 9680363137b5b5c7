import type { AccessPolicy } from "../security/access-policy";

/** Who calls, as the edges put it in `ctx.meta.principal` (an AuthenticatedPrincipal fits). */
export interface CallerPrincipal {
  id: string;
  roles: readonly string[];
  /** An API key narrowed to these permissions; absent or empty: all of its role's. */
  scopes?: readonly string[] | undefined;
  kind?: string;
}

/** A caller of the gateway: an authenticated principal, or none for a trusted in-cluster caller. */
export interface GatewayCaller {
  /**
   * Undefined for an in-cluster caller (a local operator on `core mcp`
   * without a token, another service): like a call without
   * `ctx.meta.principal`, it may call everything.
   */
  principal: CallerPrincipal | undefined;
  /** Where the call came from: the client address, or the entry point (`stdio`). */
  source?: string | undefined;
}

/** The audit log's `principal` of a caller. */
export function auditPrincipal(caller: GatewayCaller): string {
  return caller.principal?.id ?? "system";
}

/** True when the caller holds `permission` (an in-cluster caller holds all). */
export function callerMay(policy: AccessPolicy, caller: GatewayCaller, permission: string): boolean {
  return caller.principal === undefined || policy.allows(caller.principal, permission);
}

/** `<id> (role a, b)`, for refusals. */
export function describeCaller(caller: GatewayCaller): string {
  const p = caller.principal;
  if (!p) return "the in-cluster caller";
  return `${p.id} (${p.roles.length > 0 ? `role ${p.roles.join(", ")}` : "no role"})`;
}
