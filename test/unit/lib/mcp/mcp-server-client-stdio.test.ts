import type { McpServerConfig } from "../../../../config/file-schema";
import { UnavailableError } from "../../../../lib/errors";
import { McpUpstreamError } from "../../../../lib/errors/mcp-errors";
import type { Logger } from "../../../../lib/logger";
import { McpServerClient } from "../../../../lib/mcp/mcp-server-client";
import { MCP_REFERENCE_SERVERS } from "../../../helpers/mcp-reference-servers";
import { waitFor } from "../../../helpers/wait";

/** McpServerClient over stdio, with server-everything as the child: its log, its exit, its stop. */

const everything: McpServerConfig = { name: "everything", transport: "stdio", command: process.execPath, args: [MCP_REFERENCE_SERVERS.everything, "stdio"], env: {}, headers: {} };

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const log = (...args: unknown[]) => lines.push(args.map(String).join(" "));
  return { lines, error: log, warn: log, info: log, debug: log };
}

describe("McpServerClient over stdio", () => {
  it("runs the child, logs its stderr line by line, and reports its exit once", async () => {
    const logger = recordingLogger();
    const exits: Error[] = [];
    const client = new McpServerClient({ server: everything, logger, onExit: (err) => exits.push(err) });
    try {
      await client.start();
      const pid = client.pid!;
      expect(alive(pid)).toBe(true);
      expect(client.status()).toMatchObject({ transport: "stdio", connected: true, pid });
      expect(logger.lines).toContain("MCP server everything (stderr): Starting default (STDIO) server...");
      await expect(client.health()).resolves.toBeUndefined();

      process.kill(pid, "SIGKILL");
      await waitFor(() => exits.length > 0, 5_000, "the exit to be reported");
      expect(exits.map((e) => e.message)).toEqual([`The process of MCP server everything (pid ${pid}) exited`]);
      expect(client.status()).toMatchObject({ connected: false, lastError: `The process of MCP server everything (pid ${pid}) exited` });
      // Until its owner restarts it: retryable, and the health check fails.
      const err = await client.callTool("echo", { message: "x" }, { deadline: Date.now() + 1_000 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UnavailableError);
      expect((err as UnavailableError).retryable).toBe(true);
      await expect(client.health()).rejects.toBeInstanceOf(UnavailableError);
    } finally {
      await client.close();
    }
  });

  it("stops the child promptly on close, and a close is not an exit", async () => {
    const exits: Error[] = [];
    const client = new McpServerClient({ server: everything, onExit: (err) => exits.push(err) });
    await client.start();
    const pid = client.pid!;
    const started = Date.now();
    await client.close();
    expect(Date.now() - started).toBeLessThan(2_000);
    await waitFor(() => !alive(pid), 2_000, "the child to be gone");
    expect(exits).toEqual([]);
  });

  it("a command that cannot start fails the start, naming the server", async () => {
    const client = new McpServerClient({ server: { ...everything, command: "/nonexistent/mcp-server", args: [] } });
    const err = await client.start().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(McpUpstreamError);
    expect((err as Error).message).toMatch(/^MCP server everything failed initialize: .*ENOENT/);
    await client.close();
  });
});
