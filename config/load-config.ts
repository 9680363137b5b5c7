import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import { extname, resolve } from "node:path";
import { parse as parseYaml } from "yaml";
import { ConfigError, type FieldIssue } from "../lib/errors";
import { envSchema, type ParsedEnv } from "./env-schema";
import { fileSchema, type FileConfig } from "./file-schema";
import { toFieldIssues } from "./issues";
import type { CoreConfig, DatabaseConfig } from "./core-config";
import { DEFAULT_ROLES } from "./default-roles";
import { routeKeyProblems } from "../lib/ratelimit/route-pattern";

export type Env = Readonly<Record<string, string | undefined>>;

/** The JWT secret shipped in examples; production refuses it. */
export const DEFAULT_JWT_SECRET = "core-development-secret-change-me";
const SECRET_KEYS = new Set(["CORE_JWT_SECRET", "ANTHROPIC_API_KEY", "OPENAI_API_KEY", "GEMINI_API_KEY", "CORE_ALERT_WEBHOOK_SECRET", "CORE_ALERT_WEBHOOK_URL"]);

/** An empty variable (`CORE_API_PORT=`) means unset, as shells commonly produce them. */
function nonEmpty(env: Env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (value !== undefined && value !== "") out[key] = value;
  }
  return out;
}

function readConfigFile(path: string): { raw: unknown; issues: FieldIssue[] } {
  const where = `CORE_CONFIG (${path})`;
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === "ENOENT" ? "the file does not exist" : (err as Error).message;
    return { raw: undefined, issues: [{ field: where, received: path, message: `cannot be read: ${reason}; expected a readable YAML or JSON file` }] };
  }
  try {
    const ext = extname(path).toLowerCase();
    const raw: unknown = ext === ".json" ? JSON.parse(text) : parseYaml(text);
    return { raw: raw ?? {}, issues: [] };
  } catch (err) {
    return { raw: undefined, issues: [{ field: where, received: path, message: `is not valid ${extname(path) === ".json" ? "JSON" : "YAML"}: ${(err as Error).message.split("\n")[0]}` }] };
  }
}

function databaseFrom(env: ParsedEnv): DatabaseConfig {
  if (env.DATABASE_URL) return { kind: "postgres", url: env.DATABASE_URL, schema: env.CORE_DB_SCHEMA };
  return { kind: "pglite", dataDir: resolve(env.CORE_DATA_DIR), schema: env.CORE_DB_SCHEMA };
}

function productionIssues(env: ParsedEnv): FieldIssue[] {
  if (env.CORE_ENV !== "production") return [];
  const secret = env.CORE_JWT_SECRET;
  if (!secret || secret === DEFAULT_JWT_SECRET || Buffer.byteLength(secret) < 32) {
    const received = secret ? (secret === DEFAULT_JWT_SECRET ? "the default secret" : `${Buffer.byteLength(secret)} bytes`) : "nothing";
    return [{
      field: "CORE_JWT_SECRET",
      message: `received ${received}; expected a secret of at least 32 bytes in production (e.g. \`openssl rand -base64 48\`)`,
    }];
  }
  return [];
}

/** Route keys of `rateLimits.routes` that lib/ratelimit cannot read, reported with the rest rather than when the gateway starts. */
function routeKeyIssues(file: FileConfig, configPath: string): FieldIssue[] {
  return routeKeyProblems(Object.keys(file.rateLimits.routes)).map(([key, expected]) => ({
    field: `rateLimits.routes.${key} (in ${configPath})`,
    received: key,
    message: `received ${JSON.stringify(key)}; expected ${expected}`,
  }));
}

/**
 * Reads and validates the whole configuration: the environment first, then the
 * optional `CORE_CONFIG` file. Every problem is reported at once, naming the
 * variable or key, the value received and what is expected.
 */
export function loadConfig(rawEnv: Env = process.env): CoreConfig {
  const env = nonEmpty(rawEnv);
  const parsedEnv = envSchema.safeParse(env);
  const issues: FieldIssue[] = parsedEnv.success ? [] : toFieldIssues(parsedEnv.error.issues, env);
  for (const issue of issues) {
    if (SECRET_KEYS.has(issue.field)) {
      issue.message = issue.message.replace(/^received .*?;/, "received a value that is not shown;");
      delete issue.received;
    }
  }

  let file: FileConfig = fileSchema.parse({});
  const configPath = env.CORE_CONFIG ? resolve(env.CORE_CONFIG) : undefined;
  if (configPath) {
    const { raw, issues: readIssues } = readConfigFile(configPath);
    issues.push(...readIssues);
    if (raw !== undefined) {
      const parsedFile = fileSchema.safeParse(raw);
      if (parsedFile.success) file = parsedFile.data;
      else issues.push(...toFieldIssues(parsedFile.error.issues, raw).map((i) => ({ ...i, field: `${i.field} (in ${configPath})` })));
      issues.push(...routeKeyIssues(file, configPath));
    }
  }
  if (parsedEnv.success) issues.push(...productionIssues(parsedEnv.data));

  if (!parsedEnv.success || issues.length > 0) {
    throw new ConfigError(`Invalid configuration (${issues.length} problem${issues.length === 1 ? "" : "s"})`, { issues });
  }
  const e = parsedEnv.data;
  return {
    env: e.CORE_ENV,
    configFile: configPath,
    namespace: e.CORE_NAMESPACE,
    subjectPrefix: e.CORE_SUBJECT_PREFIX,
    nodeId: e.CORE_NODE_ID ?? `${hostname().toLowerCase().replace(/[^a-z0-9_.-]/g, "-")}-${process.pid}`,
    host: e.CORE_HOST,
    apiPort: e.CORE_API_PORT,
    http: { trustedProxies: e.CORE_TRUSTED_PROXIES, corsOrigins: e.CORE_CORS_ORIGINS },
    metrics: { enabled: e.CORE_METRICS, port: e.CORE_METRICS_PORT },
    tracing: { exporter: e.CORE_TRACING, url: e.CORE_TRACING_URL, flushMs: e.CORE_TRACING_FLUSH_MS, sampleRate: e.CORE_TRACING_SAMPLE },
    log: {
      level: e.CORE_LOG_LEVEL,
      format: e.CORE_LOG_FORMAT,
      traceIds: e.CORE_LOG_TRACE_IDS ?? (e.CORE_TRACING !== "none" || e.CORE_LOG_LEVEL === "debug" || e.CORE_LOG_LEVEL === "trace"),
    },
    nats: e.NATS_URL ? { url: e.NATS_URL } : undefined,
    redis: e.REDIS_URL ? { url: e.REDIS_URL, prefix: e.CORE_REDIS_PREFIX ?? e.CORE_NAMESPACE } : undefined,
    database: databaseFrom(e),
    migrateOnStart: e.CORE_MIGRATE_ON_START,
    serializer: e.CORE_SERIALIZER,
    heartbeat: { intervalSec: e.CORE_HEARTBEAT_INTERVAL, timeoutSec: e.CORE_HEARTBEAT_TIMEOUT },
    requestTimeoutMs: e.CORE_REQUEST_TIMEOUT,
    shutdownTimeoutMs: e.CORE_SHUTDOWN_TIMEOUT,
    auditFlushMs: e.CORE_AUDIT_FLUSH_MS,
    memory: { limitMb: e.CORE_MEMORY_LIMIT_MB, sampleMs: e.CORE_MEMORY_SAMPLE_MS, window: e.CORE_MEMORY_WINDOW, predictSec: e.CORE_MEMORY_PREDICT_SEC },
    consultCacheTtlSec: e.CORE_CACHE_TTL,
    ingress: { maxBytes: e.CORE_INGRESS_MAX_BYTES, maxInFlight: e.CORE_INGRESS_MAX_IN_FLIGHT },
    jobs: {
      ackWaitMs: e.CORE_JOBS_ACK_WAIT_MS,
      maxAttempts: e.CORE_JOBS_MAX_ATTEMPTS,
      concurrency: e.CORE_JOBS_CONCURRENCY,
      backoffMs: e.CORE_JOBS_BACKOFF_MS,
      duplicateWindowMs: e.CORE_JOBS_DUPLICATE_WINDOW_MS,
    },
    jwtSecret: e.CORE_JWT_SECRET ?? DEFAULT_JWT_SECRET,
    providers: {
      anthropic: { apiKey: e.ANTHROPIC_API_KEY, baseUrl: e.ANTHROPIC_BASE_URL },
      openai: { apiKey: e.OPENAI_API_KEY, baseUrl: e.OPENAI_BASE_URL },
      gemini: { apiKey: e.GEMINI_API_KEY, baseUrl: e.GEMINI_BASE_URL },
      ollama: { host: e.OLLAMA_HOST },
    },
    providerEnv: providerEnvFrom(env, file.experts),
    experts: file.experts,
    mcpServers: file.mcpServers,
    roles: { ...DEFAULT_ROLES, ...file.roles },
    budgets: file.budgets,
    alerts: { webhook: e.CORE_ALERT_WEBHOOK_URL ? { url: e.CORE_ALERT_WEBHOOK_URL, secret: e.CORE_ALERT_WEBHOOK_SECRET } : undefined },
    healthMonitor: { intervalMs: e.CORE_HEALTH_CHECK_MS },
    costMonitor: { intervalMs: e.CORE_COST_CHECK_MS },
    rateLimits: file.rateLimits,
    prices: file.prices,
  };
}

/**
 * The environment variables provider clients read: keys and base URLs of every
 * provider (`*_API_KEY`, `*_BASE_URL`, `OLLAMA_HOST`) and each expert's own
 * `apiKeyEnv`. Kept apart from the rest so nothing else sees the keys.
 */
function providerEnvFrom(env: Env, experts: readonly { apiKeyEnv?: string | undefined }[]): Readonly<Record<string, string | undefined>> {
  const named = new Set(experts.flatMap((x) => (x.apiKeyEnv ? [x.apiKeyEnv] : [])));
  const out: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(env)) {
    if (/_API_KEY$|_BASE_URL$|^OLLAMA_HOST$/.test(name) || named.has(name)) out[name] = value;
  }
  return out;
}
