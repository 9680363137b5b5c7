import { randomBytes } from "node:crypto";
import type { Env } from "../config";
import type { CreatedApiKey } from "../lib/security/identity-store";
import { startNode } from "../node";

/**
 * The CORE side of benchmarks/mcp, in a process of its own so that the
 * clients (in the benchmark's process) do not share its event loop:
 *
 *   node mcp-core-node.js <env as JSON> <services, comma-separated> [setup]
 *
 * starts a CORE node from exactly that environment with those services. With
 * `setup` it also creates an admin user and an admin API key (in-cluster
 * calls without a principal, as `core users create` and `core keys create`
 * make them), whose credentials it prints; without, it only starts (the
 * user and key of an earlier start are in the store). Prints `ready {json}`
 * once started, with the wall-clock times (ms) at which the process began,
 * its modules had loaded and the node had started; stops on SIGTERM.
 */

export interface McpCoreNodeReady {
  url: string;
  email?: string;
  password?: string;
  apiKey?: string;
  /** performance.timeOrigin: when this process began. */
  processStartedAt: number;
  /** When CORE's modules had loaded (this file's main() began). */
  modulesLoadedAt: number;
  /** When startNode resolved (the services started; the MCP actors may still be connecting). */
  nodeStartedAt: number;
}

async function main(): Promise<void> {
  const modulesLoadedAt = performance.timeOrigin + performance.now();
  const [envJson, services, setup] = process.argv.slice(2);
  const node = await startNode({ env: JSON.parse(envJson ?? "{}") as Env, services: (services ?? "").split(","), command: "bench-mcp" });
  const nodeStartedAt = performance.timeOrigin + performance.now();
  const url = node.endpoints.api;
  if (!url) throw new Error("the CORE node has no API endpoint");
  const ready: McpCoreNodeReady = { url: url.replace("//[::]", "//127.0.0.1"), processStartedAt: performance.timeOrigin, modulesLoadedAt, nodeStartedAt };
  if (setup === "setup") {
    ready.email = `bench-${randomBytes(4).toString("hex")}@example.com`;
    ready.password = randomBytes(18).toString("base64url");
    await node.broker.call("auth.createUser", { email: ready.email, password: ready.password, role: "admin" });
    ready.apiKey = (await node.broker.call<CreatedApiKey, object>("auth.createKey", { name: "bench-mcp", role: "admin" })).key;
  }
  // process.exit (not a signal's default) so that --cpu-prof writes its profile.
  process.on("SIGTERM", () => void node.stop().finally(() => process.exit(0)));
  console.log(`ready ${JSON.stringify(ready)}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
