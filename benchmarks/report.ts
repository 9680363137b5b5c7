import { mkdirSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { packageInfo } from "../lib/package-info";

export type Row = Record<string, string | number>;

/** The middle value of a benchmark's rounds (the upper middle for an even count). */
export const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/**
 * The median over rounds of `f(a[i], b[i])`, where a round ran both variants back to back: a
 * comparison the machine's drift from round to round (2× and more on a shared VM) cancels out of,
 * unlike a comparison of each variant's own median.
 */
export const pairedMedian = <T>(a: readonly T[], b: readonly T[], f: (a: T, b: T) => number): number => median(byRound(a, b, f));

/** `f(a[i], b[i])` for each round, where a round ran both variants back to back. */
export const byRound = <T>(a: readonly T[], b: readonly T[], f: (a: T, b: T) => number): number[] => {
  if (a.length !== b.length) throw new RangeError(`${a.length} rounds against ${b.length}`);
  return a.map((x, i) => f(x, b[i]!));
};

export interface BenchmarkReport {
  name: string;
  description: string;
  machine: { cpus: number; cpuModel: string; node: string };
  startedAt: string;
  tables: Array<{ title: string; rows: Row[] }>;
  notes: string[];
}

export function newReport(name: string, description: string): BenchmarkReport {
  return {
    name,
    description,
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? "unknown", node: process.version },
    startedAt: new Date().toISOString(),
    tables: [],
    notes: [],
  };
}

export function markdownTable(rows: Row[]): string {
  if (rows.length === 0) return "(no rows)";
  const headers = Object.keys(rows[0]!);
  const line = (cells: Array<string | number>) => `| ${cells.join(" | ")} |`;
  return [line(headers), line(headers.map(() => "---")), ...rows.map((r) => line(headers.map((h) => r[h] ?? "")))].join("\n");
}

export function toMarkdown(report: BenchmarkReport): string {
  const parts = [`## ${report.name}`, "", report.description, "", `Machine: ${report.machine.cpus} × ${report.machine.cpuModel}, Node ${report.machine.node}; run ${report.startedAt}.`];
  for (const table of report.tables) parts.push("", `### ${table.title}`, "", markdownTable(table.rows));
  if (report.notes.length) parts.push("", ...report.notes.map((n) => `- ${n}`));
  return parts.join("\n") + "\n";
}

/** Writes benchmarks/results/<name>.json and .md and prints the markdown. */
export function saveReport(report: BenchmarkReport): void {
  const dir = join(packageInfo().root, "benchmarks", "results");
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${report.name}.json`), JSON.stringify(report, null, 2) + "\n");
  const md = toMarkdown(report);
  writeFileSync(join(dir, `${report.name}.md`), md);
  console.log(md);
}
