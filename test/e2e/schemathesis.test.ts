import { spawn } from "node:child_process";
import { join, resolve } from "node:path";
import { NODE_BIN } from "../helpers/core-process";

/**
 * schemathesis (PyPI) against /api/openapi.json of a running embedded node, as
 * `npm run test:schemathesis` runs it (scripts/schemathesis.mjs): no 5xx, no
 * answer that breaks the document, valid requests accepted, invalid ones
 * refused, every protected route 401 without credentials. The first run
 * installs schemathesis into .venv-schemathesis/ (python3 with venv needed).
 */

const ROOT = resolve(__dirname, "../..");
/** Fuzzing both runs takes about two minutes on two cores; installing schemathesis the first time, one more. */
const TIMEOUT_MS = 15 * 60_000;

function runScript(): Promise<{ code: number | null; output: string }> {
  return new Promise((done, fail) => {
    const child = spawn(NODE_BIN, [join(ROOT, "scripts/schemathesis.mjs")], { cwd: ROOT, env: process.env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.once("error", fail);
    child.once("exit", (code) => done({ code, output }));
  });
}

describe("schemathesis against a running node", () => {
  it(
    "finds no server error and no answer that breaks the OpenAPI document, with and without credentials",
    async () => {
      const { code, output } = await runScript();
      // On failure the report (failures, curl reproductions, seeds) is the message.
      expect({ code, report: code === 0 ? "" : output.slice(-20_000) }).toEqual({ code: 0, report: "" });
      expect(output).toContain("admin run exit 0, anonymous run exit 0");
      expect(output).toMatch(/Operations:\s+\d+ selected \/ \d+ total/);
      expect(output).not.toMatch(/Tested: 0\b/);
    },
    TIMEOUT_MS,
  );
});
