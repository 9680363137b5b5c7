import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { freePort } from "./free-port";

/**
 * The MCP reference servers (devDependencies) as tests run them: the entry
 * script of each, started with this Node, and server-everything over HTTP.
 */

const ROOT = join(__dirname, "..", "..");

export const MCP_REFERENCE_SERVERS = {
  everything: join(ROOT, "node_modules/@modelcontextprotocol/server-everything/dist/index.js"),
  memory: join(ROOT, "node_modules/@modelcontextprotocol/server-memory/dist/index.js"),
  filesystem: join(ROOT, "node_modules/@modelcontextprotocol/server-filesystem/dist/index.js"),
} as const;

export interface HttpReferenceServer {
  /** Streamable HTTP: http://127.0.0.1:PORT/mcp; SSE: http://127.0.0.1:PORT/sse */
  readonly url: string;
  readonly child: ChildProcess;
  close(): Promise<void>;
}

/** server-everything over Streamable HTTP or legacy SSE on a free port; resolves once it listens. */
export async function startEverythingOverHttp(mode: "streamableHttp" | "sse"): Promise<HttpReferenceServer> {
  const port = await freePort();
  const child = spawn(process.execPath, [MCP_REFERENCE_SERVERS.everything, mode], {
    env: { PATH: process.env.PATH ?? "", PORT: String(port) },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server-everything ${mode} did not listen within 20 s:\n${output}`)), 20_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (/listening on port|running on port/i.test(output)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`server-everything ${mode} exited (${code}):\n${output}`));
    });
  });
  // Keep the pipes drained (it logs every request).
  child.stdout!.resume();
  child.stderr!.resume();
  return {
    url: `http://127.0.0.1:${port}/${mode === "sse" ? "sse" : "mcp"}`,
    child,
    close: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGKILL");
      }),
  };
}
