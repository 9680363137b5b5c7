import type { Context, ServiceBroker, ServiceSchema } from "moleculer";
import { AuditLog } from "../lib/audit";
import { ValidationError } from "../lib/errors";
import { readinessStatus } from "../lib/health/readiness";
import {
  MCP_CANCEL_EVENT,
  MCP_PROGRESS_EVENT,
  MCP_TOOLS_CHANGED_EVENT,
  mcpActorName,
  type McpCallToolResult,
  type McpProgress,
  type McpToolList,
  type McpToolsChanged,
} from "../lib/mcp/mcp-actor-contract";
import {
  MCP_CATALOGUE_CHANGED_EVENT,
  MCP_GATEWAY_SERVICE,
  McpGateway,
  McpHttpSessions,
  toolCallPermission,
  toolRateLimits,
  type BackendCall,
  type CallerPrincipal,
  type GatewayAuthenticateParams,
  type GatewayCallParams,
  type GatewayCaller,
  type GatewayToolList,
  type McpGatewayBackend,
  type McpHttpHandler,
  type ToolTarget,
} from "../lib/mcp-gateway";
import { RateLimiter } from "../lib/ratelimit/rate-limiter";
import { AccessPolicy } from "../lib/security/access-policy";
import type { AuthenticatedPrincipal } from "../lib/security/principal";
import { requires } from "../mixins/action-permission";
import { EdgeAuditor } from "../mixins/edge-auditor";
import { apiKeyRevocations, authenticatorOf } from "../mixins/node-authenticator";
import { nodeReadiness } from "../mixins/node-readiness";
import type { NodeRuntime } from "../mixins/node-runtime";
import { toCoreError } from "../mixins/to-core-error";

/** How long listing one server's tools may take. */
const LIST_TIMEOUT_MS = 10_000;
const MCP_ACTOR_PREFIX = mcpActorName("");

type Meta = Record<string, unknown>;
type Self = { broker: ServiceBroker; logger: ServiceBroker["logger"] };
/** The service instance, as the api service finds it on its node (`broker.getLocalService("mcp-gateway")`). */
export interface McpGatewayServiceInstance {
  mcpHttp?: McpHttpHandler;
}

/** The principal an edge put in meta, read defensively (as the access-control middleware does). */
function callerOf(meta: Meta): GatewayCaller {
  const p = meta.principal as { id?: unknown; roles?: unknown; scopes?: unknown; kind?: unknown } | undefined | null;
  const source = typeof meta.source === "string" ? meta.source : undefined;
  if (p === undefined || p === null) return { principal: undefined, source };
  const strings = (v: unknown) => (Array.isArray(v) ? v.filter((s): s is string => typeof s === "string") : []);
  const principal: CallerPrincipal = {
    id: typeof p.id === "string" ? p.id : "unknown",
    roles: strings(p.roles),
    ...(p.scopes === undefined ? {} : { scopes: strings(p.scopes) }),
    ...(typeof p.kind === "string" ? { kind: p.kind } : {}),
  };
  return { principal, source };
}

/** The MCP servers whose actors some node runs now (`mcp.<server>`). */
function mcpServersIn(broker: ServiceBroker): string[] {
  const names = broker.registry
    .getServiceList({ onlyAvailable: true, skipInternal: true })
    .map((s: { name: string }) => s.name)
    .filter((name: string) => name.startsWith(MCP_ACTOR_PREFIX) && name.length > MCP_ACTOR_PREFIX.length);
  return [...new Set(names.map((name: string) => name.slice(MCP_ACTOR_PREFIX.length)))];
}

/**
 * `mcp-gateway`: CORE as an MCP server (lib/mcp-gateway). Holds the node's
 * gateway (catalogue, RBAC, per-tool rate limits, audit) and its Streamable
 * HTTP sessions, which the api service on this node serves at `/mcp`; feeds
 * it the actors' events; and offers `tools` and `call` to REST and to
 * `core mcp` on client nodes.
 */
export default function createMcpGatewayService(runtime: NodeRuntime): ServiceSchema {
  const { config } = runtime;
  const policy = new AccessPolicy(config.roles);
  // As at the REST edge: a busy principal's tokens come from Redis a few at a time.
  const limiter = runtime.shared ? new RateLimiter(toolRateLimits(config.rateLimits), runtime.shared, { leases: config.redis !== undefined }) : undefined;
  const auditor = runtime.store ? new EdgeAuditor(AuditLog.of(runtime.store), new Set(["mcp.call"])) : undefined;
  let gateway: McpGateway | undefined;
  let sessions: McpHttpSessions | undefined;

  const running = (): McpGateway => {
    if (!gateway) throw new Error("the MCP gateway is not started");
    return gateway;
  };

  return {
    name: MCP_GATEWAY_SERVICE,
    mixins: [apiKeyRevocations(runtime)],

    actions: {
      tools: requires("mcp:list", {
        async handler(ctx: Context<Record<string, never>, Meta>): Promise<GatewayToolList> {
          return { tools: await running().listTools(callerOf(ctx.meta)) };
        },
      }),
      call: requires((params) => (typeof params.server === "string" && typeof params.tool === "string" ? toolCallPermission(params.server, params.tool) : "mcp:list"), {
        params: {
          server: { type: "string", min: 1, max: 256, optional: true },
          tool: { type: "string", min: 1, max: 256, optional: true },
          name: { type: "string", min: 1, max: 520, optional: true },
          arguments: { type: "object", optional: true },
          progressToken: { type: "string", min: 1, max: 256, optional: true },
          callId: { type: "string", min: 1, max: 256, optional: true },
          $$strict: true,
        },
        handler(ctx: Context<GatewayCallParams, Meta>): Promise<McpCallToolResult> {
          const { server, tool, name, arguments: args, progressToken, callId } = ctx.params;
          let target: ToolTarget;
          if (server !== undefined && tool !== undefined) target = { server, tool };
          else if (name !== undefined && server === undefined && tool === undefined) target = { name };
          else throw new ValidationError("Name the tool by server and tool, or by its namespaced name", { issues: [{ field: "name", message: "either server and tool, or name" }] });
          return running().callTool(callerOf(ctx.meta), target, args, { progressToken, callId, context: ctx });
        },
      }),
      /** For `core mcp` on a client node, which has no store to check an API key against. Internal: no edge routes to it. */
      authenticate: {
        params: { credential: { type: "string", min: 1, max: 4096 }, $$strict: true },
        handler(ctx: Context<GatewayAuthenticateParams>): Promise<AuthenticatedPrincipal> {
          return authenticatorOf(runtime).authenticate(ctx.params.credential);
        },
      },
    },

    events: {
      [MCP_PROGRESS_EVENT](ctx: Context<McpProgress>) {
        gateway?.deliverProgress(ctx.params);
      },
      [MCP_TOOLS_CHANGED_EVENT](ctx: Context<McpToolsChanged>) {
        if (typeof ctx.params?.server === "string") void gateway?.catalogue.refresh(ctx.params.server);
      },
      // An actor started, stopped or moved, or a node came or went.
      "$services.changed"() {
        void gateway?.catalogue.serversChanged();
      },
    },

    created(this: Self & McpGatewayServiceInstance) {
      const broker = this.broker;
      const logger = this.logger;
      /** A call with the caller's principal and the call's deadline; from the REST action's context when there is one (its trace goes on). */
      const callAs = async <T>(action: string, params: object, call: BackendCall): Promise<T> => {
        const options = { timeout: call.timeoutMs, meta: { principal: call.principal, requestId: call.requestId, ...(call.source ? { source: call.source } : {}) } };
        try {
          const ctx = call.context as Context | undefined;
          return ctx ? await ctx.call<T, object>(action, params, options) : await broker.call<T, object>(action, params, options);
        } catch (err) {
          throw toCoreError(err);
        }
      };
      const backend: McpGatewayBackend = {
        servers: () => mcpServersIn(broker),
        listTools: async (server) => {
          try {
            return await broker.call<McpToolList, Record<string, never>>(`${mcpActorName(server)}.listTools`, {}, { timeout: LIST_TIMEOUT_MS });
          } catch (err) {
            throw toCoreError(err);
          }
        },
        callTool: (server, params, call) => callAs<McpCallToolResult>(`${mcpActorName(server)}.callTool`, params, call),
        callAction: (action, params, call) => callAs<unknown>(action, params, call),
        readiness: async () => {
          const checks = await nodeReadiness(broker, runtime);
          return { status: readinessStatus(checks), nodeID: broker.nodeID, checks };
        },
        cancel: (cancel) => void broker.broadcast(MCP_CANCEL_EVENT, cancel),
      };
      gateway = new McpGateway({
        backend,
        policy,
        limiter,
        logger,
        audit: (entry) => auditor?.record({ action: "mcp.call", ...entry }),
      });
      // Front-ends on other nodes (`core mcp`) re-list when told.
      gateway.onToolsChanged(() => void broker.broadcast(MCP_CATALOGUE_CHANGED_EVENT, {}));
      sessions = new McpHttpSessions({ gateway, logger, allowedOrigins: config.http.corsOrigins });
      this.mcpHttp = sessions.handle;
    },

    started() {
      // Listed ahead of the first client (answers do not wait for it).
      void gateway?.catalogue.refresh();
    },

    async stopped() {
      await sessions?.close();
    },
  };
}
