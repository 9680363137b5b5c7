import { randomUUID } from "node:crypto";
import { NotFoundError } from "../errors";
import { MCP_CANCEL_EVENT, type McpCallToolResult, type McpCancel, type McpProgress } from "../mcp/mcp-actor-contract";
import type { CallerPrincipal, GatewayCaller } from "./gateway-caller";
import { MCP_GATEWAY_SERVICE, type GatewayCallParams, type GatewayToolList } from "./gateway-service-contract";
import { ProgressRelay } from "./progress-relay";
import type { GatewayTool, ToolCallOptions, ToolGateway, ToolTarget } from "./tool-gateway";

/** The cluster as a remote front-end reaches it (a broker in bin/). Calls throw CoreErrors. */
export interface GatewayServiceClient {
  call<T>(action: string, params: object, options: { principal: CallerPrincipal | undefined; timeoutMs: number }): Promise<T>;
  broadcast(event: string, payload: McpCancel): void;
}

export interface RemoteToolGatewayOptions {
  /** Deadline of a tool call through the gateway service; longer than the gateway's own (60 s, a consult 65 s). 120 s. */
  callTimeoutMs?: number;
  listTimeoutMs?: number;
}

/**
 * The gateway as seen from a node that does not run it (`core mcp` on a
 * client node of the cluster): lists and calls go to the `mcp-gateway`
 * service (which authorises, rate limits and audits), progress comes straight
 * from the actors' broadcasts (this node's own token, passed through), and a
 * cancellation is broadcast from here. Feed it MCP_PROGRESS_EVENT and
 * MCP_CATALOGUE_CHANGED_EVENT from a local listener.
 */
export class RemoteToolGateway implements ToolGateway {
  private readonly progress = new ProgressRelay();
  private readonly listeners = new Set<() => void>();

  constructor(
    private readonly client: GatewayServiceClient,
    private readonly options: RemoteToolGatewayOptions = {},
  ) {}

  async listTools(caller: GatewayCaller): Promise<GatewayTool[]> {
    const list = await this.client.call<GatewayToolList>(`${MCP_GATEWAY_SERVICE}.tools`, {}, { principal: caller.principal, timeoutMs: this.options.listTimeoutMs ?? 15_000 });
    return list.tools;
  }

  async callTool(caller: GatewayCaller, target: ToolTarget, args: Record<string, unknown> | undefined, options: ToolCallOptions = {}): Promise<McpCallToolResult> {
    if ("name" in target && !target.name) throw new NotFoundError("Unknown tool (no name)", { data: { tool: "" } });
    const callId = options.callId ?? randomUUID();
    const relayed = options.progressToken === undefined && options.onProgress ? this.progress.open(options.onProgress) : undefined;
    const progressToken = options.progressToken ?? relayed;
    const params: GatewayCallParams = {
      ...("name" in target ? { name: target.name } : { server: target.server, tool: target.tool }),
      ...(args ? { arguments: args } : {}),
      ...(progressToken ? { progressToken } : {}),
      callId,
    };
    const { signal } = options;
    const cancel = () => this.client.broadcast(MCP_CANCEL_EVENT, { callId, reason: "cancelled by the client" });
    signal?.addEventListener("abort", cancel, { once: true });
    try {
      return await this.client.call<McpCallToolResult>(`${MCP_GATEWAY_SERVICE}.call`, params, { principal: caller.principal, timeoutMs: this.options.callTimeoutMs ?? 120_000 });
    } finally {
      signal?.removeEventListener("abort", cancel);
      if (relayed) await this.progress.settle(relayed);
    }
  }

  onToolsChanged(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** MCP_PROGRESS_EVENT as this node received it. */
  deliverProgress(event: McpProgress): void {
    this.progress.deliver(event);
  }

  /** MCP_CATALOGUE_CHANGED_EVENT as this node received it. */
  catalogueChanged(): void {
    for (const listener of this.listeners) listener();
  }
}
