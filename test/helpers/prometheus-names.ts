import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";

/**
 * What the deploy/ files ask of Prometheus (the metric names in the alert
 * rules' and the dashboards' PromQL) and what a node's /metrics gives, so a
 * test can say which names a running node does not export.
 */

// PromQL words that look like identifiers but name no metric.
const KEYWORDS = new Set(["and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset", "inf", "nan"]);

/** Names Prometheus itself adds to every scraped target's series. */
export const SCRAPE_METRICS = new Set(["up", "scrape_duration_seconds", "scrape_samples_scraped", "scrape_samples_post_metric_relabeling", "scrape_series_added"]);

/**
 * The metric names a PromQL expression selects. Grafana's variables
 * (`$__rate_interval`, `$node`, `${node}`) may appear in it. Not a full
 * parser: strings, label matchers, ranges and grouping label lists are cut
 * out, then every identifier not called as a function and not a keyword is a
 * metric name.
 */
export function metricNamesIn(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""')
    .replace(/\$\{[^}]*\}|\$\w+|\[\[\w+\]\]/g, "1")
    .replace(/#[^\n]*/g, " ")
    .replace(/\{[^}]*\}/g, " ")
    .replace(/\[[^\]]*\]/g, " ")
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, " ");
  const names = new Set<string>();
  for (const m of stripped.matchAll(/(?<![\w.:])([A-Za-z_:][\w:]*)(?=(\s*)(.?))/g)) {
    const [, name, , next] = m;
    if (next === "(" || KEYWORDS.has(name!.toLowerCase())) continue;
    names.add(name!);
  }
  return [...names];
}

export interface MetricReference {
  name: string;
  /** Where the expression is, e.g. `deploy/prometheus/alerts.yml: CoreNodeDown`. */
  where: string;
}

/** Every metric the alert rules in `file` select. */
export function alertRuleReferences(file: string, label = file): MetricReference[] {
  const doc = parse(readFileSync(file, "utf8")) as { groups: Array<{ rules: Array<{ alert?: string; record?: string; expr: string }> }> };
  return doc.groups.flatMap((g) => g.rules.flatMap((r) => metricNamesIn(String(r.expr)).map((name) => ({ name, where: `${label}: ${r.alert ?? r.record}` }))));
}

interface DashboardPanel {
  title?: string;
  targets?: Array<{ expr?: string }>;
  panels?: DashboardPanel[];
}

/** Every metric the Prometheus queries of the dashboards in `dir` select: panels' targets and templating variables. */
export function dashboardReferences(dir: string, label = dir): MetricReference[] {
  const refs: MetricReference[] = [];
  for (const file of readdirSync(dir).filter((f) => f.endsWith(".json"))) {
    const dashboard = JSON.parse(readFileSync(join(dir, file), "utf8")) as { panels?: DashboardPanel[]; templating?: { list?: Array<{ name: string; query?: string | { query?: string } }> } };
    const visit = (panels: DashboardPanel[] | undefined) => {
      for (const p of panels ?? []) {
        for (const t of p.targets ?? []) if (t.expr) refs.push(...metricNamesIn(t.expr).map((name) => ({ name, where: `${label}/${file}: ${p.title}` })));
        visit(p.panels);
      }
    };
    visit(dashboard.panels);
    for (const v of dashboard.templating?.list ?? []) {
      const q = typeof v.query === "string" ? v.query : v.query?.query;
      // label_values(metric, label) / query_result(expr): the metric inside (label_values(label) names none).
      const call = q?.match(/^\s*(label_values|query_result)\((.*)\)\s*$/s);
      const inner = call?.[1] === "query_result" ? call[2] : call?.[2]?.includes(",") ? call[2].replace(/,\s*\w+\s*$/, "") : undefined;
      if (inner) refs.push(...metricNamesIn(inner).map((name) => ({ name, where: `${label}/${file}: variable ${v.name}` })));
    }
  }
  return refs;
}

export interface Exposition {
  /** Metric families by name, with their `# TYPE`. */
  types: Map<string, string>;
  /** The names of the samples, e.g. `core_consult_duration_seconds_bucket`. */
  samples: Set<string>;
}

/** Reads Prometheus' text format. */
export function parseExposition(text: string): Exposition {
  const types = new Map<string, string>();
  const samples = new Set<string>();
  for (const line of text.split("\n")) {
    const type = line.match(/^# TYPE (\S+) (\S+)/);
    if (type) types.set(type[1]!, type[2]!);
    else if (/^[A-Za-z_:]/.test(line)) samples.add(line.match(/^[A-Za-z_:][\w:]*/)![0]);
  }
  return { types, samples };
}

const SUFFIXES: Record<string, readonly string[]> = { histogram: ["_bucket", "_sum", "_count"], summary: ["_sum", "_count"] };

/** The family a sample name belongs to: a suffix is cut only where the family is of a type that has it. */
export function familyOf(sample: string, types: ReadonlyMap<string, string>): string {
  for (const [type, suffixes] of Object.entries(SUFFIXES)) {
    for (const suffix of suffixes) {
      const base = sample.slice(0, -suffix.length);
      if (sample.endsWith(suffix) && types.get(base) === type) return base;
    }
  }
  return sample;
}

/** Why `name` selects nothing from `exposition`, or undefined when it selects something. */
export function whyMissing(name: string, exposition: Exposition): string | undefined {
  if (SCRAPE_METRICS.has(name) || exposition.samples.has(name)) return undefined;
  for (const suffix of ["_bucket", "_sum", "_count"]) {
    const base = name.slice(0, -suffix.length);
    if (name.endsWith(suffix) && exposition.types.has(base)) return `${base} is a ${exposition.types.get(base)} exported without ${suffix} series`;
  }
  const type = exposition.types.get(name);
  if (type === "histogram") return `${name} is a histogram: select ${name}_bucket`;
  return "not exported";
}
