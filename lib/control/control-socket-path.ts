import { join } from "node:path";

/** The control socket's file name inside the data directory, beside `core.lock`. */
export const CONTROL_SOCKET_FILE = "core.sock";

/**
 * The longest Unix domain socket path, in bytes: `sun_path` holds 108 bytes
 * on Linux and 104 on macOS and the BSDs, one of them the terminating NUL.
 */
export const MAX_SOCKET_PATH_BYTES = process.platform === "linux" ? 107 : 103;

/** Where a node with an embedded database in `dataDir` listens for admin commands. */
export function controlSocketPath(dataDir: string): string {
  return join(dataDir, CONTROL_SOCKET_FILE);
}

/** Why `path` cannot be a Unix domain socket on this system, or undefined when it can. */
export function socketPathProblem(path: string): string | undefined {
  const bytes = Buffer.byteLength(path);
  if (bytes <= MAX_SOCKET_PATH_BYTES) return undefined;
  return (
    `The control socket path ${path} is ${bytes} bytes long, and a Unix domain socket path may have at most ` +
    `${MAX_SOCKET_PATH_BYTES} on this system: use a shorter data directory (CORE_DATA_DIR), or PostgreSQL (DATABASE_URL).`
  );
}
