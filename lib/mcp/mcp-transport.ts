import { createInterface } from "node:readline";
import type { Readable } from "node:stream";
import { SSEClientTransport } from "@modelcontextprotocol/sdk/client/sse.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import type { McpServerConfig } from "../../config/file-schema";
import { createMcpFetch } from "./mcp-fetch";

/** A transport to one MCP server, and (stdio) the child process behind it. */
export interface McpTransportHandle {
  readonly transport: Transport;
  /** stdio: the child's pid once started. */
  pid(): number | undefined;
}

export interface McpTransportOptions {
  /** stdio: each line the child writes to stderr (its log). */
  onStderrLine?: (line: string) => void;
}

/**
 * A fresh transport for `server` as configured: stdio spawns `command args`
 * with the SDK's safe default environment plus `env` (stderr piped, read line
 * by line); http is Streamable HTTP (its plain requests over createMcpFetch)
 * and sse the legacy HTTP+SSE transport, both sending `headers` with every
 * request.
 */
export function createMcpTransport(server: McpServerConfig, options: McpTransportOptions = {}): McpTransportHandle {
  switch (server.transport) {
    case "stdio": {
      const transport = new StdioClientTransport({ command: server.command!, args: server.args, env: server.env, stderr: "pipe" });
      const stderr = transport.stderr;
      if (stderr) {
        // Read even without a listener: an unread pipe fills up and blocks the child.
        const lines = createInterface({ input: stderr as Readable, crlfDelay: Infinity });
        lines.on("line", (line) => {
          if (line.trim()) options.onStderrLine?.(line);
        });
      }
      return { transport, pid: () => transport.pid ?? undefined };
    }
    case "http":
      return { transport: new StreamableHTTPClientTransport(new URL(server.url!), { requestInit: { headers: server.headers }, fetch: createMcpFetch() }), pid: () => undefined };
    case "sse":
      return { transport: new SSEClientTransport(new URL(server.url!), { requestInit: { headers: server.headers } }), pid: () => undefined };
  }
}
