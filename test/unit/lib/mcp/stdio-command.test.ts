import { dirname } from "node:path";
import type { McpServerConfig } from "../../../../config/file-schema";
import { ConfigError } from "../../../../lib/errors";
import { assertStdioCommand, findExecutable } from "../../../../lib/mcp/stdio-command";

const stdio = (command: string, env: Record<string, string> = {}): McpServerConfig => ({ name: "s", transport: "stdio", command, args: [], env, headers: {} });

describe("stdio commands", () => {
  it("finds a program on PATH, or a path that is executable", () => {
    expect(findExecutable("node", dirname(process.execPath))).toBe(process.execPath);
    expect(findExecutable(process.execPath, "")).toBe(process.execPath);
    expect(findExecutable("no-such-program-here", dirname(process.execPath))).toBeUndefined();
    // A file that is not executable is not a command.
    expect(findExecutable(__filename, "")).toBeUndefined();
  });

  it("a missing command is a configuration error naming the entry", () => {
    expect(() => assertStdioCommand(stdio("node"), 0, dirname(process.execPath))).not.toThrow();
    let err: unknown;
    try {
      assertStdioCommand(stdio("mcp-server-nowhere"), 2, dirname(process.execPath));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).message).toBe('MCP server "s": command "mcp-server-nowhere" was not found or is not executable');
    expect((err as ConfigError).issues).toEqual([{ field: "mcpServers[2].command", received: "mcp-server-nowhere", message: "an executable file, or a program on PATH" }]);
  });

  it("looks on the PATH the entry gives its child, when it gives one", () => {
    expect(() => assertStdioCommand(stdio("node", { PATH: dirname(process.execPath) }), 0, "/nonexistent")).not.toThrow();
  });

  it("says nothing about remote servers", () => {
    expect(() => assertStdioCommand({ name: "h", transport: "http", url: "http://x/mcp", args: [], env: {}, headers: {} }, 0, "")).not.toThrow();
  });
});
