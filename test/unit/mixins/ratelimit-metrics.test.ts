import { ServiceBroker } from "moleculer";
import { metricValues } from "../../helpers/metric-values";
import { MemorySharedStore } from "../../../lib/coordination/memory-shared-store";
import { RateLimiter } from "../../../lib/ratelimit/rate-limiter";
import { limitedRoutes, RATELIMIT_METRICS, RateLimitMetrics } from "../../../mixins/ratelimit-metrics";

/** The rate-limit counter on a broker's registry (no reporter: the registry is read directly). */

let broker: ServiceBroker;
beforeEach(() => {
  broker = new ServiceBroker({ logger: false, metrics: { enabled: true, reporter: [] } });
});

describe("RateLimitMetrics", () => {
  it("starts the limited routes at 0 and counts refusals by route and method", () => {
    const limiter = new RateLimiter({ routes: { "POST /api/v1/consult": { capacity: 5, refillPerSecond: 1 } } }, new MemorySharedStore());
    const routes = [
      { method: "POST", route: "/api/v1/consult" },
      { method: "GET", route: "/api/v1/experts" },
    ];
    expect(limitedRoutes(limiter, routes)).toEqual([{ method: "POST", route: "/api/v1/consult" }]);
    expect(limitedRoutes(undefined, routes)).toEqual([]);
    const metrics = RateLimitMetrics.for(broker).expect(limitedRoutes(limiter, routes));
    expect(metricValues(broker, RATELIMIT_METRICS.rejections)).toEqual([{ route: "/api/v1/consult", method: "POST", value: 0 }]);
    metrics.rateLimited("POST", "/api/v1/consult");
    metrics.rateLimited("POST", "/api/v1/consult");
    expect(metricValues(broker, RATELIMIT_METRICS.rejections)).toEqual([{ route: "/api/v1/consult", method: "POST", value: 2 }]);
  });
});
