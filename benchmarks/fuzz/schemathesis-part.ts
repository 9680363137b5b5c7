import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { packageInfo } from "../../lib/package-info";
import { envCount, FailureLog, quick, Tally, type FuzzPartResult } from "./fuzz-part";

/**
 * Part 1 of `npm run fuzz`: scripts/schemathesis.mjs (`npm run
 * test:schemathesis`, both of its runs: as an admin and without credentials)
 * with more examples per operation, keeping its reports
 * (SCHEMATHESIS_REPORT_DIR). The requests are counted from the HAR files,
 * one entry per request sent, with each answer's status; schemathesis's own
 * check failures come from its JSON run reports; whether the node outlived the
 * fuzzing from the /health/live status the script saw at the end.
 *
 * Knobs: FUZZ_SCHEMATHESIS_EXAMPLES (max examples per operation and phase,
 * 400; FUZZ_QUICK 2), FUZZ_SCHEMATHESIS_REQUESTS (the goal, 10 000; FUZZ_QUICK 1 000).
 */

interface HarEntry {
  request: { method: string; url: string };
  response: { status: number };
}

interface RunReport {
  test_cases?: { generated?: number };
  failures?: Array<Record<string, unknown>>;
  errors?: Array<Record<string, unknown>>;
  exit_code?: number;
}

const readJson = <T>(path: string): T => JSON.parse(readFileSync(path, "utf8")) as T;

function runScript(env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(packageInfo().root, "scripts", "schemathesis.mjs")], { env, stdio: "inherit" });
    child.on("exit", (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

/** A failure's name from schemathesis's JSON report, whatever it calls it. */
function failureName(f: Record<string, unknown>): string {
  for (const key of ["check", "title", "name", "kind", "type"]) if (typeof f[key] === "string") return f[key];
  return JSON.stringify(f).slice(0, 80);
}

export async function runSchemathesisFuzz(): Promise<FuzzPartResult> {
  const examples = envCount("FUZZ_SCHEMATHESIS_EXAMPLES", quick() ? 2 : 400);
  const goal = envCount("FUZZ_SCHEMATHESIS_REQUESTS", quick() ? 1_000 : 10_000);
  const dir = mkdtempSync(join(tmpdir(), "core-fuzz-schemathesis-"));
  const log = new FailureLog();
  const failures = log.tally;
  const outcomes = new Tally();
  const notes: string[] = [];
  const fail = (kind: string, example: string) => log.add(kind, example);
  const started = performance.now();
  let requests = 0;
  console.log(`fuzz schemathesis: ${examples} examples per operation and phase, goal ${goal} requests`);
  try {
    const code = await runScript({ ...process.env, SCHEMATHESIS_MAX_EXAMPLES: String(examples), SCHEMATHESIS_REPORT_DIR: dir });
    for (const run of ["admin", "anonymous"]) {
      const runDir = join(dir, run);
      const files = existsSync(runDir) ? readdirSync(runDir) : [];
      const har = files.find((f) => f.startsWith("har-"));
      const json = files.find((f) => f.startsWith("json-"));
      if (!har || !json) {
        fail("run left no report", `${run}: ${files.join(", ") || "nothing"} in ${runDir}`);
        continue;
      }
      const entries = readJson<{ log: { entries: HarEntry[] } }>(join(runDir, har)).log.entries;
      requests += entries.length;
      for (const e of entries) {
        const status = e.response.status;
        outcomes.add(`${run}: ${status === 0 ? "no answer" : `${Math.floor(status / 100)}xx`}`);
        if (status >= 500) fail(`${status} answer`, `${run}: ${e.request.method} ${e.request.url}`);
        // HAR says 0 when no answer came (a timeout, a dropped connection).
        if (status === 0) fail("no answer", `${run}: ${e.request.method} ${e.request.url}`);
      }
      const report = readJson<RunReport>(join(runDir, json));
      for (const f of report.failures ?? []) fail(`check failed: ${failureName(f)}`, `${run}: ${JSON.stringify(f).slice(0, 400)}`);
      for (const e of report.errors ?? []) fail("schemathesis error", `${run}: ${JSON.stringify(e).slice(0, 400)}`);
      notes.push(`${run} run: ${entries.length} requests sent (HAR), ${report.test_cases?.generated ?? "?"} test cases generated (schemathesis's count), exit ${report.exit_code ?? "?"}.`);
    }
    const liveness = join(dir, "liveness.json");
    const live = existsSync(liveness) ? readJson<{ healthLive: number | string }>(liveness).healthLive : "not checked (the script ended first)";
    if (live !== 200) fail("node not live at the end", `/health/live: ${live}`);
    notes.push(`/health/live after both runs: ${live}.`);
    if (code !== 0 && failures.total === 0) fail(`schemathesis.mjs exit ${code}`, "see its output above");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  if (requests < goal) notes.push(`Fewer requests than the goal: raise FUZZ_SCHEMATHESIS_EXAMPLES (now ${examples}).`);
  return {
    part: "schemathesis",
    goal: `at least ${goal} generated requests against /api/openapi.json (admin and anonymous runs): no 5xx, no failed check, the node alive at the end (/health/live 200)`,
    cases: requests,
    requested: goal,
    failures: failures.counts,
    durationS: (performance.now() - started) / 1000,
    met: failures.total === 0 && requests >= goal,
    outcomes: outcomes.counts,
    examples: log.examples,
    notes: [`schemathesis --max-examples ${examples} per operation and phase (examples, coverage, fuzzing); checks as in scripts/schemathesis.mjs.`, ...notes],
  };
}
