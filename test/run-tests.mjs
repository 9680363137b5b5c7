// Runs the whole suite (Jest: unit, integration, e2e) and ends with the plain
// line "N passed, N failed" counted from the runner's JSON report, so a run
// that executed nothing shows as "0 passed".
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const reports = join(root, "reports");
mkdirSync(reports, { recursive: true });
const jestReport = join(reports, "jest.json");
rmSync(jestReport, { force: true });

const extra = process.argv.slice(2);
const jest = spawnSync(
  process.execPath,
  [join(root, "node_modules/jest/bin/jest.js"), "--json", `--outputFile=${jestReport}`, "--maxWorkers=2", ...extra],
  // PGlite loads its WASM through dynamic import(), which Jest's VM allows only with this flag.
  { cwd: root, stdio: "inherit", env: { ...process.env, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ""} --experimental-vm-modules --disable-warning=ExperimentalWarning`.trim() } },
);

let passed = 0;
let failed = 0;
let skipped = 0;
if (existsSync(jestReport)) {
  const report = JSON.parse(readFileSync(jestReport, "utf8"));
  passed += report.numPassedTests;
  failed += report.numFailedTests;
  skipped += report.numPendingTests + report.numTodoTests;
  // A suite that failed to load has no failed tests but must still count as a failure.
  failed += report.testResults.filter((r) => r.status === "failed" && r.assertionResults.length === 0).length;
} else {
  failed += 1;
  console.error("test/run-tests: Jest wrote no report");
}

const ok = jest.status === 0 && failed === 0 && passed > 0;
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}`);
process.exit(ok ? 0 : 1);
