import { z } from "zod";
import { invalidProxyEntries } from "../lib/http/client-address";

/**
 * Every environment variable CORE reads, with its default and what it expects.
 * The `error` text of each field completes the sentence "expected …", which is
 * how a bad value is reported (see `issues.ts`).
 */

const port = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .refine((v) => /^\d{1,5}$/.test(v) && Number(v) <= 65535, { error: "an integer port from 0 to 65535" })
    .transform(Number);

const positiveInt = (fallback: string, what: string) =>
  z
    .string()
    .default(fallback)
    .refine((v) => /^\d+$/.test(v) && Number(v) > 0, { error: `a positive integer (${what})` })
    .transform(Number);

const nonNegativeInt = (fallback: string, what: string) =>
  z
    .string()
    .default(fallback)
    .refine((v) => /^\d+$/.test(v), { error: `a whole number, 0 or more (${what})` })
    .transform(Number);

/** A share from 0 to 1 as a decimal (0, 0.25, 1). */
const fraction = (fallback: string, what: string) =>
  z
    .string()
    .default(fallback)
    .refine((v) => /^(0|1|0?\.\d+|1\.0+)$/.test(v.trim()), { error: `a number from 0 to 1, e.g. 0.1 (${what})` })
    .transform((v) => Number(v.trim()));

const TRUE = new Set(["1", "true", "yes", "on"]);
const FALSE = new Set(["0", "false", "no", "off"]);
const flag = (fallback: "true" | "false") =>
  z
    .string()
    .default(fallback)
    .refine((v) => TRUE.has(v.toLowerCase()) || FALSE.has(v.toLowerCase()), {
      error: "true or false (also 1/0, yes/no, on/off)",
    })
    .transform((v) => TRUE.has(v.toLowerCase()));

/** A flag whose absence means "CORE decides" (undefined). */
const optionalFlag = z
  .string()
  .refine((v) => TRUE.has(v.toLowerCase()) || FALSE.has(v.toLowerCase()), { error: "true or false (also 1/0, yes/no, on/off)" })
  .transform((v) => TRUE.has(v.toLowerCase()))
  .optional();

function hasProtocol(value: string, protocols: readonly string[]): boolean {
  try {
    return protocols.includes(new URL(value).protocol);
  } catch {
    return false;
  }
}

const url = (protocols: readonly string[], example: string) =>
  z.string().refine((v) => hasProtocol(v, protocols), {
    error: `a URL with scheme ${protocols.map((p) => p.replace(/:$/, "")).join(" or ")}, e.g. ${example}`,
  });

/** NATS accepts a comma-separated server list. */
const natsUrl = z.string().refine((v) => v.split(",").every((part) => hasProtocol(part.trim(), ["nats:", "tls:"])), {
  error: "a URL with scheme nats or tls (several separated by commas), e.g. nats://127.0.0.1:4222",
});

/** Ollama's own forms: a URL, `host` or `host:port` (port 11434 when none is given). */
const ollamaHost = z.string().refine((v) => hasProtocol(v, ["http:", "https:"]) || /^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:]+\](:\d{1,5})?$/.test(v.trim()), {
  error: "a URL (http://127.0.0.1:11434), or host or host:port as Ollama reads it (127.0.0.1:11434)",
});

const identifier = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, {
  error: "1-64 letters, digits, '_', '-' or '.', starting with a letter or digit",
});

const sqlIdentifier = z
  .string()
  .regex(/^[a-z_][a-z0-9_]{0,62}$/, { error: "a lower-case SQL identifier (letters, digits, '_'; at most 63)" })
  .default("public");

/** A comma-separated list (blank entries dropped); `invalid` names the entries that are not right, `canonical` spells each valid one. */
const commaList = (what: string, invalid: (entries: string[]) => string[], canonical: (entry: string) => string = (e) => e) => {
  const entries = (v: string) => v.split(",").map((e) => e.trim()).filter(Boolean);
  return z
    .string()
    .default("")
    .refine((v) => invalid(entries(v)).length === 0, {
      error: (issue) => `${what} (not valid: ${invalid(entries(String(issue.input))).join(", ")})`,
    })
    .transform((v) => entries(v).map(canonical));
};

/** A browser origin (`https://app.example.com`, `http://localhost:5173`) as the Origin header spells it, or undefined. */
function origin(entry: string): string | undefined {
  try {
    const url = new URL(entry);
    const bare = url.pathname === "/" && !url.search && !url.hash && !url.username && !url.password;
    return bare && (url.protocol === "http:" || url.protocol === "https:") ? url.origin : undefined;
  } catch {
    return undefined;
  }
}

const trustedProxies = commaList(
  "IP addresses or CIDR ranges separated by commas, e.g. 10.0.0.0/8,::1 (or loopback, linklocal, uniquelocal)",
  invalidProxyEntries,
);

const corsOrigins = commaList(
  "origins separated by commas, e.g. https://app.example.com,http://localhost:5173, or * for any",
  (entries) => entries.filter((e) => e !== "*" && !origin(e)),
  (e) => (e === "*" ? e : origin(e)!),
);

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace"] as const;
export const LOG_FORMATS = ["full", "short", "simple", "json"] as const;
export const SERIALIZERS = ["JSON", "CBOR", "MsgPack", "Notepack"] as const;
export const TRACING_EXPORTERS = ["none", "console", "zipkin"] as const;

export const envSchema = z.object({
  CORE_ENV: z.enum(["development", "production"]).default("development"),
  CORE_CONFIG: z.string().optional(),
  CORE_NAMESPACE: identifier.default("core"),
  CORE_SUBJECT_PREFIX: z
    .string()
    .regex(/^[a-z][a-z0-9_-]{0,31}$/, { error: "1-32 lowercase letters, digits, '_' or '-', starting with a letter" })
    .default("core"),
  CORE_NODE_ID: identifier.optional(),
  CORE_HOST: z.string().min(1).default("127.0.0.1"),
  CORE_API_PORT: port("3000"),
  CORE_METRICS: flag("true"),
  CORE_METRICS_PORT: port("3030"),
  CORE_TRACING: z.enum(TRACING_EXPORTERS).default("none"),
  CORE_TRACING_URL: url(["http:", "https:"], "http://127.0.0.1:9411").default("http://127.0.0.1:9411"),
  CORE_TRACING_FLUSH_MS: positiveInt("5000", "milliseconds between two sends of finished spans"),
  CORE_TRACING_SAMPLE: fraction("1", "the share of requests traced: 1 all, 0.1 one in ten, 0 none"),
  CORE_LOG_LEVEL: z.enum(LOG_LEVELS).default("info"),
  CORE_LOG_FORMAT: z.enum(LOG_FORMATS).default("full"),
  // Unset: on when CORE_TRACING is on or CORE_LOG_LEVEL is debug or trace (it costs ~0.4 µs of CPU a call).
  CORE_LOG_TRACE_IDS: optionalFlag,
  CORE_SERIALIZER: z.enum(SERIALIZERS).optional(),
  CORE_HEARTBEAT_INTERVAL: positiveInt("5", "seconds"),
  CORE_HEARTBEAT_TIMEOUT: positiveInt("15", "seconds"),
  CORE_REQUEST_TIMEOUT: positiveInt("30000", "milliseconds"),
  CORE_SHUTDOWN_TIMEOUT: positiveInt("10000", "milliseconds"),
  CORE_AUDIT_FLUSH_MS: nonNegativeInt("10", "milliseconds an edge's audit row waits for others to share its write; 0: written at once"),
  // Memory monitor (services/memory-monitor.service.ts); unset limit: the cgroup's, else the machine's memory.
  CORE_MEMORY_LIMIT_MB: z
    .string()
    .refine((v) => /^\d+$/.test(v) && Number(v) > 0, { error: "a positive integer (MB of RSS the node may use)" })
    .transform(Number)
    .optional(),
  CORE_MEMORY_SAMPLE_MS: positiveInt("5000", "milliseconds between two memory samples"),
  CORE_MEMORY_WINDOW: z
    .string()
    .default("24")
    .refine((v) => /^\d+$/.test(v) && Number(v) >= 3 && Number(v) <= 10000, { error: "a whole number from 3 to 10000 (memory samples in the trend's window)" })
    .transform(Number),
  CORE_MEMORY_PREDICT_SEC: positiveInt("600", "seconds: alert when memory is predicted to run out sooner"),
  CORE_CACHE_TTL: nonNegativeInt("3600", "seconds an identical consult is answered from the cache; 0 turns the cache off"),
  CORE_INGRESS_MAX_BYTES: positiveInt("262144", "bytes: the largest NATS ingress message read; larger ones are answered 413 unread"),
  CORE_INGRESS_MAX_IN_FLIGHT: positiveInt("512", "NATS ingress messages one node handles at once; more are answered 503"),
  // Durable consult jobs (services/jobs.service.ts; JetStream, so only with NATS_URL).
  CORE_JOBS_ACK_WAIT_MS: positiveInt("30000", "milliseconds a job may go without an ack or heartbeat before it is delivered again"),
  CORE_JOBS_MAX_ATTEMPTS: positiveInt("5", "attempts of a job before it goes to the dead-letter subject"),
  CORE_JOBS_CONCURRENCY: positiveInt("8", "jobs one node runs at once"),
  CORE_JOBS_BACKOFF_MS: positiveInt("1000", "milliseconds before a failed job's first retry; each later one waits twice as long, up to a minute"),
  CORE_JOBS_DUPLICATE_WINDOW_MS: positiveInt("120000", "milliseconds in which a second job with the same Nats-Msg-Id is dropped"),
  CORE_MIGRATE_ON_START: flag("true"),
  CORE_DATA_DIR: z.string().min(1).default("./data"),
  CORE_DB_SCHEMA: sqlIdentifier,
  CORE_REDIS_PREFIX: z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/, { error: "1-64 of letters, digits, '_', '.', ':' or '-'" }).optional(),
  CORE_JWT_SECRET: z.string().optional(),
  CORE_TRUSTED_PROXIES: trustedProxies,
  CORE_CORS_ORIGINS: corsOrigins,
  // Alerts (services/alerts.service.ts) and the health and cost monitors.
  CORE_ALERT_WEBHOOK_URL: url(["http:", "https:"], "https://alerts.example.com/core").optional(),
  CORE_ALERT_WEBHOOK_SECRET: z.string().min(16, { error: "at least 16 characters (e.g. `openssl rand -hex 32`): the key of the alerts' HMAC-SHA256 signature" }).optional(),
  CORE_HEALTH_CHECK_MS: positiveInt("10000", "milliseconds between two health checks of a node's dependencies and supervision tree"),
  CORE_COST_CHECK_MS: positiveInt("30000", "milliseconds between two checks of the budgets"),
  NATS_URL: natsUrl.optional(),
  REDIS_URL: url(["redis:", "rediss:"], "redis://127.0.0.1:6379").optional(),
  DATABASE_URL: url(["postgres:", "postgresql:"], "postgres://user@127.0.0.1:5432/core").optional(),
  ANTHROPIC_API_KEY: z.string().optional(),
  ANTHROPIC_BASE_URL: url(["http:", "https:"], "https://api.anthropic.com").optional(),
  OPENAI_API_KEY: z.string().optional(),
  OPENAI_BASE_URL: url(["http:", "https:"], "https://api.openai.com/v1").optional(),
  GEMINI_API_KEY: z.string().optional(),
  GEMINI_BASE_URL: url(["http:", "https:"], "https://generativelanguage.googleapis.com").optional(),
  OLLAMA_HOST: ollamaHost.optional(),
});

export type ParsedEnv = z.output<typeof envSchema>;
