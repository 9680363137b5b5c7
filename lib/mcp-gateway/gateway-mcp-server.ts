import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import type { RequestHandlerExtra } from "@modelcontextprotocol/sdk/shared/protocol.js";
import {
  CallToolRequestSchema,
  ErrorCode,
  ListToolsRequestSchema,
  McpError,
  type CallToolResult,
  type ServerNotification,
  type ServerRequest,
  type Tool,
} from "@modelcontextprotocol/sdk/types.js";
import { CoreError, InternalError } from "../errors";
import type { Logger } from "../logger";
import { packageInfo } from "../package-info";
import type { GatewayCaller } from "./gateway-caller";
import type { GatewayTool, ToolGateway } from "./tool-gateway";
import { isUnknownTool, toolErrorResult } from "./tool-error-result";

export type GatewayRequestExtra = RequestHandlerExtra<ServerRequest, ServerNotification>;

export interface GatewayServerOptions {
  gateway: ToolGateway;
  /**
   * Who makes this request. Over HTTP each request carries its own
   * credential (so a refreshed token, or a revoked key, counts at once);
   * over stdio it is the process's. May throw a CoreError (an expired
   * token): a list is then refused, a call answered with a tool error.
   */
  callerOf: (extra: GatewayRequestExtra) => GatewayCaller | Promise<GatewayCaller>;
  logger: Logger;
}

/**
 * The least time between a call's last progress notification and its
 * answer. The SDK's client (1.x) handles a notification a microtask later
 * than an answer that arrives in the same read, drops the progress as "for an
 * unknown token" and reports a protocol error, on which some clients close
 * the connection (modelcontextprotocol/typescript-sdk#2580): a short gap keeps
 * the two in separate reads.
 */
export const PROGRESS_TO_ANSWER_GAP_MS = 15;

export const GATEWAY_INSTRUCTIONS =
  "CORE's MCP gateway. Every tool of the MCP servers CORE runs is listed as <server>__<tool>; CORE's own tools are core__consult (ask a circle of AI experts and get their consensus), core__experts and core__health. You see the tools your role allows.";

/** The MCP form of a gateway tool: its namespaced name, schemas and annotations as the upstream server gave them. */
export function mcpToolOf(tool: GatewayTool): Tool {
  return {
    name: tool.name,
    ...(tool.title === undefined ? {} : { title: tool.title }),
    ...(tool.description === undefined ? {} : { description: tool.description }),
    inputSchema: tool.inputSchema as Tool["inputSchema"],
    ...(tool.outputSchema === undefined ? {} : { outputSchema: tool.outputSchema as Tool["outputSchema"] }),
    ...(tool.annotations === undefined ? {} : { annotations: tool.annotations as Tool["annotations"] }),
  };
}

function asCoreError(err: unknown): CoreError {
  return err instanceof CoreError ? err : new InternalError("Internal error", { cause: err });
}

/**
 * One MCP session of the gateway (the SDK's low-level Server, so CORE decides
 * what tools/list and tools/call answer): tools/list is the caller's share of
 * the catalogue; tools/call goes through the gateway, with the client's
 * progress token honoured and its cancellation passed upstream. A name that
 * is no tool is a JSON-RPC error (-32602, "Unknown tool"), as the MCP
 * specification has it; every other failure (refused, rate limited,
 * upstream down) is a tool result with `isError`, so the session lives on.
 * Catalogue changes reach the client as notifications/tools/list_changed.
 */
export function createGatewayMcpServer(options: GatewayServerOptions): Server {
  const { gateway, callerOf, logger } = options;
  const server = new Server(
    { name: "core", title: "CORE MCP gateway", version: packageInfo().version },
    { capabilities: { tools: { listChanged: true } }, instructions: GATEWAY_INSTRUCTIONS },
  );

  server.setRequestHandler(ListToolsRequestSchema, async (_request, extra) => {
    let caller: GatewayCaller;
    try {
      caller = await callerOf(extra);
    } catch (err) {
      throw new McpError(ErrorCode.InvalidRequest, asCoreError(err).message);
    }
    const tools = await gateway.listTools(caller);
    return { tools: tools.map(mcpToolOf) };
  });

  server.setRequestHandler(CallToolRequestSchema, async (request, extra): Promise<CallToolResult> => {
    const { name, arguments: args } = request.params;
    const clientToken = request.params._meta?.progressToken;
    let lastProgressAt = 0;
    const afterProgress = async <T>(answer: T): Promise<T> => {
      const wait = lastProgressAt + PROGRESS_TO_ANSWER_GAP_MS - Date.now();
      if (lastProgressAt > 0 && wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      return answer;
    };
    try {
      const caller = await callerOf(extra);
      const onProgress =
        clientToken === undefined
          ? undefined
          : (p: { progress: number; total?: number | undefined; message?: string | undefined }) => {
              lastProgressAt = Date.now();
              const params = { progressToken: clientToken, progress: p.progress, ...(p.total === undefined ? {} : { total: p.total }), ...(p.message === undefined ? {} : { message: p.message }) };
              extra.sendNotification({ method: "notifications/progress", params }).catch((err: unknown) => logger.debug(`Progress of ${name} not sent: ${(err as Error).message}`));
            };
      return await afterProgress((await gateway.callTool(caller, { name }, args, { signal: extra.signal, ...(onProgress ? { onProgress } : {}) })) as CallToolResult);
    } catch (e) {
      const err = asCoreError(e);
      if (isUnknownTool(err)) throw new McpError(ErrorCode.InvalidParams, `Unknown tool: ${name}`);
      if (err.status >= 500 && !err.retryable) logger.warn(`Tool ${name} failed: ${err.message} [${err.code}]`);
      return afterProgress(toolErrorResult(err, name) as CallToolResult);
    }
  });

  const unsubscribe = gateway.onToolsChanged(() => {
    // Only once the client finished initialising; before that it lists anyway.
    if (!server.getClientCapabilities()) return;
    server.sendToolListChanged().catch((err: unknown) => logger.debug(`tools/list_changed not sent: ${(err as Error).message}`));
  });
  server.onclose = unsubscribe;
  return server;
}
