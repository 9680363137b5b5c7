import type { BrokerOptions } from "moleculer";
import type { CoreConfig } from "./config";
import { CoreErrorRegenerator } from "./mixins/error-regenerator";
import { AccessControlMiddleware } from "./mixins/access-control.middleware";
import { DrainMiddleware } from "./mixins/drain.middleware";
import { AccessPolicy } from "./lib/security/access-policy";
import { breakerOptions, ResilienceMiddleware } from "./mixins/resilience.middleware";
import { redactingLogger } from "./mixins/redacting-logger";
import { ResilientRedisCacher } from "./mixins/resilient-redis-cacher";
import { toCoreError } from "./mixins/to-core-error";
import { RESILIENCE_POLICIES } from "./config/resilience-policies";

/**
 * The serializer for the cluster when CORE_SERIALIZER is unset. Chosen by
 * `npm run bench` (benchmarks/serializers.ts): see the README for the numbers.
 */
export const CLUSTER_SERIALIZER = "JSON" as const;

/** How long a node waits for more service changes before telling the cluster (Moleculer's default: 1000 ms). */
export const SERVICE_CHANGED_DEBOUNCE_MS = 100;

/** Broker options for one node, derived from its configuration only. */
export function createBrokerOptions(config: CoreConfig): BrokerOptions {
  // CORE_REQUEST_TIMEOUT is the deadline of a call to a kind without a policy of its own.
  const policies = { ...RESILIENCE_POLICIES, default: { ...RESILIENCE_POLICIES.default!, timeoutMs: config.requestTimeoutMs } };
  return {
    namespace: config.namespace,
    nodeID: config.nodeId,
    // Every argument of every log line passes through the redactor (mixins/redacting-logger).
    logger: redactingLogger({
      level: config.log.level,
      formatter: config.log.format,
      colors: process.stdout.isTTY === true,
      moduleColors: false,
      autoPadding: false,
    }),
    // Object form: Moleculer's typings reject a bare URL string with options.
    transporter: config.nats ? { type: "NATS", options: { url: config.nats.url, name: config.nodeId } } : null,
    serializer: config.serializer ?? CLUSTER_SERIALIZER,
    cacher: config.redis
      ? new ResilientRedisCacher(config.redis.url, config.redis.prefix)
      : { type: "MemoryLRU", options: { max: 10_000, ttl: 3600 } },
    requestTimeout: config.requestTimeoutMs,
    heartbeatInterval: config.heartbeat.intervalSec,
    heartbeatTimeout: config.heartbeat.timeoutSec,
    // Moleculer tells the other nodes about a service that started (an actor restarted or taken
    // over) only after 1 s without another change; 100 ms still coalesces a node's start-up burst
    // and puts a moved singleton in the callers' registries 0.9 s sooner (test/e2e/failover).
    // (`serviceChangedDebounceTime` is missing from Moleculer's typings of the transit options.)
    transit: { serviceChangedDebounceTime: SERVICE_CHANGED_DEBOUNCE_MS } as BrokerOptions["transit"],
    // Graceful shutdown is CoreDrain's (below): Moleculer's tracker is off, being O(n) per call.
    tracking: { enabled: false, shutdownTimeout: config.shutdownTimeoutMs },
    registry: { strategy: "RoundRobin", preferLocal: true },
    errorRegenerator: new CoreErrorRegenerator(),
    // Deadlines and retries (retryable errors only, jittered backoff, never past the deadline).
    // and graceful shutdown: a stopping node waits for the calls it is handling.
    // RBAC: whatever the entry point, a call carrying a principal is checked where it runs.
    middlewares: [ResilienceMiddleware(policies), DrainMiddleware(config.shutdownTimeoutMs), AccessControlMiddleware(new AccessPolicy(config.roles))],
    // Per endpoint on the caller's side: an open breaker routes calls to the other nodes running the actor.
    circuitBreaker: {
      enabled: true,
      ...breakerOptions(policies.default),
      check: (err: Error) => toCoreError(err).status >= 500,
    },
    metrics: config.metrics.enabled
      ? {
          enabled: true,
          reporter: [
            {
              type: "Prometheus",
              options: { port: config.metrics.port, host: config.host, path: "/metrics", defaultLabels: () => ({ namespace: config.namespace, nodeID: config.nodeId }) },
            },
          ],
        }
      : { enabled: false },
    tracing:
      config.tracing.exporter === "none"
        ? { enabled: false }
        : {
            enabled: true,
            exporter:
              config.tracing.exporter === "zipkin"
                ? [{ type: "Zipkin", options: { baseURL: config.tracing.url } }]
                : [{ type: "Console" }],
          },
    // CORE's node owns SIGINT/SIGTERM: it drains, closes the store, then exits 0.
    skipProcessEventRegistration: true,
    validator: true,
  };
}
