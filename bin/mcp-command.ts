import { randomBytes } from "node:crypto";
import type { Context, ServiceBroker, ServiceSchema } from "moleculer";
import type { CoreConfig } from "../config";
import { describeError } from "../lib/errors";
import { MCP_PROGRESS_EVENT, type McpProgress } from "../lib/mcp/mcp-actor-contract";
import {
  MCP_CATALOGUE_CHANGED_EVENT,
  MCP_GATEWAY_SERVICE,
  RemoteToolGateway,
  serveMcpStdio,
  stdioCaller,
  type CallerPrincipal,
  type GatewayAuthenticateParams,
  type GatewayServiceClient,
} from "../lib/mcp-gateway";
import { friendlyStartError, startNode, type CoreNode } from "../node";
import { toCoreError } from "../mixins/to-core-error";
import { DEFAULT_SERVICES } from "../services";

/** The environment variable holding the credential `core mcp` acts with: an API key (`core_…`) or an access token. */
export const MCP_TOKEN_ENV = "CORE_MCP_TOKEN";
/** How long a client node waits for some node to offer the gateway. */
const GATEWAY_WAIT_MS = 15_000;
/** A credential is checked again this often, so a revoked key stops working within it. */
const REAUTHENTICATE_MS = 30_000;

/** Embedded, this process is the whole system, minus the HTTP listeners (an MCP client spawns it; it must not take ports). */
export const EMBEDDED_MCP_SERVICES: readonly string[] = DEFAULT_SERVICES.filter((s) => s !== "api" && s !== "openai");

/**
 * stdout carries the MCP messages and nothing else: every console method
 * (Moleculer's console logger among them) writes to stderr instead.
 */
export function sendConsoleToStderr(): void {
  const toStderr = (...args: unknown[]) => console.error(...args);
  console.log = toStderr;
  console.info = toStderr;
  console.debug = toStderr;
  console.trace = toStderr;
  console.dir = (item: unknown) => console.error(item);
  console.table = (data: unknown) => console.error(data);
}

/** The configuration `core mcp` runs with: quiet (warnings up), no metrics listener, a node id of its own. */
export function mcpCommandEnv(env: NodeJS.ProcessEnv): Record<string, string | undefined> {
  return {
    CORE_NODE_ID: env.CORE_NODE_ID ?? `mcp-${process.pid}-${randomBytes(3).toString("hex")}`,
    CORE_LOG_LEVEL: env.CORE_LOG_LEVEL ?? "warn",
    CORE_METRICS: "false",
  };
}

/** A listener for what the gateway front-end on this node hears: the actors' progress and the gateway's catalogue changes. */
function frontEndListener(gateway: RemoteToolGateway): ServiceSchema {
  return {
    name: `mcp-stdio-${process.pid}-${randomBytes(3).toString("hex")}`,
    events: {
      [MCP_PROGRESS_EVENT](ctx: Context<McpProgress>) {
        gateway.deliverProgress(ctx.params);
      },
      [MCP_CATALOGUE_CHANGED_EVENT]() {
        gateway.catalogueChanged();
      },
    },
  };
}

/**
 * Waits until the gateway's nodes list this one. Progress and catalogue
 * changes are broadcasts, which a node sends only to nodes it knows: a client
 * node that calls at once could otherwise miss the first ones (a node that
 * missed this one's INFO learns of it only from a later heartbeat).
 */
async function awaitRecognition(broker: ServiceBroker, timeoutMs: number): Promise<void> {
  const discoverer = (broker.registry as unknown as { discoverer: { sendLocalNodeInfo(): Promise<void> } }).discoverer;
  await discoverer.sendLocalNodeInfo();
  const gateways = () =>
    broker.registry
      .getServiceList({ onlyAvailable: true })
      .filter((s: { name: string }) => s.name === MCP_GATEWAY_SERVICE)
      .map((s: { nodeID?: string }) => s.nodeID!)
      .filter((id: string) => id !== broker.nodeID);
  const deadline = Date.now() + timeoutMs;
  for (const nodeID of gateways()) {
    while (Date.now() < deadline) {
      const nodes = await broker.call<Array<{ id: string }>, { onlyAvailable: boolean }>("$node.list", { onlyAvailable: true }, { nodeID, timeout: 2_000 }).catch(() => []);
      if (nodes.some((n) => n.id === broker.nodeID)) break;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

function clientOf(broker: () => ServiceBroker): GatewayServiceClient {
  return {
    async call<T>(action: string, params: object, options: { principal: CallerPrincipal | undefined; timeoutMs: number }): Promise<T> {
      try {
        return await broker().call<T, object>(action, params, { timeout: options.timeoutMs, meta: { ...(options.principal ? { principal: options.principal } : {}), source: "stdio" } });
      } catch (err) {
        throw toCoreError(err);
      }
    },
    broadcast(event, payload) {
      void broker().broadcast(event, payload);
    },
  };
}

/**
 * `core mcp`: CORE's MCP gateway on stdin/stdout. With NATS_URL, a client
 * node of the cluster whose `mcp-gateway` service authorises, rate limits and
 * audits every call; without, this process runs the services itself (no
 * HTTP). With CORE_MCP_TOKEN, it acts as that API key's or token's
 * principal (its role decides which tools are listed and callable);
 * without, as the trusted local operator (the in-cluster system principal,
 * as the REPL does). Logs go to stderr. Exits 0 once the client closes stdin.
 */
export async function runMcpCommand(config: CoreConfig, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const embedded = !config.nats;
  const gateway = new RemoteToolGateway(clientOf(() => node!.broker));
  let node: CoreNode | undefined;
  try {
    node = await startNode({
      config,
      services: embedded ? EMBEDDED_MCP_SERVICES : [],
      command: "core mcp",
      handleSignals: true,
      schemas: [frontEndListener(gateway)],
    });
    const broker = node.broker;
    await broker.waitForServices([MCP_GATEWAY_SERVICE], GATEWAY_WAIT_MS).catch(() => {
      throw new Error(`No node of the cluster runs the MCP gateway (waited ${GATEWAY_WAIT_MS / 1000} s): start one with \`core start\` (${MCP_GATEWAY_SERVICE} is a default service)`);
    });
    await awaitRecognition(broker, GATEWAY_WAIT_MS);
    const token = env[MCP_TOKEN_ENV]?.trim();
    const authenticate = token
      ? async (): Promise<CallerPrincipal> => {
          try {
            return await broker.call<CallerPrincipal, GatewayAuthenticateParams>(`${MCP_GATEWAY_SERVICE}.authenticate`, { credential: token });
          } catch (err) {
            throw toCoreError(err);
          }
        }
      : undefined;
    const callerOf = stdioCaller(authenticate, REAUTHENTICATE_MS);
    // A bad credential is said at once, not on the client's first call.
    const caller = await callerOf();
    const logger = broker.getLogger("mcp-stdio");
    const session = await serveMcpStdio({ gateway, callerOf, logger });
    logger.info(`MCP gateway on stdio as ${caller.principal ? `${caller.principal.id} (${caller.principal.roles.join(", ")})` : "the local operator (no CORE_MCP_TOKEN)"}`);
    await session.closed;
    return 0;
  } catch (err) {
    console.error(`core mcp: ${friendlyStartError(err, config)}`);
    return 1;
  } finally {
    await node?.stop().catch((err: unknown) => console.error(`core mcp: ${describeError(err)}`));
  }
}
