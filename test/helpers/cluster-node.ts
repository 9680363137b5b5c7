import { CoreProcess } from "./core-process";
import { freePort } from "./free-port";
import type { TestSchema } from "./pg-schema";
import { NATS_URL } from "./services";

export interface ClusterNodeOptions {
  namespace: string;
  pg: TestSchema;
  natsUrl?: string;
  /** Seconds; heartbeats go every second. */
  heartbeatTimeoutSec?: number;
  env?: Record<string, string>;
  /** Resolve at once instead of waiting for "started" (to start several together, or one that is to fail). */
  noWait?: boolean;
}

/** A `core start` process in the test file's namespace and schema, on free ports; resolves once it says it started. */
export async function startClusterNode(nodeId: string, services: string, options: ClusterNodeOptions): Promise<CoreProcess> {
  const node = new CoreProcess(["start", "--node-id", nodeId, "--services", services], {
    env: {
      NATS_URL: options.natsUrl ?? NATS_URL,
      CORE_NAMESPACE: options.namespace,
      DATABASE_URL: options.pg.url,
      CORE_DB_SCHEMA: options.pg.schema,
      CORE_API_PORT: String(await freePort()),
      CORE_METRICS: "false",
      CORE_HEARTBEAT_INTERVAL: "1",
      CORE_HEARTBEAT_TIMEOUT: String(options.heartbeatTimeoutSec ?? 4),
      ...options.env,
    },
  });
  if (!options.noWait) await node.waitForOutput(new RegExp(`CORE node ${nodeId} started`), 60_000);
  return node;
}
