import { loadavg } from "node:os";
import { newReport, saveReport, type BenchmarkReport, type Row } from "../report";
import { runConsensusFuzz } from "./consensus-part";
import { quick, type FuzzPartResult } from "./fuzz-part";
import { runNatsFuzz } from "./nats-part";
import { runSchemathesisFuzz } from "./schemathesis-part";

/**
 * `npm run fuzz [-- <parts>]`: schemathesis against the REST API, malformed
 * NATS messages against the ingress, fast-check input for the consensus, in
 * sequence; one report, benchmarks/results/fuzz.{json,md}. Exits 1 unless
 * every part that ran met its goal. FUZZ_QUICK=1 runs small counts (a tooling
 * check, not a result); each part's knobs are in its file.
 */

const PARTS: Record<FuzzPartResult["part"], () => Promise<FuzzPartResult>> = {
  schemathesis: runSchemathesisFuzz,
  nats: runNatsFuzz,
  consensus: runConsensusFuzz,
};

const counts = (tally: Record<string, number>) =>
  Object.entries(tally)
    .sort((a, b) => b[1] - a[1])
    .map(([k, n]) => `${k} ${n}`)
    .join("; ") || "none";

async function main(): Promise<void> {
  const only = process.argv.slice(2);
  const unknown = only.filter((p) => !(p in PARTS));
  if (unknown.length) throw new Error(`unknown part(s) ${unknown.join(", ")}: choose from ${Object.keys(PARTS).join(", ")}`);
  const loadAtStart = loadavg()[0]!.toFixed(1);
  const report: BenchmarkReport & { quick: boolean; parts: FuzzPartResult[] } = {
    ...newReport(
      "fuzz",
      "Fuzzing: schemathesis against /api/openapi.json, malformed messages to the NATS ingress (core.v1.consult, .mcp.call, .experts.list), " +
        "fast-check input for the consensus (native engine and reference). Goal: no 5xx, no crash, no hang.",
    ),
    quick: quick(),
    parts: [],
  };
  for (const [name, run] of Object.entries(PARTS)) {
    if (only.length && !only.includes(name)) continue;
    const result = await run().catch(
      (err: unknown): FuzzPartResult => ({
        part: name as FuzzPartResult["part"],
        goal: "(the part could not run)",
        cases: 0,
        requested: 0,
        failures: { "part did not run": 1 },
        durationS: 0,
        met: false,
        outcomes: {},
        examples: [String(err instanceof Error ? (err.stack ?? err.message) : err).slice(0, 2_000)],
        notes: [],
      }),
    );
    report.parts.push(result);
    console.log(`fuzz ${name}: ${result.cases} cases, failures: ${counts(result.failures)}, ${result.durationS.toFixed(0)} s, goal ${result.met ? "met" : "NOT met"}`);
  }
  const rows: Row[] = report.parts.map((p) => ({
    part: p.part,
    "cases generated": p.cases,
    "cases asked for": p.requested,
    "failures by kind": counts(p.failures),
    "duration s": p.durationS.toFixed(1),
    goal: p.met ? "met" : "NOT met",
  }));
  report.tables.push({ title: "Summary", rows });
  for (const p of report.parts) {
    report.tables.push({ title: `${p.part}: outcomes`, rows: Object.entries(p.outcomes).sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([outcome, n]) => ({ outcome, cases: n })) });
    report.notes.push(`${p.part} goal (${p.met ? "met" : "NOT met"}): ${p.goal}.`, ...p.notes.map((n) => `${p.part}: ${n}`), ...p.examples.map((e) => `${p.part} failure: ${e.replace(/\n/g, " ⏎ ").slice(0, 600)}`));
  }
  report.notes.push(
    `Load average (1 min) ${loadAtStart} at the start, ${loadavg()[0]!.toFixed(1)} at the end${report.quick ? "; FUZZ_QUICK: reduced counts, a check of the tooling, not a result" : ""}.`,
  );
  saveReport(report);
  process.exit(report.parts.every((p) => p.met) ? 0 : 1);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
