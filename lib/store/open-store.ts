import type { DatabaseConfig } from "../../config/core-config";
import type { Logger } from "../logger";
import { PgliteStore } from "./pglite-store";
import { PostgresStore } from "./postgres-store";
import type { Store } from "./store";

export interface OpenStoreOptions {
  logger: Logger;
  /** What this process is (e.g. "core start"), recorded in PGlite's lock. */
  command: string;
  nodeId?: string;
  signal?: AbortSignal;
}

/** PostgreSQL when DATABASE_URL is set, otherwise PGlite in the data directory. */
export function openStore(config: DatabaseConfig, options: OpenStoreOptions): Promise<Store> {
  if (config.kind === "postgres") {
    return PostgresStore.open({ url: config.url, schema: config.schema, logger: options.logger, signal: options.signal });
  }
  return PgliteStore.open({ dataDir: config.dataDir, schema: config.schema, command: options.command, nodeId: options.nodeId });
}
