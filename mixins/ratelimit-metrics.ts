import type { ServiceBroker } from "moleculer";
import type { AdmissionObserver } from "../lib/http/request-admission";
import type { RateLimiter } from "../lib/ratelimit/rate-limiter";

/** Name of the rate limiter's metric (Prometheus: core_ratelimit_rejections_total{route, method}). */
export const RATELIMIT_METRICS = {
  rejections: "core.ratelimit.rejections.total",
} as const;

type Registry = ServiceBroker["metrics"];

/** Counts requests refused with 429 by route template; a no-op when metrics are off. */
export class RateLimitMetrics implements AdmissionObserver {
  private constructor(private readonly registry: Registry | undefined) {}

  static for(broker: ServiceBroker): RateLimitMetrics {
    if (!broker.isMetricsEnabled()) return new RateLimitMetrics(undefined);
    const m = broker.metrics;
    if (!m.getMetric(RATELIMIT_METRICS.rejections)) {
      m.register({ name: RATELIMIT_METRICS.rejections, type: "counter", labelNames: ["route", "method"], description: "Requests refused by a rate limit (429), by route template" });
    }
    return new RateLimitMetrics(m);
  }

  /**
   * Starts the routes' series at 0: a counter that appears at 1 hides its
   * first increase from rate()/increase(), and the family is exported before
   * the first refusal.
   */
  expect(routes: readonly LimitedRoute[]): this {
    for (const r of routes) this.registry?.increment(RATELIMIT_METRICS.rejections, { route: r.route, method: r.method }, 0);
    return this;
  }

  rateLimited(method: string, route: string): void {
    this.registry?.increment(RATELIMIT_METRICS.rejections, { route, method });
  }
}

export interface LimitedRoute {
  method: string;
  /** A route template as the admission sees it, e.g. `/api/v1/consultations/:id`. */
  route: string;
}

/** The routes some configured limit applies to (whoever calls): the series worth starting at 0. */
export function limitedRoutes(limiter: Pick<RateLimiter, "enabled" | "bucketsFor"> | undefined, routes: readonly LimitedRoute[]): LimitedRoute[] {
  if (!limiter?.enabled) return [];
  return routes.filter((r) => limiter.bucketsFor({ principalId: "-", clientAddress: undefined, method: r.method, path: r.route }).length > 0);
}
