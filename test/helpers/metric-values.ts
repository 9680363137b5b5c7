import type { ServiceBroker } from "moleculer";

type Point = { labels: Record<string, string>; value: number };

/** A metric's series on a broker's registry, each as its labels plus `value` (tests read the registry directly, no reporter). */
export const metricValues = (broker: ServiceBroker, name: string) =>
  ((broker.metrics.getMetric(name)?.snapshot() ?? []) as Point[]).map((v) => ({ ...v.labels, value: v.value }));
