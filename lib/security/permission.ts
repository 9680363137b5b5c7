/**
 * What an action needs from its caller: a permission (`consult:run`), one
 * computed from its parameters (`mcp:call:<server>/<tool>`), or PUBLIC for the
 * few an anonymous caller may reach (login, refresh). Enforced by
 * mixins/access-control.middleware.ts for every call that carries a principal.
 */
export type PermissionSpec = string | ((params: Record<string, unknown>) => string);

/** Declares an action open to any caller, signed in or not. */
export const PUBLIC = "public";
