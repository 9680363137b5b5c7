import type { Context, Service, ServiceBroker, ServiceSchema } from "moleculer";
import { defineActor, type ActorDefinition, type ActorSelf } from "../actors/actor-spec";
import type { McpServerConfig } from "../config/file-schema";
import { UnavailableError } from "../lib/errors";
import { ProviderBreaker, type BreakerState } from "../lib/experts/provider-breaker";
import {
  MCP_CANCEL_EVENT,
  MCP_PROGRESS_EVENT,
  MCP_TOOLS_CHANGED_EVENT,
  mcpActorName,
  mcpCallPermission,
  type McpCallToolParams,
  type McpCallToolResult,
  type McpCancel,
  type McpProgress,
  type McpServerStatus,
  type McpToolList,
  type McpToolsChanged,
} from "../lib/mcp/mcp-actor-contract";
import type { McpPromptList, McpPromptMessages, McpResourceContents, McpResourceList } from "../lib/mcp/mcp-listings";
import { McpServerClient } from "../lib/mcp/mcp-server-client";
import { setBounded } from "../lib/bounded-map";
import { assertStdioCommand } from "../lib/mcp/stdio-command";
import type { NodeRuntime } from "../mixins/node-runtime";
import { deadlineOf } from "../mixins/resilience.middleware";

/** Broadcast when an MCP server's circuit breaker changes state. */
export const MCP_BREAKER_EVENT = "mcp.breaker.changed";

/** Five failures in a row open a server's breaker; one trial call after 10 s. */
const MCP_BREAKER = { failures: 5, halfOpenAfterMs: 10_000 };
/** A cancel that arrives before its call left the mailbox is remembered this long. */
const EARLY_CANCEL_TTL_MS = 60_000;
const EARLY_CANCEL_MAX = 1_000;

interface McpActorState {
  client: McpServerClient;
  /** Calls in flight that carry a callId, by callId. */
  calls: Map<string, AbortController>;
  /** Cancels for calls not yet running, by callId → when to forget them. */
  earlyCancels: Map<string, number>;
  /** Receives MCP_CANCEL_EVENT for this actor (actors declare actions only). */
  listener: Service | undefined;
}

type Ctx = Context<Record<string, unknown>, Record<string, unknown>>;

const callToolParams = {
  tool: { type: "string", min: 1, max: 256 },
  arguments: { type: "object", optional: true },
  progressToken: { type: "string", min: 1, max: 256, optional: true },
  callId: { type: "string", min: 1, max: 256, optional: true },
  $$strict: true,
};

/**
 * The breaker of each server outlives the actor's incarnations: it judges the
 * server, and a restart does not make a failing server healthy.
 */
class ServerBreakers {
  private readonly breakers = new Map<string, ProviderBreaker>();
  private readonly listeners = new Map<string, (state: BreakerState) => void>();

  for(server: string): ProviderBreaker {
    let breaker = this.breakers.get(server);
    if (!breaker) {
      breaker = new ProviderBreaker(`MCP server ${server}`, MCP_BREAKER, (state) => this.listeners.get(server)?.(state));
      this.breakers.set(server, breaker);
    }
    return breaker;
  }

  /** Who hears the breaker's changes: the running incarnation. */
  listen(server: string, listener: ((state: BreakerState) => void) | undefined): void {
    if (listener) this.listeners.set(server, listener);
    else this.listeners.delete(server);
  }
}

function rememberCancel(state: McpActorState, callId: string): void {
  const now = Date.now();
  for (const [id, expires] of state.earlyCancels) if (expires <= now) state.earlyCancels.delete(id);
  setBounded(state.earlyCancels, callId, now + EARLY_CANCEL_TTL_MS, EARLY_CANCEL_MAX);
}

type StartableService = Service & { _start(): Promise<void> };

/**
 * A plain service beside the actor that hears cancels, broadcast by any
 * caller, for calls this incarnation runs. Made and started as the actor's
 * own service is (mixins/actor-child.ts): awaited, and stopped by its actor,
 * not by the broker.
 */
async function startCancelListener(broker: ServiceBroker, server: string, self: ActorSelf<McpActorState>): Promise<Service> {
  const Factory = (broker as unknown as { ServiceFactory: new (broker: ServiceBroker, schema: ServiceSchema) => StartableService }).ServiceFactory;
  const service = new Factory(broker, {
    name: `$mcp-cancel.${server}`,
    events: {
      [MCP_CANCEL_EVENT]: {
        handler(ctx: Context<McpCancel>) {
          const { callId, reason } = ctx.params ?? ({} as McpCancel);
          if (typeof callId !== "string") return;
          const call = self.state.calls.get(callId);
          if (call) call.abort(reason ?? "cancelled by the caller");
          else rememberCancel(self.state, callId);
        },
      },
    },
  });
  await service._start();
  return service;
}

function mcpActor(server: McpServerConfig, breakers: ServerBreakers): ActorDefinition<McpActorState> {
  const name = mcpActorName(server.name);
  return defineActor<McpActorState>({
    name,
    kind: "mcp",
    // A stdio server takes a moment to leave; the client signals it after 300 ms and kills it after 1.3 s.
    shutdownMs: 5_000,
    state: () => ({ client: undefined as unknown as McpServerClient, calls: new Map(), earlyCancels: new Map(), listener: undefined }),
    async started(self) {
      let announced = false;
      const announce = (tools: string[]) => void self.broker.broadcast(MCP_TOOLS_CHANGED_EVENT, { server: server.name, tools } satisfies McpToolsChanged);
      const client = new McpServerClient({
        server,
        logger: self.logger,
        breaker: breakers.for(server.name),
        onToolsChanged: (tools) => {
          // The catalogue loaded while starting is announced once the actor can be called (below).
          if (announced) announce(tools.map((t) => t.name));
        },
        // The child's exit is this incarnation's crash: the supervisor restarts it (with backoff).
        onExit: (error) => self.crash(error),
      });
      self.state.client = client;
      breakers.listen(server.name, (state) => {
        self.logger.warn(`Circuit breaker of ${name} is now ${state}`);
        void self.broker.broadcast(MCP_BREAKER_EVENT, { server: server.name, state });
      });
      const listening = startCancelListener(self.broker, server.name, self).then((listener) => (self.state.listener = listener));
      try {
        await client.start();
      } catch (err) {
        // A stdio server that cannot start is a failed start (the supervisor retries with backoff). A remote
        // one may come later: the actor runs, answers UNAVAILABLE, and its health check connects again.
        // (`stopped` runs after a failed start too, and closes what was opened.)
        if (server.transport === "stdio") {
          await listening;
          throw err;
        }
        self.logger.warn(`${(err as Error).message}; ${name} will connect when the server is reachable`);
      }
      await listening;
      // Callers learn of the actor (and may call it) once the node told the cluster its services changed.
      const transit = (self.broker.options.transit ?? {}) as { serviceChangedDebounceTime?: number };
      setTimeout(() => {
        announced = true;
        if (client.connected) announce(client.tools().map((t) => t.name));
      }, (transit.serviceChangedDebounceTime ?? 0) + 50).unref();
    },
    async stopped(self) {
      breakers.listen(server.name, undefined);
      for (const call of self.state.calls.values()) call.abort("the actor is stopping");
      if (self.state.listener) await self.broker.destroyService(self.state.listener).catch(() => undefined);
      await self.state.client?.close();
    },
    health: {
      // stdio: a ping that fails three times in a row (a hung child) is a crash. Remote: reconnects, never crashes.
      check: (self) => self.state.client.health(),
      intervalMs: 5_000,
      failures: 3,
    },
    actions: {
      listTools: {
        permission: "mcp:list",
        handler(_ctx, self): McpToolList {
          const { client } = self.state;
          // Never reached since the start: say so, rather than list no tools.
          if (!client.catalogueLoaded) throw new UnavailableError(`${name} has not reached its server yet: ${client.status().lastError ?? "connecting"}`, { data: { server: server.name } });
          return { server: server.name, tools: client.tools() };
        },
      },
      callTool: {
        permission: (params) => mcpCallPermission(server.name, String(params.tool)),
        params: callToolParams,
        async handler(ctx: Ctx, self): Promise<McpCallToolResult> {
          const params = ctx.params as unknown as McpCallToolParams;
          const { callId, progressToken } = params;
          const abort = new AbortController();
          if (callId !== undefined) {
            if (self.state.earlyCancels.delete(callId)) abort.abort("cancelled by the caller");
            self.state.calls.set(callId, abort);
          }
          // Progress broadcasts in flight: the answer waits for them, so every progress event is on its way before the result.
          const broadcasts = new Set<Promise<unknown>>();
          const onProgress =
            progressToken === undefined
              ? undefined
              : (p: Omit<McpProgress, "progressToken">) => {
                  const sent: Promise<unknown> = ctx.broadcast(MCP_PROGRESS_EVENT, { progressToken, ...p } satisfies McpProgress).catch(() => undefined);
                  broadcasts.add(sent);
                  void sent.then(() => broadcasts.delete(sent));
                };
          try {
            return await self.state.client.callTool(params.tool, params.arguments, {
              deadline: deadlineOf(ctx),
              signal: abort.signal,
              ...(onProgress ? { onProgress } : {}),
            });
          } finally {
            if (callId !== undefined && self.state.calls.get(callId) === abort) self.state.calls.delete(callId);
            await Promise.all(broadcasts);
          }
        },
      },
      status: {
        permission: "mcp:list",
        handler(_ctx, self): McpServerStatus {
          return self.state.client.status();
        },
      },
      listResources: {
        permission: "mcp:list",
        handler(ctx: Ctx, self): Promise<McpResourceList> {
          return self.state.client.listResources({ deadline: deadlineOf(ctx) });
        },
      },
      readResource: {
        permission: "mcp:list",
        params: { uri: { type: "string", min: 1, max: 8_192 }, $$strict: true },
        handler(ctx: Ctx, self): Promise<McpResourceContents> {
          return self.state.client.readResource(String(ctx.params.uri), { deadline: deadlineOf(ctx) });
        },
      },
      listPrompts: {
        permission: "mcp:list",
        handler(ctx: Ctx, self): Promise<McpPromptList> {
          return self.state.client.listPrompts({ deadline: deadlineOf(ctx) });
        },
      },
      getPrompt: {
        permission: "mcp:list",
        params: {
          name: { type: "string", min: 1, max: 256 },
          arguments: { type: "record", key: { type: "string" }, value: { type: "string" }, optional: true },
          $$strict: true,
        },
        handler(ctx: Ctx, self): Promise<McpPromptMessages> {
          const { name: prompt, arguments: args } = ctx.params as { name: string; arguments?: Record<string, string> };
          return self.state.client.getPrompt(prompt, args, { deadline: deadlineOf(ctx) });
        },
      },
    },
  });
}

/**
 * `mcp.<server>` for every configured MCP server (DESIGN §6): each connects
 * over its transport, supervised (a stdio child's exit is a crash, restarted
 * with backoff), lists and calls its tools behind the server's own breaker,
 * and tells the cluster when its tools change.
 */
export default function createMcpActors(runtime: Pick<NodeRuntime, "config">): ActorDefinition[] {
  const breakers = new ServerBreakers();
  // A stdio command that is not there would only crash-loop: the start stops (exit 2) naming it.
  runtime.config.mcpServers.forEach((server, i) => assertStdioCommand(server, i));
  return runtime.config.mcpServers.map((server) => mcpActor(server, breakers) as unknown as ActorDefinition);
}
