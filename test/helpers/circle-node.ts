import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestSchema } from "./pg-schema";
import { NATS_URL } from "./services";

/** A CORE_CONFIG file (JSON) in a fresh temporary directory; returns its path. */
export function writeCoreConfig(config: object): string {
  const file = join(mkdtempSync(join(tmpdir(), "core-config-")), "core.json");
  writeFileSync(file, JSON.stringify(config));
  return file;
}

export interface CircleNodeEnv {
  namespace: string;
  pg: TestSchema;
  nodeId: string;
  configFile: string;
  /** The key every stub provider accepts; given to each provider's variable. */
  apiKey: string;
  redis?: { url: string; prefix: string };
  /** Anything else (metrics on, …). */
  extra?: Record<string, string>;
}

/** The environment of an in-process node of a test file's cluster that talks to stub providers. */
export function circleNodeEnv(o: CircleNodeEnv): Record<string, string> {
  return {
    NATS_URL,
    CORE_NAMESPACE: o.namespace,
    CORE_NODE_ID: o.nodeId,
    DATABASE_URL: o.pg.url,
    CORE_DB_SCHEMA: o.pg.schema,
    CORE_METRICS: "false",
    CORE_LOG_LEVEL: "error",
    CORE_CONFIG: o.configFile,
    ANTHROPIC_API_KEY: o.apiKey,
    OPENAI_API_KEY: o.apiKey,
    GEMINI_API_KEY: o.apiKey,
    ...(o.redis ? { REDIS_URL: o.redis.url, CORE_REDIS_PREFIX: o.redis.prefix } : {}),
    ...o.extra,
  };
}
