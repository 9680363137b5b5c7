import type { ActionSchema } from "moleculer";
import type { PermissionSpec } from "../lib/security/permission";

/** Marks a plain service's action with the permission its callers need (Moleculer keeps unknown schema keys on the action). */
export function requires<A extends ActionSchema>(permission: PermissionSpec, action: A): A & { permission: PermissionSpec } {
  return Object.assign(action, { permission });
}
