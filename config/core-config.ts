import type { LOG_FORMATS, LOG_LEVELS, SERIALIZERS, TRACING_EXPORTERS } from "./env-schema";
import type { BudgetConfig, ExpertConfig, McpServerConfig, PriceConfig, RateLimitConfig, RoleConfig } from "./file-schema";

export type DatabaseConfig =
  | { kind: "postgres"; url: string; schema: string }
  | { kind: "pglite"; dataDir: string; schema: string };

/** The validated configuration of one CORE node. Unset connection URLs mean embedded. */
export interface CoreConfig {
  env: "development" | "production";
  configFile: string | undefined;
  namespace: string;
  /** First token of the NATS subjects other systems use (`core.v1.consult`, `core.jobs.>`, `core.events.>`); tests isolate themselves with their own. */
  subjectPrefix: string;
  nodeId: string;
  host: string;
  apiPort: number;
  http: {
    /** Proxies whose X-Forwarded-For is believed (IPs, CIDR ranges, loopback/linklocal/uniquelocal); empty: none. */
    trustedProxies: string[];
    /** Origins answered with CORS headers (`*`: any); empty: no CORS headers. */
    corsOrigins: string[];
  };
  metrics: { enabled: boolean; port: number };
  tracing: { exporter: (typeof TRACING_EXPORTERS)[number]; url: string };
  log: { level: (typeof LOG_LEVELS)[number]; format: (typeof LOG_FORMATS)[number] };
  /** Undefined: a single node in process, no transporter. */
  nats: { url: string } | undefined;
  /** Undefined: memory cache and counters. */
  redis: { url: string; prefix: string } | undefined;
  database: DatabaseConfig;
  migrateOnStart: boolean;
  /** Undefined: the measured default for the cluster (see moleculer.config.ts). */
  serializer: (typeof SERIALIZERS)[number] | undefined;
  heartbeat: { intervalSec: number; timeoutSec: number };
  requestTimeoutMs: number;
  shutdownTimeoutMs: number;
  /** 0: identical consults are not served from a cache. */
  consultCacheTtlSec: number;
  jwtSecret: string;
  providers: {
    anthropic: { apiKey: string | undefined; baseUrl: string | undefined };
    openai: { apiKey: string | undefined; baseUrl: string | undefined };
    gemini: { apiKey: string | undefined; baseUrl: string | undefined };
    ollama: { host: string | undefined };
  };
  /** Provider keys and base URLs from the environment (lib/providers reads them); never log this. */
  providerEnv: Readonly<Record<string, string | undefined>>;
  experts: ExpertConfig[];
  mcpServers: McpServerConfig[];
  roles: Record<string, RoleConfig>;
  budgets: BudgetConfig[];
  rateLimits: { default?: RateLimitConfig | undefined; routes: Record<string, RateLimitConfig> };
  prices: Record<string, PriceConfig>;
}
