import type { Readable, Writable } from "node:stream";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import type { Logger } from "../logger";
import type { GatewayCaller } from "./gateway-caller";
import { createGatewayMcpServer } from "./gateway-mcp-server";
import type { ToolGateway } from "./tool-gateway";

export interface McpStdioOptions {
  gateway: ToolGateway;
  /** The process's caller (see stdioCaller). */
  callerOf: () => Promise<GatewayCaller>;
  logger: Logger;
  stdin?: Readable;
  stdout?: Writable;
}

export interface McpStdioSession {
  /** Resolves when the client went away (stdin ended) or close() was called. */
  readonly closed: Promise<void>;
  close(): Promise<void>;
}

/**
 * The gateway over stdio (`core mcp`): one MCP session on stdin/stdout,
 * newline-delimited JSON-RPC. Ends when the client closes stdin or stdout
 * breaks. Whatever else the process prints must go to stderr.
 */
export async function serveMcpStdio(options: McpStdioOptions): Promise<McpStdioSession> {
  const stdin = options.stdin ?? process.stdin;
  const stdout = options.stdout ?? process.stdout;
  const transport = new StdioServerTransport(stdin, stdout);
  const server = createGatewayMcpServer({ gateway: options.gateway, callerOf: () => options.callerOf(), logger: options.logger });
  let resolveClosed!: () => void;
  const closed = new Promise<void>((resolve) => (resolveClosed = resolve));
  transport.onclose = () => resolveClosed();
  transport.onerror = (err) => options.logger.warn(`MCP stdio: ${err.message}`);
  const close = () => server.close().catch(() => undefined);
  // The SDK's transport does not watch for the end of its input.
  stdin.once("end", () => void close());
  stdin.once("close", () => void close());
  stdout.once("error", () => void close());
  await server.connect(transport);
  return { closed, close: async () => { await close(); await closed; } };
}

/**
 * The caller of a stdio session: the principal a credential stands for,
 * authenticated again once `ttlMs` has passed (so a revoked key stops
 * working within that time), or without a credential the trusted in-cluster
 * caller (a local operator).
 */
export function stdioCaller(authenticate: (() => Promise<GatewayCaller["principal"]>) | undefined, ttlMs = 30_000, now: () => number = Date.now): () => Promise<GatewayCaller> {
  if (!authenticate) return async () => ({ principal: undefined, source: "stdio" });
  let cached: { at: number; caller: Promise<GatewayCaller> } | undefined;
  return () => {
    if (!cached || now() - cached.at > ttlMs) {
      const caller = authenticate().then((principal) => ({ principal, source: "stdio" }));
      const entry = { at: now(), caller };
      cached = entry;
      // A failure is not remembered: the next request tries again.
      caller.catch(() => {
        if (cached === entry) cached = undefined;
      });
    }
    return cached.caller;
  };
}
