import type { ServiceBroker } from "moleculer";
import { ControlServer, controlSocketPath } from "../lib/control";
import { describeError } from "../lib/errors";
import type { Logger } from "../lib/logger";
import { toCoreError } from "./to-core-error";

/** What the `core` admin commands may call through a node's control socket; nothing else is offered there. */
export const CONTROL_ACTIONS: readonly string[] = ["auth.createUser", "auth.createKey", "auth.listKeys", "auth.revokeKey", "audit.verify"];

/**
 * Opens the control socket of a node that holds an embedded (PGlite) data
 * directory, `<dataDir>/core.sock`: the way admin commands reach this node,
 * since no second process may open the directory. Each request becomes a
 * trusted in-node call marked `source: "cli"` for the audit log. A socket
 * that cannot be opened costs only the admin commands, so the node warns and
 * runs on.
 */
export async function openControlSocket(broker: ServiceBroker, dataDir: string, logger: Logger): Promise<ControlServer | undefined> {
  const path = controlSocketPath(dataDir);
  try {
    const server = await ControlServer.listen({
      path,
      actions: CONTROL_ACTIONS,
      handle: (action, params) => {
        // The action only: params may hold a password.
        logger.info(`Admin command through the control socket: ${action}`);
        return broker.call(action, params, { meta: { source: "cli" } });
      },
      toError: toCoreError,
    });
    logger.info(`Admin commands (core users, core keys, core audit) reach this node through ${path}`);
    return server;
  } catch (err) {
    logger.warn(`Admin commands cannot reach this node: its control socket did not open. ${describeError(err)}`);
    return undefined;
  }
}
