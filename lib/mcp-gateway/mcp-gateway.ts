import { randomUUID } from "node:crypto";
import type { AuditOutcome } from "../audit";
import { CoreError, ForbiddenError, InternalError } from "../errors";
import { McpToolNotFoundError } from "../errors/mcp-errors";
import type { Logger } from "../logger";
import type { McpCallToolParams, McpCallToolResult, McpCancel, McpProgress, McpToolList } from "../mcp/mcp-actor-contract";
import type { RateLimiter } from "../ratelimit/rate-limiter";
import type { AccessPolicy } from "../security/access-policy";
import { CORE_TOOLS, coreTool, type CoreTool, type CoreToolInvoker } from "./core-tools";
import { auditPrincipal, callerMay, describeCaller, type CallerPrincipal, type GatewayCaller } from "./gateway-caller";
import { ProgressRelay } from "./progress-relay";
import { ToolCatalogue, type CatalogueEntry } from "./tool-catalogue";
import type { GatewayTool, ToolCallOptions, ToolGateway, ToolTarget } from "./tool-gateway";
import { CORE_SERVER, namespacedToolName, TOOL_NAME_SEPARATOR, toolPath } from "./tool-names";
import { toolCallRequest } from "./tool-rate-limits";

/** How one call reaches the cluster: who, under which deadline, with which id. */
export interface BackendCall {
  principal: CallerPrincipal | undefined;
  timeoutMs: number;
  requestId: string;
  source: string | undefined;
  /** The caller's Moleculer context (REST), opaque here. */
  context?: unknown;
}

/** The cluster as the gateway uses it (services/mcp-gateway.service.ts provides it over the broker). Calls throw CoreErrors. */
export interface McpGatewayBackend {
  /** The MCP servers some node runs an `mcp.<server>` actor for, now. */
  servers(): string[];
  listTools(server: string): Promise<McpToolList>;
  callTool(server: string, params: McpCallToolParams, call: BackendCall): Promise<McpCallToolResult>;
  /** A CORE action (circle.consult, …) with the caller's principal in meta. */
  callAction(action: string, params: Record<string, unknown>, call: BackendCall): Promise<unknown>;
  /** This node's readiness, as /health/ready reports it. */
  readiness(): Promise<unknown>;
  /** Broadcasts MCP_CANCEL_EVENT. */
  cancel(cancel: McpCancel): void;
}

/** One audit row per tool call: action `mcp.call`, target `<server>/<tool>`. */
export interface ToolCallAudit {
  principal: string;
  target: string;
  source: string | undefined;
  requestId: string;
  outcome: AuditOutcome;
  error?: CoreError | undefined;
}

export interface McpGatewayOptions {
  backend: McpGatewayBackend;
  policy: AccessPolicy;
  /** Per-tool token buckets (built from toolRateLimits(config.rateLimits)); none: unlimited. */
  limiter?: RateLimiter | undefined;
  /** Told about every call; must not throw (the service writes the row without awaiting it). */
  audit?: ((entry: ToolCallAudit) => void) | undefined;
  logger: Logger;
  /** Deadline of an upstream tool call; 60 s. */
  callTimeoutMs?: number;
  /** See ToolCatalogueOptions.maxAgeMs. */
  catalogueMaxAgeMs?: number;
}

export const DEFAULT_TOOL_CALL_TIMEOUT_MS = 60_000;

type Resolved = { server: string; tool: string; name: string; permission: string; core?: CoreTool };

/** How a refused or failed call is audited (the same rule as the REST edge's). */
function auditOutcomeOf(err: CoreError): AuditOutcome {
  return err.status === 401 || err.status === 403 ? "denied" : err.status === 422 ? "invalid" : "failed";
}

function asCoreError(err: unknown): CoreError {
  return err instanceof CoreError ? err : new InternalError("Internal error", { cause: err });
}

function describeTarget(target: ToolTarget): string {
  return "name" in target ? target.name : namespacedToolName(target.server, target.tool);
}

function coreEntry(tool: CoreTool): GatewayTool {
  return { ...tool.definition, name: namespacedToolName(CORE_SERVER, tool.tool), server: CORE_SERVER, tool: tool.tool };
}

function withoutPermission({ permission: _permission, ...tool }: CatalogueEntry): GatewayTool {
  return tool;
}

/**
 * CORE as an MCP server, minus the protocol: the catalogue of every upstream
 * tool plus CORE's own, filtered per caller by RBAC; calls authorised, rate
 * limited per tool, audited, sent to `mcp.<server>.callTool` with the
 * caller's principal and a deadline, with progress routed back and
 * cancellation passed on. The MCP front-ends (gateway-mcp-server.ts) and the
 * REST actions both call this.
 */
export class McpGateway implements ToolGateway {
  readonly catalogue: ToolCatalogue;
  private readonly progress = new ProgressRelay();
  private readonly callTimeoutMs: number;
  private warnedLimiterDown = 0;

  constructor(private readonly options: McpGatewayOptions) {
    const { backend } = options;
    this.callTimeoutMs = options.callTimeoutMs ?? DEFAULT_TOOL_CALL_TIMEOUT_MS;
    this.catalogue = new ToolCatalogue(
      { servers: () => backend.servers(), listTools: async (server) => (await backend.listTools(server)).tools },
      { logger: options.logger, ...(options.catalogueMaxAgeMs ? { maxAgeMs: options.catalogueMaxAgeMs } : {}) },
    );
  }

  /** The tools this caller may call: CORE's own first, then every upstream server's. */
  async listTools(caller: GatewayCaller): Promise<GatewayTool[]> {
    const { policy } = this.options;
    const upstream = await this.catalogue.entries();
    return [
      ...CORE_TOOLS.filter((t) => callerMay(policy, caller, t.permission)).map(coreEntry),
      ...upstream.filter((e) => callerMay(policy, caller, e.permission)).map(withoutPermission),
    ];
  }

  /**
   * Calls a tool for the caller. Throws McpToolNotFoundError for a name the
   * catalogue does not hold, ForbiddenError when the caller may not call it,
   * RateLimitedError when its bucket is empty, and whatever CoreError the
   * call met; an upstream tool's own failure is a result with `isError`.
   */
  async callTool(caller: GatewayCaller, target: ToolTarget, args: Record<string, unknown> | undefined, options: ToolCallOptions = {}): Promise<McpCallToolResult> {
    const requestId = randomUUID();
    const resolved = await this.resolve(target);
    const audit = (target: string, outcome: AuditOutcome, error?: CoreError) =>
      this.options.audit?.({ principal: auditPrincipal(caller), target, source: caller.source, requestId, outcome, ...(error ? { error } : {}) });
    if (!resolved) {
      const name = describeTarget(target);
      const err = new McpToolNotFoundError(`Unknown tool ${name}`, { data: { tool: name } });
      audit(name, "invalid", err);
      throw err;
    }
    const path = toolPath(resolved.server, resolved.tool);
    if (!callerMay(this.options.policy, caller, resolved.permission)) {
      const err = new ForbiddenError(`${describeCaller(caller)} may not call ${path}: it needs permission ${resolved.permission}`, {
        data: { tool: path, permission: resolved.permission },
      });
      audit(path, "denied", err);
      throw err;
    }
    const limited = await this.rateLimited(resolved, caller);
    if (limited) {
      audit(path, auditOutcomeOf(limited), limited);
      throw limited;
    }
    const call: BackendCall = {
      principal: caller.principal,
      timeoutMs: resolved.core?.timeoutMs ?? this.callTimeoutMs,
      requestId,
      source: caller.source,
      ...(options.context === undefined ? {} : { context: options.context }),
    };
    try {
      const result = resolved.core ? await resolved.core.run(args ?? {}, this.invoker(call)) : await this.callUpstream(resolved, args, options, call);
      audit(path, result.isError ? "failed" : "ok");
      return result;
    } catch (e) {
      const err = asCoreError(e);
      audit(path, auditOutcomeOf(err), err);
      // The actor no longer has it: the catalogue is behind.
      if (err.code === "MCP_TOOL_NOT_FOUND") void this.catalogue.refresh(resolved.server);
      throw err;
    }
  }

  onToolsChanged(listener: () => void): () => void {
    return this.catalogue.onChange(listener);
  }

  /** An MCP_PROGRESS_EVENT from some actor: forwarded if one of this gateway's calls asked for it. */
  deliverProgress(event: McpProgress): void {
    this.progress.deliver(event);
  }

  private async resolve(target: ToolTarget): Promise<Resolved | undefined> {
    const corePrefix = `${CORE_SERVER}${TOOL_NAME_SEPARATOR}`;
    const core = "name" in target ? (target.name.startsWith(corePrefix) ? coreTool(target.name.slice(corePrefix.length)) : undefined) : target.server === CORE_SERVER ? coreTool(target.tool) : undefined;
    if (core) return { server: CORE_SERVER, tool: core.tool, name: namespacedToolName(CORE_SERVER, core.tool), permission: core.permission, core };
    // Not listed: maybe its actor started a moment ago and the registry's news has not been acted on yet.
    const entry = (await this.catalogue.find(target)) ?? (await this.catalogue.serversChanged().then(() => this.catalogue.find(target)));
    return entry && { server: entry.server, tool: entry.tool, name: entry.name, permission: entry.permission };
  }

  /** The refusal when the tool's bucket is empty; undefined to go on. Shared counters unreachable: unlimited, said once a minute. */
  private async rateLimited(resolved: Resolved, caller: GatewayCaller): Promise<CoreError | undefined> {
    const limiter = this.options.limiter;
    if (!limiter?.enabled) return undefined;
    try {
      const decision = await limiter.check(toolCallRequest(resolved.server, resolved.tool, caller.principal?.id, caller.source));
      return decision.allowed ? undefined : decision.error;
    } catch (err) {
      const now = Date.now();
      if (now - this.warnedLimiterDown > 60_000) {
        this.warnedLimiterDown = now;
        this.options.logger.warn(`Tool rate limits not enforced: the shared store is unavailable (${(err as Error).message})`);
      }
      return undefined;
    }
  }

  private invoker(call: BackendCall): CoreToolInvoker {
    return {
      call: (action, params) => this.options.backend.callAction(action, params, call),
      readiness: () => this.options.backend.readiness(),
    };
  }

  private async callUpstream(resolved: Resolved, args: Record<string, unknown> | undefined, options: ToolCallOptions, call: BackendCall): Promise<McpCallToolResult> {
    const { backend } = this.options;
    const callId = options.callId ?? randomUUID();
    const relayed = options.progressToken === undefined && options.onProgress ? this.progress.open(options.onProgress) : undefined;
    const progressToken = options.progressToken ?? relayed;
    const { signal } = options;
    const cancel = () => backend.cancel({ callId, reason: signal?.reason instanceof Error ? signal.reason.message : "cancelled by the client" });
    signal?.addEventListener("abort", cancel, { once: true });
    try {
      const params: McpCallToolParams = { tool: resolved.tool, callId, ...(args ? { arguments: args } : {}), ...(progressToken ? { progressToken } : {}) };
      return await backend.callTool(resolved.server, params, call);
    } finally {
      signal?.removeEventListener("abort", cancel);
      if (relayed) await this.progress.settle(relayed);
    }
  }
}
