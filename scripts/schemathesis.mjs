#!/usr/bin/env node
// Fuzzes the REST API with schemathesis (PyPI) against a running embedded node.
//
//   npm run build && npm run test:schemathesis [-- <extra st run options, e.g. --seed 1234>]
//
// 1. Installs schemathesis (pinned) into .venv-schemathesis/ unless it is there
//    already (python3 with venv and ensurepip needed; $PYTHON picks another one).
// 2. Starts, in this process, an embedded node from dist/ (it builds nothing:
//    run `npm run build` first) in a temporary directory on a free port, with
//    one expert answering from a local stub that speaks the OpenAI protocol.
// 3. Seeds an admin user and logs it in: the run's credential is that JWT
//    access token, not an API key, so fuzzing DELETE /api/v1/keys/{id} cannot
//    revoke it (the token outlives the run: 15 minutes).
// 4. Runs `st run <node>/api/openapi.json` twice: as the admin (every route
//    reachable; `ignored_auth` also checks each protected route refuses a
//    missing or wrong credential), then without any credential, where a hook
//    (schemathesis_hooks.py) checks every protected route answers 401.
// 5. Stops the node and exits non-zero if either run failed.
//
// SCHEMATHESIS_MAX_EXAMPLES (default 25) bounds the cases per operation and phase.
// SCHEMATHESIS_REPORT_DIR, when set, keeps each run's reports there (<dir>/admin/, <dir>/anonymous/: HAR of
// every request sent, schemathesis's JSON run report) and the node's /health/live status after both runs
// (<dir>/liveness.json): `npm run fuzz` (benchmarks/fuzz/schemathesis-part.ts) counts what was sent from them.
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const SCHEMATHESIS_VERSION = "4.32.5";
const root = fileURLToPath(new URL("..", import.meta.url));
const venv = join(root, ".venv-schemathesis");
const st = join(venv, "bin", "st");
const maxExamples = process.env.SCHEMATHESIS_MAX_EXAMPLES ?? "25";
const reportDir = process.env.SCHEMATHESIS_REPORT_DIR;
/** Options keeping one run's reports under SCHEMATHESIS_REPORT_DIR (none when it is not set). */
const reportArgs = (run) => (reportDir ? ["--report", "har,json", "--report-dir", join(reportDir, run)] : []);
const extraArgs = process.argv.slice(2);

const log = (message) => console.log(`schemathesis.mjs: ${message}`);

function run(command, args) {
  const result = spawnSync(command, args, { stdio: "inherit" });
  if (result.status !== 0) throw new Error(`${command} ${args.join(" ")} failed (${result.error?.message ?? `exit ${result.status}`})`);
}

/** The pinned schemathesis in .venv-schemathesis/, installed when missing or of another version. */
function ensureSchemathesis() {
  const version = existsSync(st) ? spawnSync(st, ["--version"], { encoding: "utf8" }).stdout : "";
  if (version.includes(`version ${SCHEMATHESIS_VERSION}`)) return;
  const python = process.env.PYTHON ?? "python3";
  log(`installing schemathesis ${SCHEMATHESIS_VERSION} into ${venv}`);
  run(python, ["-m", "venv", "--clear", venv]);
  run(join(venv, "bin", "python"), ["-m", "pip", "install", "--quiet", "--disable-pip-version-check", `schemathesis==${SCHEMATHESIS_VERSION}`]);
}

function listen(server) {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve(server.address().port));
  });
}

async function freePort() {
  const server = createServer();
  const port = await listen(server);
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const ANSWER = "Forty-two. Final answer: 42";

/** Answers every chat completion at once, as an OpenAI-compatible server would: JSON, or SSE when asked to stream. */
function startOpenAiStub() {
  const server = createServer((req, res) => {
    const chunks = [];
    req.on("data", (chunk) => chunks.push(chunk));
    req.on("end", () => {
      if (req.method !== "POST" || !req.url.endsWith("/chat/completions")) {
        res.writeHead(404, { "Content-Type": "application/json" }).end(JSON.stringify({ error: { message: "not found", type: "invalid_request_error" } }));
        return;
      }
      let stream = false;
      try {
        stream = JSON.parse(Buffer.concat(chunks).toString("utf8")).stream === true;
      } catch {
        // not JSON: answered as a plain completion
      }
      const id = `chatcmpl-${randomBytes(6).toString("hex")}`;
      const base = { id, created: Math.floor(Date.now() / 1000), model: "stub-model" };
      const usage = { prompt_tokens: 12, completion_tokens: 7, total_tokens: 19 };
      if (!stream) {
        const message = { role: "assistant", content: ANSWER };
        res.writeHead(200, { "Content-Type": "application/json" }).end(JSON.stringify({ ...base, object: "chat.completion", choices: [{ index: 0, message, finish_reason: "stop" }], usage }));
        return;
      }
      const event = (data) => `data: ${JSON.stringify(data)}\n\n`;
      const chunk = (choices, extra = {}) => event({ ...base, object: "chat.completion.chunk", choices, ...extra });
      res.writeHead(200, { "Content-Type": "text/event-stream" });
      res.end(
        chunk([{ index: 0, delta: { role: "assistant", content: ANSWER }, finish_reason: null }]) +
          chunk([{ index: 0, delta: {}, finish_reason: "stop" }]) +
          chunk([], { usage }) +
          "data: [DONE]\n\n",
      );
    });
  });
  return listen(server).then((port) => ({ server, baseUrl: `http://127.0.0.1:${port}/v1` }));
}

async function post(url, body, headers = {}) {
  const res = await fetch(url, { method: "POST", headers: { "Content-Type": "application/json", ...headers }, body: JSON.stringify(body) });
  const json = await res.json();
  if (!res.ok) throw new Error(`POST ${url} answered ${res.status}: ${JSON.stringify(json)}`);
  return json;
}

/** A failed run's FAILURES and ERRORS sections, cut out of its output so they can be repeated where a log's tail keeps them. */
function failureSections(output) {
  const sections = output.split(/^(?==+ [A-Z][A-Z ]* =+$)/m);
  return sections.filter((section) => /^=+ (FAILURES|ERRORS) =+$/m.test(section.split("\n", 1)[0])).join("");
}

/** Runs schemathesis with its output passed through; resolves with its exit code and what it printed. */
function schemathesis(schemaUrl, args) {
  return new Promise((resolve) => {
    const child = spawn(st, ["--config-file", join(root, "scripts", "schemathesis.toml"), "run", schemaUrl, ...args, ...extraArgs], {
      stdio: ["ignore", "pipe", "inherit"],
      env: { ...process.env, SCHEMATHESIS_HOOKS: "schemathesis_hooks", PYTHONPATH: join(root, "scripts"), PYTHONDONTWRITEBYTECODE: "1" },
    });
    let output = "";
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (chunk) => {
      output += chunk;
      process.stdout.write(chunk);
    });
    child.on("close", (code, signal) => resolve({ code: code ?? (signal ? 1 : 0), output }));
  });
}

/** Answers conform to the document, and the document is exact: what it allows is accepted, what it forbids refused. */
const CHECKS = [
  "not_a_server_error",
  "status_code_conformance",
  "content_type_conformance",
  "response_headers_conformance",
  "response_schema_conformance",
  "negative_data_rejection",
  "positive_data_acceptance",
];
// One worker: with two, Hypothesis parses lambda sources from two threads, which CPython before 3.11.8 and
// 3.12.2 can fail ("AST constructor recursion depth mismatch"), and the node shares the same two cores anyway.
const COMMON_ARGS = ["--max-examples", maxExamples, "--workers", "1", "--phases", "examples,coverage,fuzzing", "--generation-database", "none", "--request-timeout", "10", "--no-color"];

async function main() {
  const distNode = join(root, "dist", "node.js");
  if (!existsSync(distNode)) throw new Error("dist/node.js is missing: run `npm run build` first");
  ensureSchemathesis();

  const dir = mkdtempSync(join(tmpdir(), "core-schemathesis-"));
  const stub = await startOpenAiStub();
  const configFile = join(dir, "core.json");
  writeFileSync(configFile, JSON.stringify({ experts: [{ id: "stub", provider: "openai-compatible", model: "stub-model", baseUrl: stub.baseUrl }] }));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;

  const { startNode } = createRequire(import.meta.url)(distNode);
  process.chdir(dir);
  // Only what this run sets: no NATS_URL, REDIS_URL or DATABASE_URL from the caller's environment (embedded: PGlite, in-memory counters).
  const node = await startNode({
    env: { CORE_API_PORT: String(port), CORE_METRICS: "false", CORE_DATA_DIR: join(dir, "data"), CORE_CONFIG: configFile, CORE_LOG_LEVEL: process.env.CORE_LOG_LEVEL ?? "error" },
    command: "schemathesis",
  });
  let failed = false;
  try {
    const email = "schemathesis@core.invalid";
    const password = randomBytes(24).toString("base64url");
    await node.broker.call("auth.createUser", { email, password, role: "admin" });
    const { accessToken } = await post(`${base}/api/v1/auth/login`, { email, password });
    const auth = { Authorization: `Bearer ${accessToken}` };
    // Something to list: a key (GET /keys) and a consultation (GET /consultations, /costs).
    await node.broker.call("auth.createKey", { name: "schemathesis-seed", role: "viewer" });
    await post(`${base}/api/v1/consult`, { question: "What is six times seven?" }, auth);
    log(`node at ${base}, data in ${dir}`);

    const schemaUrl = `${base}/api/openapi.json`;
    log("run 1: as an admin (JWT access token)");
    const asAdmin = await schemathesis(schemaUrl, ["--header", `Authorization: Bearer ${accessToken}`, "--checks", [...CHECKS, "ignored_auth"].join(","), ...COMMON_ARGS, ...reportArgs("admin")]);
    // Without credentials a protected route answers 401 whatever it is sent, so the data checks would say nothing here.
    log("run 2: without credentials (every protected route must answer 401)");
    const anonymous = await schemathesis(schemaUrl, [
      "--checks",
      ["not_a_server_error", "status_code_conformance", "content_type_conformance", "response_headers_conformance", "response_schema_conformance", "anonymous_refused"].join(","),
      ...COMMON_ARGS,
      ...reportArgs("anonymous"),
    ]);
    failed = asAdmin.code !== 0 || anonymous.code !== 0;
    // The admin run's findings would otherwise sit before the whole anonymous run, out of a truncated log's tail.
    for (const [name, result] of [["admin", asAdmin], ["anonymous", anonymous]]) {
      if (result.code !== 0) log(`${name} run findings:\n${failureSections(result.output) || "(no FAILURES or ERRORS section: see the run's output above)"}`);
    }
    log(`admin run exit ${asAdmin.code}, anonymous run exit ${anonymous.code}`);
    if (reportDir) {
      // Whether the node outlived the fuzzing, for the fuzz report.
      const live = await fetch(`${base}/health/live`).then((res) => res.status, (err) => String(err));
      writeFileSync(join(reportDir, "liveness.json"), JSON.stringify({ healthLive: live }));
    }
  } finally {
    await node.stop();
    await new Promise((resolve) => stub.server.close(resolve));
    process.chdir(root);
    rmSync(dir, { recursive: true, force: true });
  }
  log(failed ? "FAILED" : "passed");
  process.exit(failed ? 1 : 0);
}

main().catch((err) => {
  console.error(`schemathesis.mjs: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
