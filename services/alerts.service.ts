import type { Context, ServiceBroker, ServiceSchema } from "moleculer";
import { describeError } from "../lib/errors";
import type { Logger } from "../lib/logger";
import { ALERT_EVENT, ALERT_EVENT_GROUP, type Alert } from "../lib/monitors/alert";
import { AlertDispatcher } from "../lib/monitors/alert-dispatcher";
import { AlertNatsPublisher } from "../lib/monitors/alert-nats-publisher";
import { readAlert } from "../lib/monitors/alert-schema";
import { AlertWebhook } from "../lib/monitors/alert-webhook";
import { coreSubjects } from "../lib/transport/subjects";
import { requires } from "../mixins/action-permission";
import type { NodeRuntime } from "../mixins/node-runtime";

/** Metric names (Prometheus: core_alerts_total, core_alerts_active, core_alerts_suppressed_total, core_alerts_webhook_total). */
export const ALERT_METRICS = {
  total: "core.alerts.total",
  active: "core.alerts.active",
  suppressed: "core.alerts.suppressed.total",
  webhook: "core.alerts.webhook.total",
} as const;

type Self = { broker: ServiceBroker; logger: Logger };

interface AlertsAnswer {
  alerts: Alert[];
  unreachable: Array<{ nodeID: string; error: string }>;
}

function registerMetrics(broker: ServiceBroker): void {
  const m = broker.metrics;
  if (m.getMetric(ALERT_METRICS.total)) return;
  m.register({ name: ALERT_METRICS.total, type: "counter", labelNames: ["monitor", "severity", "state"], description: "Alerts delivered (after repeats and flaps were suppressed)" });
  m.register({ name: ALERT_METRICS.active, type: "gauge", labelNames: ["monitor", "severity"], description: "Alerts raised and not resolved, on this node's alerts service" });
  m.register({ name: ALERT_METRICS.suppressed, type: "counter", labelNames: ["monitor"], description: "Alerts dropped as repeats or held as flaps" });
  m.register({ name: ALERT_METRICS.webhook, type: "counter", labelNames: ["outcome"], description: "Alerts sent to the webhook: delivered, failed (after retries), dropped (queue full)" });
}

/**
 * Where monitors' alerts (`monitor.alert`, group `alerts`) end up: repeats and
 * flaps suppressed (lib/monitors/alert-dispatcher), then counted in metrics,
 * logged, published on NATS (`<prefix>.events.alerts.<monitor>`) and POSTed
 * to CORE_ALERT_WEBHOOK_URL when set. The event is balanced, and Moleculer
 * prefers a local handler: each node's alerts service handles its own
 * monitors' alerts, and the active ones live in that node's memory (gone when
 * it stops). `alerts.list` gathers them from every node.
 */
export default function createAlertsService(runtime: NodeRuntime): ServiceSchema {
  const { config } = runtime;
  let dispatcher: AlertDispatcher | undefined;
  let webhook: AlertWebhook | undefined;
  let nats: AlertNatsPublisher | undefined;
  /** Gauge labels set so far: a combination with no active alert left goes back to 0. */
  const gaugeLabels = new Map<string, { monitor: string; severity: string }>();

  return {
    name: "alerts",

    events: {
      [ALERT_EVENT]: {
        group: ALERT_EVENT_GROUP,
        handler(this: Self, ctx: Context<unknown>) {
          let alert: Alert;
          try {
            alert = readAlert(ctx.params);
          } catch (err) {
            this.logger.warn(`Dropped an invalid ${ALERT_EVENT} from node ${ctx.nodeID ?? "?"}: ${describeError(err)}`);
            return;
          }
          if (dispatcher?.receive(alert) !== "delivered" && this.broker.isMetricsEnabled()) {
            this.broker.metrics.increment(ALERT_METRICS.suppressed, { monitor: alert.monitor });
          }
        },
      },
    },

    actions: {
      /** Active alerts of every node running this service (the newest first). */
      list: requires("actors:read", {
        params: { monitor: { type: "string", min: 1, max: 32, optional: true }, $$strict: true },
        async handler(ctx: Context<{ monitor?: string }>): Promise<AlertsAnswer> {
          const nodes = ctx.broker.registry
            .getServiceList({ onlyAvailable: true })
            .filter((s: { name: string }) => s.name === "alerts")
            .map((s: { nodeID?: string }) => s.nodeID!);
          const answers = await Promise.all(
            [...new Set(nodes)].sort().map(async (nodeID) => {
              try {
                return { nodeID, alerts: await ctx.call<Alert[], Record<string, never>>("alerts.localList", {}, { nodeID, timeout: 5_000, retries: 0 }) };
              } catch (err) {
                return { nodeID, error: (err as Error).message };
              }
            }),
          );
          const monitor = ctx.params.monitor;
          return {
            alerts: answers
              .flatMap((a) => a.alerts ?? [])
              .filter((a) => monitor === undefined || a.monitor === monitor)
              .sort((a, b) => b.at - a.at),
            unreachable: answers.filter((a) => a.error !== undefined).map((a) => ({ nodeID: a.nodeID, error: a.error! })),
          };
        },
      }),
      localList: {
        visibility: "public",
        handler: (): Alert[] => dispatcher?.active() ?? [],
      },
    },

    started(this: Self) {
      const broker = this.broker;
      const logger = this.logger;
      const metricsOn = broker.isMetricsEnabled();
      if (metricsOn) registerMetrics(broker);
      if (config.alerts.webhook) {
        webhook = new AlertWebhook({
          url: config.alerts.webhook.url,
          secret: config.alerts.webhook.secret,
          logger,
          onOutcome: (outcome) => metricsOn && broker.metrics.increment(ALERT_METRICS.webhook, { outcome }),
        });
      }
      if (config.nats) nats = new AlertNatsPublisher({ url: config.nats.url, subjects: coreSubjects(config.subjectPrefix), logger, name: `${config.nodeId}-alerts` });
      const payload = { namespace: config.namespace };
      dispatcher = new AlertDispatcher({
        deliver(alert) {
          const line = `Alert ${alert.state} [${alert.severity}] ${alert.key} on ${alert.nodeID}: ${alert.message}`;
          if (alert.state === "resolved") logger.info(line);
          else if (alert.severity === "critical" || alert.severity === "emergency") logger.error(line);
          else logger.warn(line);
          if (metricsOn) {
            broker.metrics.increment(ALERT_METRICS.total, { monitor: alert.monitor, severity: alert.severity, state: alert.state });
            const counts = dispatcher!.activeCounts();
            for (const [key, c] of counts) gaugeLabels.set(key, { monitor: c.monitor, severity: c.severity });
            for (const [key, labels] of gaugeLabels) broker.metrics.set(ALERT_METRICS.active, counts.get(key)?.count ?? 0, labels);
          }
          nats?.publish(alert);
          webhook?.send({ ...payload, alert });
        },
      });
    },

    async stopped() {
      dispatcher?.close();
      await Promise.all([webhook?.close(), nats?.close()]);
    },
  };
}
