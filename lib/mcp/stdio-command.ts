import { accessSync, constants, statSync } from "node:fs";
import { delimiter, isAbsolute, join, resolve } from "node:path";
import type { McpServerConfig } from "../../config/file-schema";
import { ConfigError } from "../errors";

/** Where `command` would be run from with this PATH: itself if it names a path, else the first match on PATH. */
export function findExecutable(command: string, path: string | undefined = process.env.PATH): string | undefined {
  const runnable = (file: string) => {
    try {
      accessSync(file, constants.X_OK);
      return statSync(file).isFile();
    } catch {
      return false;
    }
  };
  if (command.includes("/")) {
    const file = isAbsolute(command) ? command : resolve(command);
    return runnable(file) ? file : undefined;
  }
  for (const dir of (path ?? "").split(delimiter)) {
    if (dir && runnable(join(dir, command))) return join(dir, command);
  }
  return undefined;
}

/**
 * A stdio server whose command cannot be found would fail every start and
 * restart until its supervisor gives up: stop the node's start instead
 * (exit 2), naming the entry and what to fix.
 */
export function assertStdioCommand(server: McpServerConfig, index: number, path: string | undefined = process.env.PATH): void {
  if (server.transport !== "stdio" || !server.command) return;
  // The child runs with the configured PATH when one is given (the SDK passes `env` over its defaults).
  if (findExecutable(server.command, server.env.PATH ?? path)) return;
  throw new ConfigError(`MCP server "${server.name}": command ${JSON.stringify(server.command)} was not found or is not executable`, {
    issues: [{ field: `mcpServers[${index}].command`, received: server.command, message: "an executable file, or a program on PATH" }],
    data: { server: server.name },
  });
}
