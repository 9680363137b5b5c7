import type { Principal } from "../costs/budget-ledger";

/**
 * Who made a request, as established by the Authenticator. Assignable to the
 * `Principal` that budgets and consults take, so it can go into
 * `ctx.meta.principal` unchanged.
 *
 * - `kind: "user"`: `id` is the user's id (the access token's `sub`), `roles`
 *   its one role.
 * - `kind: "key"`: `id` is the API key's public id, `roles` the key's role and
 *   `scopes` the permissions it is narrowed to: an empty list means "all of the
 *   role's permissions", a non-empty one allows only those (and only as far as
 *   the role allows them too).
 */
export interface AuthenticatedPrincipal extends Principal {
  kind: "user" | "key";
  roles: readonly string[];
  scopes?: readonly string[];
}
