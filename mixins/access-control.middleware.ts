import type { Middleware } from "moleculer";
import { ForbiddenError } from "../lib/errors";
import type { AccessPolicy, AccessSubject } from "../lib/security/access-policy";
import { PUBLIC, type PermissionSpec } from "../lib/security/permission";

type Ctx = { level?: number; params?: unknown; meta?: Record<string, unknown> };
type Handler = (ctx: unknown) => Promise<unknown>;

interface Caller extends AccessSubject {
  id: string;
}

/** The principal an edge put in `ctx.meta.principal`, read defensively: anything malformed holds no role. */
function callerOf(meta: Record<string, unknown> | undefined): Caller | undefined {
  const p = meta?.principal as { id?: unknown; roles?: unknown; scopes?: unknown } | undefined;
  if (p === undefined || p === null) return undefined;
  const strings = (v: unknown) => (Array.isArray(v) ? v.filter((s): s is string => typeof s === "string") : []);
  return { id: typeof p.id === "string" ? p.id : "unknown", roles: strings(p.roles), scopes: p.scopes === undefined ? undefined : strings(p.scopes) };
}

/**
 * RBAC for every entry point at once: the edges (REST, NATS, MCP) only say who
 * is calling, in `ctx.meta.principal`, and this checks it where the action
 * runs, on whichever node that is. Calls without a principal come from inside
 * the cluster (supervisors, the REPL) and pass. An action that declares no
 * permission is internal: the edges route only to actions that declare one
 * (test/unit/services/api-routes), and the product's own sub-calls (circle →
 * expert) pass on the strength of the action that made them.
 */
export function AccessControlMiddleware(policy: AccessPolicy): Middleware {
  return {
    name: "CoreAccessControl",
    localAction(next: Handler, action: { name?: string; permission?: PermissionSpec }): Handler {
      const name = action.name ?? "";
      const spec = action.permission;
      if (spec === undefined || spec === PUBLIC) return next;
      return function checked(raw) {
        const ctx = raw as Ctx;
        const caller = callerOf(ctx.meta);
        if (caller === undefined) return next(raw);
        const required = typeof spec === "function" ? spec((ctx.params ?? {}) as Record<string, unknown>) : spec;
        if (!policy.allows(caller, required)) {
          const as = caller.roles.length > 0 ? `role ${caller.roles.join(", ")}` : "no role";
          return Promise.reject(
            new ForbiddenError(`${caller.id} (${as}) lacks permission ${required} for ${name}`, { data: { action: name, permission: required } }),
          );
        }
        return next(raw);
      };
    },
  } as unknown as Middleware;
}
