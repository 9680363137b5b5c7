import { CoreError, IngressOverloadedError, InternalError, NotFoundError } from "../errors";
import type { Admission, AdmissionRequest } from "../http/request-admission";
import type { Logger } from "../logger";
import type { AuthenticatedPrincipal } from "../security/principal";
import type { DropReason, IngressObserver } from "./ingress-metrics";
import { lowerCaseHeaders, REQUEST_ID_HEADER, STATUS_HEADER, TRACE_ID_HEADER, type IngressMessage, type IngressReply } from "./ingress-message";
import { clientRequestId, DEFAULT_INGRESS_MAX_BYTES, parseBody, requestedTimeoutMs } from "./ingress-request";
import type { IngressRoute } from "./ingress-routes";

/** What the action is called with besides its parameters. */
export interface IngressCall {
  /** Goes to `ctx.meta.principal`: the access-control middleware checks the permission where the action runs. */
  principal: AuthenticatedPrincipal;
  requestId: string;
  /** The call's Moleculer requestID (the trace id). */
  traceId: string;
  /** The call's deadline in ms from now; undefined: the action's default. */
  timeoutMs: number | undefined;
}

export interface IngressBackend {
  /** Calls `action` as `call.principal`; rejects with a CoreError. */
  call(action: string, params: Record<string, unknown>, call: IngressCall): Promise<unknown>;
}

export interface IngressAuditEntry {
  action: string;
  /** Undefined when the caller was not authenticated. */
  principal: string | undefined;
  requestId: string;
  error?: CoreError;
}

export interface NatsIngressOptions {
  routes: readonly IngressRoute[];
  /** Who calls (401) and whether its rate limits hold (429): the REST edge's RequestAdmission. */
  admission: { admit(request: AdmissionRequest): Promise<Admission> };
  backend: IngressBackend;
  logger: Logger;
  /** Larger messages are answered 413 unread; 256 KiB, as REST. */
  maxBytes?: number;
  /** Messages handled at once; more are answered 503 OVERLOADED at once. */
  maxInFlight: number;
  /** A fresh trace id (Moleculer's requestID) per message. */
  newTraceId: () => string;
  observer?: IngressObserver;
  /** Told about each call of an audited route once its body was read (as REST audits from admission on). */
  audit?: (entry: IngressAuditEntry) => void;
  /** A monotonic clock in ms (durations, log throttling); tests move it. */
  now?: () => number;
}

/** The REST routes' prefix (services/api.service.ts): rate-limit keys name the full path. */
const REST_BASE = "/api/v1";
/** A flood of unanswerable messages is logged at most this often (the metric counts each). */
const LOG_INTERVAL_MS = 60_000;
const encoder = new TextEncoder();

const DROP_REASONS: Record<DropReason, string> = {
  no_reply_subject: "published without a reply subject (use request/reply: `nats req`, `nc.request`)",
  reply_failed: "the answer could not be published",
};

/** Headers of an admission that mean nothing over NATS. */
const HTTP_ONLY_HEADERS = new Set(["www-authenticate"]);

/** A warning said at most once per interval, with how many times it happened since it was last said. */
class ThrottledWarning {
  private count = 0;
  private lastAt = -Infinity;

  constructor(
    private readonly logger: Logger,
    private readonly now: () => number,
  ) {}

  note(say: (count: number) => string): void {
    this.count++;
    const now = this.now();
    if (now - this.lastAt < LOG_INTERVAL_MS) return;
    this.logger.warn(say(this.count));
    this.lastAt = now;
    this.count = 0;
  }
}

function errorBody(err: CoreError, requestId: string): { error: Record<string, unknown> } {
  const details = Object.keys(err.data).length > 0 ? err.data : undefined;
  return { error: { code: err.code, message: err.message, ...(details ? { details } : {}), requestId } };
}

const asCoreError = (err: unknown): CoreError => (err instanceof CoreError ? err : new InternalError("Internal error", { cause: err }));

/**
 * CORE's request/reply subjects for plain NATS clients (DESIGN §8): each
 * message is handled on its own, concurrently, up to `maxInFlight` at once,
 * and always answered when it can be: JSON body, `Core-Status` (the HTTP
 * status REST would answer), `Core-Request-Id`, `Core-Trace-Id`. Errors have
 * REST's shape, `{ error: { code, message, details?, requestId } }`. A message
 * without a reply subject is counted and dropped; nothing a client sends
 * makes this throw.
 *
 * The steps are REST's: too large → 413 unread; not JSON → 400; credentials
 * from the headers (`Authorization`, `X-Api-Key`) → 401; rate limits → 429;
 * the REST route's schemas → 422 naming each field; then the action, called
 * as the principal, so the permission is checked where it runs (403).
 */
export class NatsIngress {
  private readonly routes: ReadonlyMap<string, IngressRoute>;
  private readonly maxBytes: number;
  private readonly now: () => number;
  private readonly dropWarning: ThrottledWarning;
  private readonly overloadWarning: ThrottledWarning;
  private active = 0;
  private idleWaiters: Array<() => void> = [];

  constructor(private readonly options: NatsIngressOptions) {
    this.routes = new Map(options.routes.map((r) => [r.subject, r]));
    this.maxBytes = options.maxBytes ?? DEFAULT_INGRESS_MAX_BYTES;
    this.now = options.now ?? (() => performance.now());
    this.dropWarning = new ThrottledWarning(options.logger, this.now);
    this.overloadWarning = new ThrottledWarning(options.logger, this.now);
  }

  /** The subjects to subscribe to. */
  get subjects(): string[] {
    return [...this.routes.keys()];
  }

  /** Messages being handled now. */
  get inFlight(): number {
    return this.active;
  }

  /** Handles a message on its own: returns at once, never throws (a subscription loop calls this and goes on). */
  dispatch(message: IngressMessage): void {
    void this.serve(message);
  }

  /** Handles one message to its answer (or its drop). Never rejects. */
  async serve(message: IngressMessage): Promise<void> {
    try {
      const started = this.now();
      if (!message.reply) return this.drop("no_reply_subject", message.subject);
      const traceId = this.options.newTraceId();
      const headers = lowerCaseHeaders(message.headers);
      const requestId = clientRequestId(headers) ?? traceId;
      if (this.active >= this.options.maxInFlight) {
        const limit = this.options.maxInFlight;
        this.overloadWarning.note((n) => `NATS ingress: ${limit} messages in flight, the most this node takes (CORE_INGRESS_MAX_IN_FLIGHT); answered ${n} with 503 since last said`);
        const err = new IngressOverloadedError(`This node is handling ${limit} NATS requests already; retry in a moment`, { data: { limit } });
        return this.send(message, { status: err.status, body: errorBody(err, requestId), headers: {} }, requestId, traceId, started);
      }
      this.active++;
      try {
        const reply = await this.answer(message, headers, requestId, traceId);
        this.send(message, reply, requestId, traceId, started);
      } finally {
        if (--this.active === 0) for (const wake of this.idleWaiters.splice(0)) wake();
      }
    } catch (err) {
      // Only a bug gets here: the message is lost, the node goes on.
      this.options.logger.error(`NATS ingress: a message on ${message.subject} could not be handled`, err);
    }
  }

  /** Resolves true once no message is in flight, false if `timeoutMs` passes first. */
  idle(timeoutMs: number): Promise<boolean> {
    if (this.active === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        resolve(true);
      };
      const timer = setTimeout(() => {
        this.idleWaiters = this.idleWaiters.filter((w) => w !== wake);
        resolve(false);
      }, timeoutMs);
      this.idleWaiters.push(wake);
    });
  }

  private async answer(message: IngressMessage, headers: Record<string, readonly string[]>, requestId: string, traceId: string): Promise<IngressReply> {
    const extra: Record<string, string> = {};
    let audited: IngressAuditEntry | undefined;
    try {
      const route = this.routes.get(message.subject);
      if (!route) throw new NotFoundError(`Nothing answers ${message.subject} here`, { data: { subject: message.subject } });
      const body = parseBody(message.data, this.maxBytes);
      if (route.audited && this.options.audit) audited = { action: route.action, principal: undefined, requestId };
      const admitted = await this.options.admission.admit({
        method: route.rest.method,
        routePath: `${REST_BASE}${route.rest.path}`,
        anonymous: false,
        headers,
        // A NATS client has no address CORE can see.
        peer: undefined,
      });
      for (const [name, value] of Object.entries(admitted.headers)) if (!HTTP_ONLY_HEADERS.has(name.toLowerCase())) extra[name] = value;
      if (!admitted.admitted) throw admitted.error;
      const principal = admitted.principal!;
      if (audited) audited.principal = principal.id;
      const params = route.toParams(body);
      const timeoutMs = requestedTimeoutMs(headers) ?? route.defaultTimeoutMs(params);
      const result = await this.options.backend.call(route.action, params, { principal, requestId, traceId, timeoutMs });
      if (audited) this.options.audit!(audited);
      return { status: 200, body: result, headers: extra };
    } catch (e) {
      const err = asCoreError(e);
      if (err.status >= 500) this.options.logger.error(`NATS ${message.subject} failed (request ${requestId})`, e);
      if (audited) this.options.audit!({ ...audited, error: err });
      return { status: err.status, body: errorBody(err, requestId), headers: extra };
    }
  }

  private send(message: IngressMessage, reply: IngressReply, requestId: string, traceId: string, started: number): void {
    let status = reply.status;
    let data: Uint8Array;
    try {
      data = encoder.encode(JSON.stringify(reply.body ?? null));
    } catch (err) {
      // A result JSON cannot hold (a BigInt, a cycle): a bug of the action, answered as one.
      this.options.logger.error(`NATS ${message.subject}: the result could not be encoded as JSON (request ${requestId})`, err);
      const internal = new InternalError("Internal error");
      status = internal.status;
      data = encoder.encode(JSON.stringify(errorBody(internal, requestId)));
    }
    const headers = { ...reply.headers, [STATUS_HEADER]: String(status), [REQUEST_ID_HEADER]: requestId, [TRACE_ID_HEADER]: traceId };
    try {
      message.respond(data, headers);
    } catch (err) {
      return this.drop("reply_failed", message.subject, err);
    }
    this.options.observer?.answered(message.subject, status, (this.now() - started) / 1000);
  }

  private drop(reason: DropReason, subject: string, err?: unknown): void {
    this.options.observer?.dropped(reason);
    const why = err instanceof Error ? `${DROP_REASONS[reason]}: ${err.message}` : DROP_REASONS[reason];
    this.dropWarning.note((n) => `NATS ingress: ${n} message(s) dropped unanswered since last said; the latest on ${subject}, ${why}`);
  }
}
