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
  /** Spans to a Zipkin collector (Jaeger's) at `url` every `flushMs`, for the share `sampleRate` (0..1) of requests. */
  tracing: { exporter: (typeof TRACING_EXPORTERS)[number]; url: string; flushMs: number; sampleRate: number };
  /** `traceIds`: log lines written while a call is handled carry its trace id (mixins/trace-context). */
  log: { level: (typeof LOG_LEVELS)[number]; format: (typeof LOG_FORMATS)[number]; traceIds: boolean };
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
  /** How long the edges' audit rows wait for others to share one write (lib/audit/audit-queue.ts); 0: at once. */
  auditFlushMs: number;
  /** The memory monitor: RSS limit (undefined: the cgroup's, else the machine's), sampling, trend window, prediction horizon. */
  memory: { limitMb: number | undefined; sampleMs: number; window: number; predictSec: number };
  /** 0: identical consults are not served from a cache. */
  consultCacheTtlSec: number;
  /** NATS request/reply ingress (services/ingress.service.ts): the largest message read, and how many one node handles at once. */
  ingress: { maxBytes: number; maxInFlight: number };
  /** Durable consult jobs (services/jobs.service.ts): ack wait, attempts, jobs per node, first retry delay, deduplication window. */
  jobs: { ackWaitMs: number; maxAttempts: number; concurrency: number; backoffMs: number; duplicateWindowMs: number };
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
  /** Where alerts go besides metrics and NATS: a webhook (POST JSON, signed with the secret when set). */
  alerts: { webhook: { url: string; secret: string | undefined } | undefined };
  /** How often the health monitor samples the node's dependencies and supervision tree. */
  healthMonitor: { intervalMs: number };
  /** How often the cost monitor checks the budgets. */
  costMonitor: { intervalMs: number };
  rateLimits: { default?: RateLimitConfig | undefined; routes: Record<string, RateLimitConfig> };
  prices: Record<string, PriceConfig>;
}
