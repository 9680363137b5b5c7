import type { ServiceBroker } from "moleculer";
import type { Logger } from "../lib/logger";
import { ALERT_EVENT, type Alert } from "../lib/monitors/alert";

/**
 * Emits a monitor's alert (`monitor.alert`, handled by one alerts service).
 * With no alerts service in the cluster the event would go nowhere: then the
 * alert is at least logged here, so it is never lost silently.
 */
export function emitAlert(who: { broker: ServiceBroker; logger: Logger }, alert: Alert): void {
  const handled = who.broker.registry.getServiceList({ onlyAvailable: true }).some((s: { name: string }) => s.name === "alerts");
  if (!handled) {
    const line = `Alert ${alert.state} [${alert.severity}] ${alert.key}: ${alert.message} (no alerts service runs in the cluster: add "alerts" to --services to count it, publish it and send it to the webhook)`;
    if (alert.state === "raised") who.logger.warn(line);
    else who.logger.info(line);
    return;
  }
  who.broker.emit(ALERT_EVENT, alert).catch((err: unknown) => who.logger.warn(`Could not emit ${ALERT_EVENT} ${alert.key}: ${(err as Error).message}`));
}
