import type { RoleConfig } from "./file-schema";

/**
 * The roles every deployment has. A role of the same name in the configuration
 * file replaces the default; `inherits` builds on others.
 *
 * Permissions are `area:verb[:object]`; a `*` in a granted permission matches
 * any run of characters (`mcp:call:*`, `admin:*`, `*`).
 */
export const DEFAULT_ROLES: Readonly<Record<string, RoleConfig>> = {
  viewer: {
    permissions: ["profile:read", "consultations:read", "experts:read", "costs:read", "budgets:read", "actors:read", "mcp:list"],
    inherits: [],
  },
  operator: {
    permissions: ["consult:run", "mcp:call:*", "actors:restart"],
    inherits: ["viewer"],
  },
  admin: {
    permissions: ["*"],
    inherits: [],
  },
};
