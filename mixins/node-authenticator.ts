import { UnavailableError } from "../lib/errors";
import { Authenticator } from "../lib/security/authenticator";
import type { NodeRuntime } from "./node-runtime";

const perRuntime = new WeakMap<NodeRuntime, Authenticator>();

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
      ...(onBackgroundError ? { onBackgroundError } : {}),
    });
    perRuntime.set(runtime, authenticator);
  }
  return authenticator;
}
