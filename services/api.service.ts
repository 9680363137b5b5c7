import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Context, ServiceBroker, ServiceSchema } from "moleculer";
import ApiGateway, { type ApiSettingsSchema } from "moleculer-web";
import { AuditLog, type AuditOutcome } from "../lib/audit";
import { EdgeAuditor, outcomeOf } from "../mixins/edge-auditor";
import { nodeReadiness } from "../mixins/node-readiness";
import { retryAfterSeconds, UnavailableError, type CoreError } from "../lib/errors";
import { readinessStatus } from "../lib/health/readiness";
import { DOCS_PAGE, docsAsset } from "../lib/http/api-docs";
import type { ApiRoute } from "../lib/http/api-route";
import { API_ROUTES } from "../lib/http/api-routes";
import { TrustedProxies } from "../lib/http/client-address";
import { buildOpenApiDocument, type OpenApiDocument } from "../lib/http/openapi";
import { MCP_GATEWAY_SERVICE, mcpCorsOptions, type McpHttpHandler } from "../lib/mcp-gateway";
import { RequestAdmission, type Admission, type AdmissionRequest } from "../lib/http/request-admission";
import { TurnBatch } from "../lib/http/turn-batch";
import { EdgeResponse, queueHeader, queueHeaders } from "../lib/http/edge-response";
import { API_SECURITY_HEADERS, corsOptions, DOCS_SECURITY_HEADERS } from "../lib/http/security-headers";
import { validateRequest } from "../lib/http/validate-request";
import { sendOpenAiError } from "../lib/openai-compat";
import { openAiOperations } from "../lib/openai-compat/openapi-operations";
import { packageInfo } from "../lib/package-info";
import { RateLimiter } from "../lib/ratelimit/rate-limiter";
import { apiKeyRevocations, authenticatorOf } from "../mixins/node-authenticator";
import { limitedRoutes, RateLimitMetrics } from "../mixins/ratelimit-metrics";
import type { NodeRuntime } from "../mixins/node-runtime";
import { toCoreError } from "../mixins/to-core-error";
import { startTraceAtEdge } from "../mixins/tracing-edge";

type CoreRequest = IncomingMessage & {
  $ctx?: Context<unknown, Record<string, unknown>>;
  $requestId?: string;
  $params?: unknown;
  $alias?: { action?: string };
  $route?: unknown;
  query?: Record<string, unknown>;
  body?: unknown;
  $apiRoute?: ApiRoute;
  /** The action this request calls, when it is one the edge audits or admits. */
  $auditedAction?: string;
  $clientAddress?: string;
};
type Self = { broker: ServiceBroker; logger: ServiceBroker["logger"] };
/** What moleculer-web's methods see of the service (the parts CORE's override of createServer uses). */
type Gateway = Self & {
  server?: Server;
  isHTTPS: boolean;
  settings: ApiSettingsSchema & { httpServerTimeout?: number; requestTimeout?: number };
  httpHandler: (req: IncomingMessage, res: ServerResponse) => void;
};

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const API_BASE = "/api/v1";
const JSON_TYPE = "application/json; charset=utf-8";
/** Actions whose calls are written to the audit log at the edge (logins and key changes are audited by the auth service itself). */
const AUDITED = new Set(["circle.consult", "openai.chatCompletions", "supervisor.restart"]);

/** The OpenAI-compatible routes: admitted like /api/v1, validated (and answered, errors included) the way OpenAI clients expect. */
const OPENAI_ROUTES: Record<string, { method: string; path: string }> = {
  "openai.chatCompletions": { method: "POST", path: "/v1/chat/completions" },
  "openai.models": { method: "GET", path: "/v1/models" },
};
/** A consult or a streamed answer may take minutes; the default call deadline (30 s) would cut it. */
const OPENAI_CALL_TIMEOUT_MS = 120_000;
/** The largest JSON-RPC message /mcp reads: tool arguments may carry a file. */
const MCP_BODY_LIMIT = "4mb";

/** Every route's first step: security headers, and the request id (the client's when well-formed) in the answer and in the call's meta. */
function beginEdgeRequest(ctx: Context<unknown, Record<string, unknown>>, _route: unknown, req: CoreRequest, res: ServerResponse): void {
  queueHeaders(res, API_SECURITY_HEADERS);
  ctx.meta.requestId = assignRequestId(ctx, req, res);
}

/** The request id a client sent (when well-formed), else the call's own. */
function assignRequestId(ctx: Context, req: CoreRequest, res: ServerResponse): string {
  const incoming = req.headers["x-request-id"];
  const id = typeof incoming === "string" && REQUEST_ID.test(incoming) ? incoming : (ctx.requestID ?? ctx.id);
  req.$requestId = id;
  queueHeader(res, "X-Request-Id", id);
  return id;
}

/**
 * The HTTP edge: /api/v1 (the route table in lib/http/api-routes.ts), the
 * OpenAPI document and its reference page, health. A request is admitted
 * (who, from where, rate limits), validated against its route's schemas and
 * handed to its action with the principal in `ctx.meta.principal`; the action
 * checks the permission wherever it runs.
 */
export default function createApiService(runtime: NodeRuntime): ServiceSchema<ApiSettingsSchema> {
  const { config } = runtime;
  const byAction = new Map(API_ROUTES.map((route) => [route.action, route]));
  // The template each route's requests are rate-limited by, built once: a new string per request would be hashed anew.
  const routePaths = new Map(API_ROUTES.map((route) => [route, `${API_BASE}${route.path}`]));
  const cors = corsOptions(config.http.corsOrigins);
  const mcpCors = mcpCorsOptions(config.http.corsOrigins);
  let openApi: string | undefined;
  let admission: RequestAdmission | undefined;
  // moleculer-web builds each request's log lines (coloured, timed) before the logger drops them: only at debug and trace.
  const logging = config.log.level === "debug" || config.log.level === "trace";
  // A busy node admits the requests of one event-loop turn together (lib/http/turn-batch.ts).
  const batch = new TurnBatch();
  // Redis is a round trip per take: a busy principal's tokens are taken a few at a time (lib/ratelimit/token-leases.ts).
  const limiter = runtime.shared ? new RateLimiter(config.rateLimits, runtime.shared, { leases: config.redis !== undefined }) : undefined;
  // Set when the service starts (it needs the broker); refusals before that are not counted.
  let rateLimitMetrics: RateLimitMetrics | undefined;
  const admissionOf = (logger: Self["logger"]) =>
    (admission ??= new RequestAdmission(
      (credential) => authenticatorOf(runtime).authenticate(credential),
      limiter,
      new TrustedProxies(config.http.trustedProxies),
      logger,
      { rateLimited: (method, route) => rateLimitMetrics?.rateLimited(method, route) },
    ));
  /** Every entry point's admission, once its turn has come (not an async function: no extra promise when it goes on at once). */
  const admit = (logger: Self["logger"], request: AdmissionRequest): Promise<Admission> => {
    const turn = batch.turn();
    return turn ? turn.then(() => admissionOf(logger).admit(request)) : admissionOf(logger).admit(request);
  };

  /** `/mcp` (MCP Streamable HTTP): admitted like /api/v1, then served by the mcp-gateway service of this node (lib/mcp-gateway/mcp-http-sessions.ts). */
  async function serveMcp(this: Self, req: CoreRequest, res: ServerResponse, next: (err?: unknown) => void): Promise<void> {
    try {
      const handle = (this.broker.getLocalService(MCP_GATEWAY_SERVICE) as { mcpHttp?: McpHttpHandler } | undefined)?.mcpHttp;
      if (!handle) return next(new UnavailableError(`The MCP gateway does not run on this node: add ${MCP_GATEWAY_SERVICE} to its --services`));
      const admitted = await admit(this.logger, { method: req.method ?? "GET", routePath: "/mcp", anonymous: false, headers: req.headers, peer: req.socket.remoteAddress });
      queueHeaders(res, admitted.headers);
      if (!admitted.admitted) return next(admitted.error);
      await handle(req, res, req.body, admitted.principal!, admitted.clientAddress);
    } catch (err) {
      if (res.headersSent) this.logger.error(`MCP request ${req.method} /mcp failed after answering`, err);
      else next(err);
    }
  }

  const openApiDocument = (): OpenApiDocument =>
    buildOpenApiDocument({
      routes: API_ROUTES,
      basePath: API_BASE,
      version: packageInfo().version,
      extra: [
        { method: "get", path: "/health/live", operation: { operationId: "live", summary: "The process is up", security: [], responses: { "200": { description: "Live" } } } },
        {
          method: "get",
          path: "/health/ready",
          operation: { operationId: "ready", summary: "NATS, store and cache reachable", security: [], responses: { "200": { description: "Ready or degraded" }, "503": { description: "Not ready" } } },
        },
        ...openAiOperations(),
      ],
    });

  const auditor = runtime.store ? new EdgeAuditor(AuditLog.of(runtime.store), AUDITED) : undefined;
  function record(this: Self, req: CoreRequest, outcome: AuditOutcome, error?: CoreError): void {
    const action = req.$auditedAction;
    if (!auditor || !action) return;
    const params = (req.$params ?? {}) as Record<string, unknown>;
    auditor.record({
      action,
      principal: (req.$ctx?.meta.principal as { id?: string } | undefined)?.id,
      target: typeof params.actor === "string" ? params.actor : null,
      source: req.$clientAddress,
      requestId: req.$requestId,
      outcome,
      error,
    });
  }

  return {
    name: "api",
    mixins: [ApiGateway, apiKeyRevocations(runtime)],
    settings: {
      port: config.apiPort,
      ip: config.host,
      log4XXResponses: false,
      // Each request starts its own trace, named in X-Trace-Id on every answer (mixins/tracing-edge.ts); typed as an object, run as a hook.
      rootCallOptions: startTraceAtEdge as unknown as ApiSettingsSchema["rootCallOptions"],
      logRequest: "debug",
      logResponse: "debug",
      routes: [
        {
          path: API_BASE,
          mappingPolicy: "restrict",
          logging,
          mergeParams: false,
          authorization: true,
          bodyParsers: { json: { limit: "256kb", strict: false } },
          ...(cors ? { cors } : {}),
          aliases: Object.fromEntries(API_ROUTES.map((route) => [`${route.method} ${route.path}`, route.action])),
          onBeforeCall: beginEdgeRequest,
          onAfterCall(this: Self, ctx: Context<unknown, Record<string, unknown>>, _route: unknown, req: CoreRequest, _res: ServerResponse, data: unknown) {
            if (req.$apiRoute?.successStatus) ctx.meta.$statusCode = req.$apiRoute.successStatus;
            // A 201 says where the new resource is (moleculer-web warns without it).
            const id = (data as { id?: unknown } | null)?.id;
            if (req.$apiRoute?.successStatus === 201 && typeof id === "string") ctx.meta.$location = `${API_BASE}${req.$apiRoute.path}/${encodeURIComponent(id)}`;
            record.call(this, req, "ok");
            return data;
          },
        },
        {
          path: "/v1",
          mappingPolicy: "restrict",
          logging,
          mergeParams: false,
          authorization: true,
          bodyParsers: { json: { limit: "1mb", strict: false } },
          callOptions: { timeout: OPENAI_CALL_TIMEOUT_MS },
          ...(cors ? { cors } : {}),
          aliases: { "POST chat/completions": "openai.chatCompletions", "GET models": "openai.models" },
          onBeforeCall: beginEdgeRequest,
          onAfterCall(this: Self, _ctx: Context, _route: unknown, req: CoreRequest, _res: ServerResponse, data: unknown) {
            record.call(this, req, "ok");
            return data;
          },
          onError(this: Self, req: CoreRequest, res: ServerResponse, err: unknown) {
            const core = toCoreError(err);
            if (core.status >= 500) this.logger.error(`Request ${req.method} ${req.url} failed`, err);
            record.call(this, req, outcomeOf(core), core);
            if (!res.headersSent) queueHeaders(res, API_SECURITY_HEADERS);
            sendOpenAiError(res, core, req.$requestId);
          },
        },
        {
          path: "/mcp",
          mappingPolicy: "restrict",
          logging,
          bodyParsers: { json: { limit: MCP_BODY_LIMIT, strict: false } },
          ...(mcpCors ? { cors: mcpCors } : {}),
          aliases: { "POST /": serveMcp, "GET /": serveMcp, "DELETE /": serveMcp },
          onBeforeCall: beginEdgeRequest,
        },
        {
          path: "/api",
          mappingPolicy: "restrict",
          logging,
          bodyParsers: false,
          aliases: {
            "GET openapi.json"(req: CoreRequest, res: ServerResponse) {
              openApi ??= JSON.stringify(openApiDocument());
              res.setHeader("Content-Type", JSON_TYPE);
              res.end(openApi);
            },
            "GET docs"(_req: CoreRequest, res: ServerResponse) {
              queueHeaders(res, DOCS_SECURITY_HEADERS);
              res.setHeader("Content-Type", "text/html; charset=utf-8");
              res.end(DOCS_PAGE);
            },
            async "GET docs/:asset"(req: CoreRequest, res: ServerResponse, next: (err?: unknown) => void) {
              const asset = await docsAsset(String((req.$params as { asset?: unknown } | undefined)?.asset ?? ""));
              if (!asset) return next(Object.assign(new Error("No such asset"), { code: 404, type: "NOT_FOUND" }));
              queueHeaders(res, DOCS_SECURITY_HEADERS);
              res.setHeader("Content-Type", asset.contentType);
              res.end(asset.body);
            },
          },
          onBeforeCall: beginEdgeRequest,
        },
        {
          path: "/health",
          mappingPolicy: "restrict",
          logging,
          bodyParsers: false,
          aliases: { "GET live": "api.live", "GET ready": "api.ready" },
          onBeforeCall: beginEdgeRequest,
        },
      ],
      // Every error leaves as { error: { code, message, details?, requestId } }, never a stack trace.
      onError(this: Self, req: CoreRequest, res: ServerResponse, err: unknown) {
        const core = toCoreError(err);
        const requestId = req.$requestId ?? (req.headers["x-request-id"] as string | undefined) ?? req.$ctx?.requestID ?? undefined;
        if (core.status >= 500) this.logger.error(`Request ${req.method} ${req.url} failed`, err);
        record.call(this, req, outcomeOf(core), core);
        const details = Object.keys(core.data).length > 0 ? core.data : undefined;
        if (!res.headersSent) {
          queueHeaders(res, API_SECURITY_HEADERS);
          queueHeader(res, "Content-Type", JSON_TYPE);
          if (requestId) queueHeader(res, "X-Request-Id", requestId);
          const retryAfterSec = retryAfterSeconds(core);
          if (retryAfterSec !== undefined) queueHeader(res, "Retry-After", String(retryAfterSec));
          // Written by `end` (not `writeHead` first): the answer then carries its Content-Length rather than chunks.
          res.statusCode = core.status;
        }
        res.end(JSON.stringify({ error: { code: core.code, message: core.message, ...(details ? { details } : {}), requestId } }));
      },
    },
    started(this: Self) {
      const routes = [
        ...API_ROUTES.map((r) => ({ method: r.method, route: `${API_BASE}${r.path}` })),
        ...Object.values(OPENAI_ROUTES).map((r) => ({ method: r.method, route: r.path })),
        ...["GET", "POST", "DELETE"].map((method) => ({ method, route: "/mcp" })),
      ];
      rateLimitMetrics = RateLimitMetrics.for(this.broker).expect(limitedRoutes(limiter, routes));
    },
    methods: {
      /** moleculer-web's server, answering with EdgeResponse (lib/http/edge-response.ts). CORE serves plain HTTP: TLS ends in front of it. */
      createServer(this: Gateway) {
        if (this.server) return;
        this.server = createServer({ ServerResponse: EdgeResponse }, this.httpHandler);
        this.isHTTPS = false;
        if (this.settings.httpServerTimeout) this.server.setTimeout(this.settings.httpServerTimeout);
        this.server.requestTimeout = this.settings.requestTimeout ?? this.server.requestTimeout;
      },
      /** moleculer-web logs every error whose `code` is not a number (CORE's are strings) with its stack; onError logs the 5xx ones. */
      errorHandler(this: Self & { sendError(req: CoreRequest, res: ServerResponse, err: unknown): void }, req: CoreRequest, res: ServerResponse, err: unknown) {
        this.sendError(req, res, err);
      },
      /** moleculer-web's authorization hook: admission (who, from where, rate limits), then the route's schemas. */
      async authorize(this: Self, ctx: Context<unknown, Record<string, unknown>>, _route: unknown, req: CoreRequest, res: ServerResponse) {
        const action = req.$alias?.action ?? "";
        const apiRoute = byAction.get(action);
        const openAiRoute = OPENAI_ROUTES[action];
        if (!apiRoute && !openAiRoute) return;
        req.$apiRoute = apiRoute;
        req.$auditedAction = action;
        const admitted = await admit(this.logger, {
          method: apiRoute?.method ?? openAiRoute!.method,
          routePath: apiRoute ? routePaths.get(apiRoute)! : openAiRoute!.path,
          anonymous: apiRoute?.permission === null,
          headers: req.headers,
          peer: req.socket.remoteAddress,
        });
        queueHeaders(res, admitted.headers);
        req.$clientAddress = admitted.clientAddress;
        if (admitted.clientAddress) ctx.meta.source = admitted.clientAddress;
        if (!admitted.admitted) throw admitted.error;
        if (admitted.principal) ctx.meta.principal = admitted.principal;
        const parts = (req.$params ?? {}) as { params?: Record<string, unknown>; query?: Record<string, unknown>; body?: unknown };
        // The OpenAI routes' action validates its body itself (and answers in OpenAI's error shape).
        req.$params = apiRoute ? validateRequest(apiRoute, { path: parts.params ?? {}, query: parts.query ?? {}, body: parts.body }) : (parts.body ?? {});
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
          const checks = await nodeReadiness(this.broker, runtime);
          const status = readinessStatus(checks);
          if (status === "not ready") ctx.meta.$statusCode = 503;
          return { status, nodeID: this.broker.nodeID, checks };
        },
      },
    },
  };
}
