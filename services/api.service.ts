import type { IncomingMessage, ServerResponse } from "node:http";
import type { Context, ServiceBroker, ServiceSchema } from "moleculer";
import ApiGateway, { type ApiSettingsSchema } from "moleculer-web";
import type { NodeRuntime } from "../mixins/node-runtime";
import { toCoreError } from "../mixins/to-core-error";
import { readinessStatus, type HealthCheck } from "../lib/health/readiness";


type CoreRequest = IncomingMessage & { $ctx?: Context; $requestId?: string };

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

async function readiness(broker: ServiceBroker, runtime: NodeRuntime): Promise<Record<string, HealthCheck>> {
  const checks: Record<string, HealthCheck> = {};
  const transit = broker.transit;
  checks.transporter = transit
    ? { ok: transit.connected === true, critical: true, detail: transit.connected ? "connected" : "disconnected" }
    : { ok: true, critical: true, detail: "embedded (no transporter)" };
  if (runtime.store) {
    try {
      await runtime.store.ping();
      checks.store = { ok: true, critical: true, detail: runtime.store.describe() };
    } catch (err) {
      checks.store = { ok: false, critical: true, detail: (err as Error).message };
    }
  }
  const cacher = broker.cacher as { connected?: boolean } | undefined;
  if (cacher && cacher.connected !== undefined) {
    // Calls still succeed uncached while Redis is down: a cache outage degrades a node, it does not take it out of rotation.
    checks.cache = { ok: cacher.connected === true, critical: false, detail: cacher.connected ? "connected" : "disconnected (calls are served uncached)" };
  }
  return checks;
}

/** The HTTP edge. This part: health endpoints and the error contract; later issues add /api/v1. */
export default function createApiService(runtime: NodeRuntime): ServiceSchema<ApiSettingsSchema> {
  return {
    name: "api",
    mixins: [ApiGateway],
    settings: {
      port: runtime.config.apiPort,
      ip: runtime.config.host,
      log4XXResponses: false,
      logRequest: "debug",
      logResponse: "debug",
      routes: [
        {
          path: "/health",
          mappingPolicy: "restrict",
          bodyParsers: { json: { limit: "16kb" } },
          aliases: { "GET live": "api.live", "GET ready": "api.ready" },
          onBeforeCall(ctx: Context, _route: unknown, req: CoreRequest, res: ServerResponse) {
            const incoming = req.headers["x-request-id"];
            const id = typeof incoming === "string" && REQUEST_ID.test(incoming) ? incoming : ctx.requestID ?? ctx.id;
            req.$requestId = id;
            res.setHeader("X-Request-Id", id);
          },
        },
      ],
      // Every error leaves as { error: { code, message, details?, requestId } }, never a stack trace.
      onError(this: { logger: ServiceBroker["logger"] }, req: CoreRequest, res: ServerResponse, err: unknown) {
        const core = toCoreError(err);
        const requestId = req.$requestId ?? (req.headers["x-request-id"] as string | undefined) ?? req.$ctx?.requestID ?? undefined;
        if (core.status >= 500) this.logger.error(`Request ${req.method} ${req.url} failed`, err);
        const details = Object.keys(core.data).length > 0 ? core.data : undefined;
        res.setHeader("Content-Type", "application/json; charset=utf-8");
        if (requestId) res.setHeader("X-Request-Id", requestId);
        res.writeHead(core.status);
        res.end(JSON.stringify({ error: { code: core.code, message: core.message, ...(details ? { details } : {}), requestId } }));
      },
    },
    actions: {
      live: {
        handler(this: { broker: ServiceBroker }) {
          return { status: "live", nodeID: this.broker.nodeID, uptimeSec: Math.round(process.uptime()) };
        },
      },
      ready: {
        async handler(this: { broker: ServiceBroker }, ctx: Context<unknown, { $statusCode?: number }>) {
          const checks = await readiness(this.broker, runtime);
          const status = readinessStatus(checks);
          if (status === "not ready") ctx.meta.$statusCode = 503;
          return { status, nodeID: this.broker.nodeID, checks };
        },
      },
    },
  };
}
