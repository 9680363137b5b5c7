import type { ServiceBroker, ServiceSchema } from "moleculer";
import { headers as natsHeaders, type Msg, type NatsConnection, type NatsError, type Subscription } from "nats";
import { AuditLog } from "../lib/audit";
import { TrustedProxies } from "../lib/http/client-address";
import { RequestAdmission } from "../lib/http/request-admission";
import { headerRecord, ingressRoutes, IngressMetrics, NatsIngress, type IngressMessage } from "../lib/ingress";
import { RateLimiter } from "../lib/ratelimit/rate-limiter";
import { connectNats } from "../lib/transport/nats-connection";
import { coreSubjects } from "../lib/transport/subjects";
import { EdgeAuditor, outcomeOf } from "../mixins/edge-auditor";
import { apiKeyRevocations, authenticatorOf } from "../mixins/node-authenticator";
import { RateLimitMetrics } from "../mixins/ratelimit-metrics";
import type { NodeRuntime } from "../mixins/node-runtime";
import { toCoreError } from "../mixins/to-core-error";

type Self = { broker: ServiceBroker; logger: ServiceBroker["logger"] };

/** nats.js's message as the ingress reads it. */
function ingressMessage(msg: Msg): IngressMessage {
  return {
    subject: msg.subject,
    reply: msg.reply || undefined,
    data: msg.data,
    headers: headerRecord(msg.headers),
    respond(data, headers) {
      const h = natsHeaders();
      for (const [name, value] of Object.entries(headers)) h.set(name, value);
      if (!msg.respond(data, { headers: h })) throw new Error("the message has no reply subject");
    },
  };
}

/**
 * `ingress`: CORE's request/reply subjects for plain NATS clients
 * (`<prefix>.v1.consult`, `.v1.mcp.call`, `.v1.experts.list`; lib/ingress).
 * Every node running it joins one queue group, so each request is served by
 * one node. It has its own NATS connection (Moleculer's transporter subjects
 * are internal); an embedded node (no NATS_URL) has nothing to serve.
 */
export default function createIngressService(runtime: NodeRuntime): ServiceSchema {
  const { config } = runtime;
  const subjects = coreSubjects(config.subjectPrefix);
  let nc: NatsConnection | undefined;
  let subscriptions: Subscription[] = [];
  let ingress: NatsIngress | undefined;

  return {
    name: "ingress",
    mixins: [apiKeyRevocations(runtime)],

    async started(this: Self) {
      if (!config.nats) {
        this.logger.debug(`NATS ingress off: this node has no NATS (set NATS_URL to serve ${subjects.consult} and the other request/reply subjects)`);
        return;
      }
      const broker = this.broker;
      const logger = this.logger;
      const auditor = runtime.store ? new EdgeAuditor(AuditLog.of(runtime.store), new Set(["circle.consult"])) : undefined;
      const serving = new NatsIngress({
        routes: ingressRoutes(subjects),
        admission: new RequestAdmission(
          (credential) => authenticatorOf(runtime).authenticate(credential),
          runtime.shared ? new RateLimiter(config.rateLimits, runtime.shared, { leases: config.redis !== undefined }) : undefined,
          new TrustedProxies([]),
          logger,
          // Refusals counted with REST's, under the REST route the subject mirrors.
          RateLimitMetrics.for(broker),
        ),
        backend: {
          async call(action, params, call) {
            try {
              return await broker.call(action, params, {
                meta: { principal: call.principal, source: "nats", requestId: call.requestId },
                requestID: call.traceId,
                ...(call.timeoutMs === undefined ? {} : { timeout: call.timeoutMs }),
              });
            } catch (err) {
              throw toCoreError(err);
            }
          },
        },
        logger,
        maxBytes: config.ingress.maxBytes,
        maxInFlight: config.ingress.maxInFlight,
        newTraceId: () => broker.generateUid(),
        ...(broker.isMetricsEnabled() ? { observer: new IngressMetrics(broker.metrics) } : {}),
        ...(auditor
          ? {
              audit: (entry) =>
                auditor.record({ action: entry.action, principal: entry.principal, target: null, source: "nats", requestId: entry.requestId, outcome: entry.error ? outcomeOf(entry.error) : "ok", error: entry.error }),
            }
          : {}),
      });
      const connection = await connectNats(config.nats.url, `core-ingress-${config.nodeId}`);
      nc = connection;
      ingress = serving;
      void (async () => {
        for await (const s of connection.status()) {
          if (s.type === "disconnect") logger.warn("NATS ingress: disconnected from NATS; reconnecting");
          else if (s.type === "reconnect") logger.info("NATS ingress: reconnected to NATS");
        }
      })();
      const onMessage = (err: NatsError | null, msg: Msg) => {
        if (err) logger.error(`NATS ingress: subscription error: ${err.message}`);
        else serving.dispatch(ingressMessage(msg));
      };
      subscriptions = serving.subjects.map((subject) => connection.subscribe(subject, { queue: subjects.ingressQueue, callback: onMessage }));
      // The server has the subscriptions before the node says it started.
      await connection.flush();
      logger.info(`NATS ingress: ${serving.subjects.join(", ")} (queue group ${subjects.ingressQueue})`);
    },

    async stopped(this: Self) {
      if (!nc) return;
      // No new messages; those in flight are answered before the connection closes.
      await Promise.all(subscriptions.map((s) => s.drain().catch(() => undefined)));
      if (ingress && !(await ingress.idle(config.shutdownTimeoutMs))) {
        this.logger.warn(`NATS ingress: ${ingress.inFlight} request(s) still unanswered after ${config.shutdownTimeoutMs} ms; closing anyway`);
      }
      const connection = nc;
      nc = undefined;
      subscriptions = [];
      await connection.drain().catch(() => connection.close());
    },
  };
}
