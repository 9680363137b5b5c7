import { join } from "node:path";
import { alertRuleReferences, dashboardReferences, familyOf, metricNamesIn, parseExposition, whyMissing } from "../../helpers/prometheus-names";

const root = join(__dirname, "../../..");

describe("metricNamesIn (the metric names of a PromQL expression)", () => {
  it.each([
    ['up{job="core"} == 0', ["up"]],
    ['sum by (actor, nodeID) (increase(core_actor_restarts_total[10m])) > 3', ["core_actor_restarts_total"]],
    ['histogram_quantile(0.95, sum by (expert, le) (rate(core_expert_latency_seconds_bucket{outcome="answered"}[5m]))) > 30', ["core_expert_latency_seconds_bucket"]],
    ['sum(rate(a_total{le="+Inf", x=~"by (y)"}[5m])) by (le) / on(nodeID) group_left(role) b_info', ["a_total", "b_info"]],
    ["core_memory_exhaustion_seconds >= 0 and core_memory_exhaustion_seconds < 600", ["core_memory_exhaustion_seconds"]],
    ['max(x offset 5m) > bool 1e3 unless y or z', ["x", "y", "z"]],
    ['sum(rate(core_ingress_requests_total{nodeID=~"$node"}[$__rate_interval])) * 3600 # per hour', ["core_ingress_requests_total"]],
    ['label_replace(job:up:ratio, "dst", "$1", "src", "(.*)") + Inf - NaN', ["job:up:ratio"]],
    ["rate(x[5m:1m]) + ignoring (a) y", ["x", "y"]],
  ])("%s", (expr, names) => {
    expect(metricNamesIn(expr).sort()).toEqual([...names].sort());
  });
});

describe("the exposition format", () => {
  const text = [
    "# HELP h_seconds Time",
    "# TYPE h_seconds histogram",
    'h_seconds_bucket{le="1"} 1',
    'h_seconds_bucket{le="+Inf"} 2',
    "# TYPE c_total counter",
    "c_total 3",
    "# TYPE g_count gauge",
    "g_count 1",
  ].join("\n");
  const e = parseExposition(text);

  it("strips _bucket/_sum/_count only from histograms' (and summaries') samples", () => {
    expect(familyOf("h_seconds_bucket", e.types)).toBe("h_seconds");
    expect(familyOf("g_count", e.types)).toBe("g_count");
    expect(familyOf("c_total", e.types)).toBe("c_total");
  });

  it("says why a name selects nothing", () => {
    expect(whyMissing("h_seconds_bucket", e)).toBeUndefined();
    expect(whyMissing("g_count", e)).toBeUndefined();
    expect(whyMissing("up", e)).toBeUndefined();
    expect(whyMissing("h_seconds_count", e)).toBe("h_seconds is a histogram exported without _count series");
    expect(whyMissing("h_seconds", e)).toBe("h_seconds is a histogram: select h_seconds_bucket");
    expect(whyMissing("nope_total", e)).toBe("not exported");
  });
});

describe("deploy/ references", () => {
  it("finds the metrics of every alert rule and of every dashboard panel and variable", () => {
    const rules = alertRuleReferences(join(root, "deploy/prometheus/alerts.yml"));
    expect(rules).toContainEqual({ name: "up", where: expect.stringContaining("CoreNodeDown") });
    expect(rules).toContainEqual({ name: "core_budget_usage_ratio", where: expect.stringContaining("CoreBudgetNearlySpent") });
    const dashboards = dashboardReferences(join(root, "deploy/grafana/dashboards"));
    expect(dashboards).toContainEqual({ name: "core_consult_duration_seconds_bucket", where: expect.stringContaining("Consults/s by outcome") });
    expect(dashboards).toContainEqual({ name: "core_memory_level", where: expect.stringContaining("variable node") });
    // Nothing that is a PromQL function, keyword or label slipped through.
    for (const { name } of [...rules, ...dashboards]) expect(name).toMatch(/^(up|core_[a-z_]+)$/);
  });
});
