import type { Context, ServiceSchema } from "moleculer";
import { UnavailableError } from "../lib/errors";
import { Authenticator } from "../lib/security/authenticator";
import type { NodeRuntime } from "./node-runtime";

const perRuntime = new WeakMap<NodeRuntime, Authenticator>();

/**
 * How long a node reuses an API key's row instead of reading it for every
 * request. A revocation reaches every node at once through the
 * `apiKeys.revoked` broadcast; only a node cut off from the cluster at that
 * moment still takes the revoked key, for at most this long.
 */
export const API_KEY_CACHE_MS = 5_000;
export const API_KEY_REVOKED_EVENT = "apiKeys.revoked";

/**
 * The node's one Authenticator, shared by the gateway (to know who calls) and
 * the auth service (logins, keys): one scrypt dummy hash, one key-use
 * throttle per node.
 */
export function authenticatorOf(runtime: NodeRuntime, onBackgroundError?: (err: unknown, what: string) => void): Authenticator {
  let authenticator = perRuntime.get(runtime);
  if (!authenticator) {
    if (!runtime.store) throw new UnavailableError("This node has no store: it cannot authenticate");
    authenticator = new Authenticator({
      store: runtime.store,
      secret: runtime.config.jwtSecret,
      roles: Object.keys(runtime.config.roles),
      apiKeyCacheMs: API_KEY_CACHE_MS,
      ...(onBackgroundError ? { onBackgroundError } : {}),
    });
    perRuntime.set(runtime, authenticator);
  }
  return authenticator;
}

/** Mixed into every service that authenticates callers: a key revoked anywhere is forgotten here at once. */
export function apiKeyRevocations(runtime: NodeRuntime): Partial<ServiceSchema> {
  return {
    events: {
      [API_KEY_REVOKED_EVENT]: {
        handler(ctx: Context<{ id?: unknown }>) {
          if (typeof ctx.params.id === "string") perRuntime.get(runtime)?.forgetApiKey(ctx.params.id);
        },
      },
    },
  };
}
