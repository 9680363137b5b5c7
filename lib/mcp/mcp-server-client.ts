import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import {
  ProgressNotificationSchema,
  ToolListChangedNotificationSchema,
  type Implementation,
  type ProgressNotification,
  type ProgressToken,
  type Tool,
} from "@modelcontextprotocol/sdk/types.js";
import type { McpServerConfig } from "../../config/file-schema";
import { DeadlineExceededError, UnavailableError } from "../errors";
import { McpCallCancelledError, McpToolNotFoundError } from "../errors/mcp-errors";
import { ProviderBreaker, type BreakerState } from "../experts/provider-breaker";
import { silentLogger, type Logger } from "../logger";
import { packageInfo } from "../package-info";
import { collectPages, DEFAULT_MAX_PAGES } from "./collect-pages";
import type { McpCallToolResult, McpServerStatus, McpTool } from "./mcp-actor-contract";
import type { McpPromptList, McpPromptMessages, McpResourceContents, McpResourceList } from "./mcp-listings";
import { createMcpTransport, type McpTransportHandle } from "./mcp-transport";
import { isOutcomeUnknown, isSessionExpired, toMcpCoreError } from "./to-mcp-core-error";
import { ToolAllowList } from "./tool-allow-list";

/** Upstream progress of one call, as the server reported it. */
export interface McpCallProgress {
  progress: number;
  total?: number;
  message?: string;
}

export interface McpRequestOptions {
  /** When the caller stops waiting (epoch ms): the request is cancelled upstream then. */
  deadline: number;
  /** Aborting cancels the request upstream (notifications/cancelled) and rejects with MCP_CALL_CANCELLED. */
  signal?: AbortSignal;
}

export interface McpCallOptions extends McpRequestOptions {
  onProgress?: (progress: McpCallProgress) => void;
}

export interface McpServerClientOptions {
  server: McpServerConfig;
  logger?: Logger;
  /** The server's breaker; given by the owner so its state outlives one connection (and one actor incarnation). */
  breaker?: ProviderBreaker;
  /** The catalogue was (re)loaded on connecting, or changed on notifications/tools/list_changed. */
  onToolsChanged?: (tools: McpTool[]) => void;
  /** stdio: the child process exited (or its pipe closed) without `close()` asking. */
  onExit?: (error: Error) => void;
  maxPages?: number;
  /** How long `initialize` may take. */
  connectTimeoutMs?: number;
  /** How long a health ping may take. */
  pingTimeoutMs?: number;
  clientInfo?: Implementation;
}

interface Connection {
  readonly client: Client;
  readonly handle: McpTransportHandle;
  /** stdio: the child's pid, kept (the transport forgets it once the child is gone). */
  readonly pid: number | undefined;
  closing: boolean;
}

/** Listing a catalogue page is quick; this bounds a background refresh. */
const LIST_TIMEOUT_MS = 30_000;
/** A tool missing from the catalogue makes it reload, at most this often (a list_changed may still be on its way). */
const MISSING_TOOL_REFRESH_MS = 1_000;

/** Resolves after the I/O already received has been handled (the notifications it carried included). */
function afterPendingIo(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Settles with true when `p` settles within `ms`, else false. */
function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    void p.finally(() => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

function signalProcess(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // Already gone.
  }
}

function toMcpTool(tool: Tool): McpTool {
  return {
    name: tool.name,
    ...(tool.title !== undefined ? { title: tool.title } : {}),
    ...(tool.description !== undefined ? { description: tool.description } : {}),
    inputSchema: tool.inputSchema as Record<string, unknown>,
    ...(tool.outputSchema !== undefined ? { outputSchema: tool.outputSchema as Record<string, unknown> } : {}),
    ...(tool.annotations !== undefined ? { annotations: tool.annotations as Record<string, unknown> } : {}),
  };
}

/**
 * One configured MCP server, through the SDK's Client: connects over its
 * transport, keeps its tool catalogue (all pages, only what `allow` admits,
 * reloaded on notifications/tools/list_changed), and makes requests under a
 * deadline, with progress and cancellation, behind the server's circuit
 * breaker, with failures as CORE errors.
 *
 * Connection loss: a stdio child that exits is reported (`onExit`) for the
 * owner to restart; a remote (http, sse) server is connected again by the
 * next request or health check. A Streamable HTTP session the server forgot
 * (404) is initialised anew, transparently, and the request sent once more.
 */
export class McpServerClient {
  readonly name: string;
  readonly breaker: ProviderBreaker;
  private readonly server: McpServerConfig;
  private readonly logger: Logger;
  private readonly allow: ToolAllowList;
  private readonly options: McpServerClientOptions;
  private current: Connection | undefined;
  private connecting: Promise<Connection> | undefined;
  private catalogue = new Map<string, McpTool>();
  private refreshChain: Promise<void> = Promise.resolve();
  private lastRefresh = 0;
  private loaded = false;
  private lastError: string | undefined;
  /**
   * Who hears the progress of each running call, by the token we sent with it.
   * Ours, not the SDK's `onprogress`: the SDK forgets a call's handler as soon
   * as its result arrives, dropping a last progress that came in the same chunk
   * (typescript-sdk#2580); ours is forgotten only after that progress is handled.
   */
  private readonly progressListeners = new Map<ProgressToken, (progress: McpCallProgress) => void>();
  private progressTokens = 0;
  private started = false;
  private closed = false;

  constructor(options: McpServerClientOptions) {
    this.options = options;
    this.server = options.server;
    this.name = options.server.name;
    this.logger = options.logger ?? silentLogger;
    this.allow = new ToolAllowList(options.server.allow);
    this.breaker = options.breaker ?? new ProviderBreaker(`MCP server ${options.server.name}`);
  }

  get transport(): McpServerConfig["transport"] {
    return this.server.transport;
  }

  get connected(): boolean {
    return this.current !== undefined;
  }

  /** stdio: the child's pid while connected. */
  get pid(): number | undefined {
    return this.current?.pid;
  }

  get circuit(): BreakerState {
    return this.breaker.state;
  }

  /** Connects and loads the catalogue; rejects (as a CORE error) when either fails. */
  async start(): Promise<void> {
    await this.connect();
    // A child that left between its catalogue and now would otherwise go unreported.
    if (!this.current) throw new UnavailableError(this.lastError ?? `MCP server ${this.name} closed the connection while starting`, { data: { server: this.name } });
    this.started = true;
  }

  /** Closes the connection; a stdio child that does not exit promptly is signalled (TERM, then KILL). */
  async close(): Promise<void> {
    this.closed = true;
    const conn = this.current;
    this.current = undefined;
    if (conn) await this.closeConnection(conn);
    // A connect in flight sees `closed` when it completes and closes what it opened.
    await this.connecting?.catch(() => undefined);
  }

  /** Whether the catalogue was ever loaded (a remote server unreachable since the start has none yet). */
  get catalogueLoaded(): boolean {
    return this.loaded;
  }

  /** The allowed tools, from the catalogue in memory (kept while a remote server is briefly away). */
  tools(): McpTool[] {
    return [...this.catalogue.values()];
  }

  status(): McpServerStatus {
    const conn = this.current;
    const serverInfo = conn?.client.getServerVersion();
    return {
      server: this.name,
      transport: this.server.transport,
      connected: conn !== undefined,
      tools: this.catalogue.size,
      circuit: this.breaker.state,
      ...(conn?.pid !== undefined ? { pid: conn.pid } : {}),
      ...(serverInfo ? { serverInfo: { name: serverInfo.name, version: serverInfo.version } } : {}),
      ...(this.lastError !== undefined ? { lastError: this.lastError } : {}),
    };
  }

  /**
   * Checks the server answers a ping. stdio: a failure throws (a hung child
   * is the owner's to restart). Remote: a failure drops the session and a
   * check while disconnected connects again, so it never throws.
   */
  async health(): Promise<void> {
    if (this.closed) return;
    const conn = this.current;
    if (!conn) {
      if (this.server.transport === "stdio") throw new UnavailableError(`MCP server ${this.name} is not connected`, { data: { server: this.name } });
      if (!this.connecting) this.logger.info(`Reconnecting to MCP server ${this.name}`);
      await this.connect().catch((err: unknown) => this.logger.debug(`MCP server ${this.name} is still unreachable: ${(err as Error).message}`));
      return;
    }
    try {
      await conn.client.ping({ timeout: this.options.pingTimeoutMs ?? 5_000 });
    } catch (err) {
      if (this.server.transport !== "stdio" && isSessionExpired(err)) {
        await this.reinitialise(conn).catch(() => undefined);
        return;
      }
      const core = toMcpCoreError(this.name, "ping", err);
      this.lastError = core.message;
      if (this.server.transport === "stdio") throw core;
      this.logger.warn(`${core.message}; connecting anew`);
      if (this.current === conn) this.current = undefined;
      void this.closeConnection(conn);
    }
  }

  /** Reloads the catalogue (all pages); tells `onToolsChanged` when it changed (a tool, or a tool's schema). Runs one at a time. */
  refreshTools(): Promise<void> {
    const run = this.refreshChain.then(async () => {
      const conn = this.current;
      if (!conn || this.closed) return;
      const before = JSON.stringify(this.tools());
      try {
        await this.loadTools(conn);
      } catch (err) {
        this.logger.warn(`Could not reload the tools of MCP server ${this.name}: ${toMcpCoreError(this.name, "tools/list", err).message}`);
        return;
      }
      if (JSON.stringify(this.tools()) !== before) this.toolsChanged();
    });
    this.refreshChain = run.catch(() => undefined);
    return run;
  }

  async callTool(tool: string, args: Record<string, unknown> | undefined, options: McpCallOptions): Promise<McpCallToolResult> {
    // A tool `allow` hides is not found without asking the server, whatever its state.
    if (!this.allow.allows(tool)) throw this.toolNotFound(tool);
    const progressToken = options.onProgress ? `${this.name}:${++this.progressTokens}` : undefined;
    if (progressToken !== undefined && options.onProgress) this.progressListeners.set(progressToken, options.onProgress);
    try {
      return await this.request(`tools/call ${tool}`, options, async (client, remaining) => {
        await this.requireTool(tool);
        const result = await client.callTool({ name: tool, arguments: args ?? {}, ...(progressToken !== undefined ? { _meta: { progressToken } } : {}) }, undefined, {
          timeout: remaining(),
          ...(options.signal ? { signal: options.signal } : {}),
        });
        return result as unknown as McpCallToolResult;
      }, this.isSafeToRepeat(tool));
    } finally {
      if (progressToken !== undefined) {
        // A progress received with (just before) the result is still queued: let it reach the listener, before the call resolves.
        await afterPendingIo();
        this.progressListeners.delete(progressToken);
      }
    }
  }

  async listResources(options: McpRequestOptions): Promise<McpResourceList> {
    return this.request("resources/list", options, async (client, remaining) => {
      if (!client.getServerCapabilities()?.resources) return { server: this.name, resources: [], resourceTemplates: [] };
      const resources = await this.allPages("resources/list", (cursor) =>
        client.listResources(cursor ? { cursor } : undefined, { timeout: remaining() }).then((p) => ({ items: p.resources, nextCursor: p.nextCursor })),
      );
      const resourceTemplates = await this.allPages("resources/templates/list", (cursor) =>
        client
          .listResourceTemplates(cursor ? { cursor } : undefined, { timeout: remaining() })
          .then((p) => ({ items: p.resourceTemplates, nextCursor: p.nextCursor })),
      );
      return { server: this.name, resources, resourceTemplates };
    });
  }

  async readResource(uri: string, options: McpRequestOptions): Promise<McpResourceContents> {
    return this.request("resources/read", options, (client, remaining) => client.readResource({ uri }, { timeout: remaining() }));
  }

  async listPrompts(options: McpRequestOptions): Promise<McpPromptList> {
    return this.request("prompts/list", options, async (client, remaining) => {
      if (!client.getServerCapabilities()?.prompts) return { server: this.name, prompts: [] };
      const prompts = await this.allPages("prompts/list", (cursor) =>
        client.listPrompts(cursor ? { cursor } : undefined, { timeout: remaining() }).then((p) => ({ items: p.prompts, nextCursor: p.nextCursor })),
      );
      return { server: this.name, prompts };
    });
  }

  async getPrompt(name: string, args: Record<string, string> | undefined, options: McpRequestOptions): Promise<McpPromptMessages> {
    return this.request("prompts/get", options, (client, remaining) => client.getPrompt({ name, ...(args ? { arguments: args } : {}) }, { timeout: remaining() }));
  }

  /** A tool the (connected) catalogue has; one it lacks is not found. */
  private async requireTool(tool: string): Promise<void> {
    if (this.catalogue.has(tool)) return;
    // Perhaps added upstream a moment ago, its list_changed not yet handled.
    if (Date.now() - this.lastRefresh >= MISSING_TOOL_REFRESH_MS) await this.refreshTools();
    if (!this.catalogue.has(tool)) throw this.toolNotFound(tool);
  }

  /** A tool its server says is read-only or idempotent may be called again after a lost answer. */
  private isSafeToRepeat(tool: string): boolean {
    const hints = this.catalogue.get(tool)?.annotations;
    return hints?.readOnlyHint === true || hints?.idempotentHint === true;
  }

  private toolNotFound(tool: string): McpToolNotFoundError {
    return new McpToolNotFoundError(`MCP server ${this.name} has no tool ${JSON.stringify(tool)}`, { data: { server: this.name, tool } });
  }

  /**
   * One request to the server behind its breaker: connected first (a remote
   * server anew if needed), under the deadline, sent again once on a new
   * session if the server forgot ours, failures mapped to CORE errors.
   */
  private async request<T>(
    operation: string,
    options: McpRequestOptions,
    run: (client: Client, remaining: () => number) => Promise<T>,
    /** False for a tool that may have side effects: a request lost mid-way is then not offered for a retry. */
    safeToRepeat = true,
  ): Promise<T> {
    const { deadline, signal } = options;
    const cancelled = () => new McpCallCancelledError(`${operation} on MCP server ${this.name} was cancelled`, { data: { server: this.name, operation } });
    if (signal?.aborted) throw cancelled();
    const remaining = () => {
      const ms = deadline - Date.now();
      if (ms <= 0) throw new DeadlineExceededError(`MCP server ${this.name} did not answer ${operation} before the deadline`, { data: { server: this.name, operation } });
      return ms;
    };
    remaining();
    return this.breaker.run(async () => {
      try {
        let conn = await this.connection(operation, deadline);
        try {
          return await run(conn.client, remaining);
        } catch (err) {
          if (this.server.transport === "stdio" || !isSessionExpired(err) || this.closed) throw err;
          this.logger.info(`MCP server ${this.name} no longer knows our session; initialising a new one`);
          conn = await this.reinitialise(conn);
          return await run(conn.client, remaining);
        }
      } catch (err) {
        if (signal?.aborted) throw cancelled();
        const core = toMcpCoreError(this.name, operation, err);
        if (!safeToRepeat && core.retryable && isOutcomeUnknown(err)) {
          throw new UnavailableError(`${core.message}; the tool may have run, so the call is not retried`, { data: core.data, retryable: false, cause: err });
        }
        throw core;
      }
    });
  }

  /** The live connection; for a remote server one is made if there is none (within the deadline). */
  private async connection(operation: string, deadline: number): Promise<Connection> {
    if (this.closed) throw new UnavailableError(`MCP server ${this.name} is shutting down`, { data: { server: this.name } });
    if (this.current) return this.current;
    if (this.server.transport === "stdio" && !this.connecting) {
      throw new UnavailableError(`MCP server ${this.name} is restarting; retry shortly`, { data: { server: this.name, ...(this.lastError ? { lastError: this.lastError } : {}) } });
    }
    const connecting = this.connect();
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new DeadlineExceededError(`MCP server ${this.name} could not be connected before the deadline of ${operation}`, { data: { server: this.name, operation } })),
        Math.max(0, deadline - Date.now()),
      );
    });
    try {
      return await Promise.race([connecting, expired]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** A new session after `stale` was forgotten by the server; concurrent callers share one. */
  private reinitialise(stale: Connection): Promise<Connection> {
    if (this.current && this.current !== stale) return Promise.resolve(this.current);
    if (this.current === stale) {
      this.current = undefined;
      void this.closeConnection(stale);
    }
    return this.connect();
  }

  /** Opens a connection (one at a time: concurrent callers share it) and loads the catalogue. */
  private connect(): Promise<Connection> {
    if (this.connecting) return this.connecting;
    const attempt = this.openConnection().finally(() => {
      if (this.connecting === attempt) this.connecting = undefined;
    });
    this.connecting = attempt;
    return attempt;
  }

  private async openConnection(): Promise<Connection> {
    const handle = createMcpTransport(this.server, { onStderrLine: (line) => this.logger.info(`MCP server ${this.name} (stderr): ${line}`) });
    const client = new Client(this.options.clientInfo ?? { name: "core", version: packageInfo().version }, { capabilities: {} });
    client.onerror = (err) => this.logger.debug(`MCP server ${this.name}: ${err.message}`);
    // Set once initialised: a close before that is the failed connect's, not a lost connection.
    const opened: { conn?: Connection } = {};
    client.onclose = () => {
      if (opened.conn) this.connectionClosed(opened.conn);
    };
    // Replaces the SDK's own progress dispatch (see `progressListeners`); nothing here asks the SDK for `onprogress`.
    client.setNotificationHandler(ProgressNotificationSchema, (notification) => this.progressReceived(notification));
    client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
      if (opened.conn && this.current === opened.conn) void this.refreshTools();
    });
    try {
      await client.connect(handle.transport, { timeout: this.options.connectTimeoutMs ?? 20_000 });
    } catch (err) {
      await client.close().catch(() => undefined);
      const core = toMcpCoreError(this.name, "initialize", err);
      this.lastError = core.message;
      throw core;
    }
    const conn: Connection = { client, handle, pid: handle.pid(), closing: false };
    opened.conn = conn;
    try {
      await this.loadTools(conn);
    } catch (err) {
      await this.closeConnection(conn);
      const core = toMcpCoreError(this.name, "tools/list", err);
      this.lastError = core.message;
      throw core;
    }
    if (this.closed) {
      await this.closeConnection(conn);
      throw new UnavailableError(`MCP server ${this.name} is shutting down`, { data: { server: this.name } });
    }
    this.current = conn;
    this.lastError = undefined;
    const info = client.getServerVersion();
    this.logger.info(
      `Connected to MCP server ${this.name} (${this.server.transport}${conn.pid !== undefined ? `, pid ${conn.pid}` : ""}${info ? `, ${info.name} ${info.version}` : ""}): ${this.catalogue.size} tools`,
    );
    this.toolsChanged();
    return conn;
  }

  private connectionClosed(conn: Connection): void {
    if (conn.closing || this.closed) return;
    conn.closing = true;
    if (this.current === conn) this.current = undefined;
    const message =
      this.server.transport === "stdio"
        ? `The process of MCP server ${this.name}${conn.pid !== undefined ? ` (pid ${conn.pid})` : ""} exited`
        : `The connection to MCP server ${this.name} closed`;
    this.lastError = message;
    this.logger.warn(message);
    if (this.server.transport === "stdio" && this.started) this.options.onExit?.(new Error(message));
  }

  private async closeConnection(conn: Connection): Promise<void> {
    conn.closing = true;
    const transport = conn.handle.transport as { terminateSession?: () => Promise<void> };
    if (typeof transport.terminateSession === "function") {
      // Tell a Streamable HTTP server the session is over (it may answer 405: it keeps none).
      await settlesWithin(transport.terminateSession().catch(() => undefined), 1_000);
    }
    const closing = conn.client.close().catch(() => undefined);
    if (conn.pid === undefined) {
      await closing;
      return;
    }
    // The SDK waits 2 s for a child to leave after closing its stdin, then 2 s more after SIGTERM; a stop should not.
    if (await settlesWithin(closing, 300)) return;
    signalProcess(conn.pid, "SIGTERM");
    if (await settlesWithin(closing, 1_000)) return;
    signalProcess(conn.pid, "SIGKILL");
    await settlesWithin(closing, 1_000);
  }

  private async loadTools(conn: Connection): Promise<void> {
    this.lastRefresh = Date.now();
    if (!conn.client.getServerCapabilities()?.tools) {
      this.catalogue = new Map();
      this.loaded = true;
      return;
    }
    const tools = await this.allPages("tools/list", (cursor) =>
      conn.client.listTools(cursor ? { cursor } : undefined, { timeout: LIST_TIMEOUT_MS }).then((p) => ({ items: p.tools, nextCursor: p.nextCursor })),
    );
    const next = new Map<string, McpTool>();
    for (const tool of tools) if (this.allow.allows(tool.name)) next.set(tool.name, toMcpTool(tool));
    this.loaded = true;
    if (next.size < tools.length) this.logger.debug(`MCP server ${this.name}: ${tools.length - next.size} of ${tools.length} tools hidden by allow`);
    this.catalogue = next;
  }

  private async allPages<T>(what: string, page: (cursor: string | undefined) => Promise<{ items: T[]; nextCursor?: string | undefined }>): Promise<T[]> {
    const maxPages = this.options.maxPages ?? DEFAULT_MAX_PAGES;
    const { items, truncated } = await collectPages(page, maxPages);
    if (truncated) this.logger.warn(`MCP server ${this.name}: ${what} stopped after ${maxPages} pages (the server kept giving a next cursor)`);
    return items;
  }

  private progressReceived(notification: ProgressNotification): void {
    const { progressToken, progress, total, message } = notification.params;
    const listener = this.progressListeners.get(progressToken);
    if (!listener) {
      this.logger.debug(`MCP server ${this.name} reported progress for a call no longer running (token ${JSON.stringify(progressToken)})`);
      return;
    }
    try {
      listener({ progress, ...(total !== undefined ? { total } : {}), ...(message !== undefined ? { message } : {}) });
    } catch (err) {
      this.logger.warn(`A progress listener of MCP server ${this.name} failed: ${(err as Error).message}`);
    }
  }

  private toolsChanged(): void {
    try {
      this.options.onToolsChanged?.(this.tools());
    } catch (err) {
      this.logger.warn(`onToolsChanged of MCP server ${this.name} failed: ${(err as Error).message}`);
    }
  }
}
