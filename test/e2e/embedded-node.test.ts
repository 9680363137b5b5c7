import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CoreProcess, runCore } from "../helpers/core-process";
import { freePort } from "../helpers/free-port";
import { MIGRATIONS } from "../../lib/store";

const LATEST = MIGRATIONS.length;

/** `core start` with nothing configured but ports: PGlite under ./data of a fresh directory. */
const cwd = mkdtempSync(join(tmpdir(), "core-embedded-"));
let node: CoreProcess;
let api: string;
let metricsPort: number;

beforeAll(async () => {
  const apiPort = await freePort();
  metricsPort = await freePort();
  node = new CoreProcess(["start"], { cwd, env: { CORE_API_PORT: String(apiPort), CORE_METRICS_PORT: String(metricsPort), CORE_NODE_ID: "solo" } });
  const m = await node.waitForOutput(/listening: api (http:\/\/\S+), metrics (http:\/\/\S+)/, 60_000);
  api = m[1]!;
  expect(m[2]).toBe(`http://127.0.0.1:${metricsPort}/metrics`);
});

afterAll(async () => {
  await CoreProcess.killAll();
  rmSync(cwd, { recursive: true, force: true });
});

describe("an embedded node (no NATS, Redis or PostgreSQL)", () => {
  it("prints where it listens and what it runs on", () => {
    expect(api).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(node.output).toContain('CORE node solo started in namespace "core"');
    expect(node.output).toMatch(new RegExp(String.raw`transport: embedded \(no transporter\); cache: memory; store: PGlite .*core-embedded-.*\/data \(schema public\), schema version ${LATEST}`));
  });

  it("answers its health endpoints", async () => {
    const live = await fetch(`${api}/health/live`);
    expect(live.status).toBe(200);
    expect(await live.json()).toMatchObject({ status: "live", nodeID: "solo" });
    const ready = await fetch(`${api}/health/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: "ready", checks: { store: { ok: true }, transporter: { ok: true } } });
  });

  it("answers an unknown route with a JSON 404 and a request id, never a stack trace", async () => {
    const res = await fetch(`${api}/no/such/route`, { headers: { "X-Request-Id": "req-123" } });
    expect(res.status).toBe(404);
    expect(res.headers.get("x-request-id")).toBe("req-123");
    const body = (await res.json()) as { error: Record<string, unknown> };
    expect(body).toEqual({ error: { code: "NOT_FOUND", message: expect.any(String), requestId: "req-123" } });
  });

  it("serves Prometheus metrics", async () => {
    const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    expect(text).toMatch(/^moleculer_node_type\{.*nodeID="solo".*\} 1$/m);
  });

  it("refuses a second process on its data directory, saying what to do", async () => {
    const { code, output } = await runCore(["migrate"], { cwd });
    expect(code).toBe(1);
    expect(output).toMatch(/in use by process \d+ .*core start, node solo/);
    expect(output).toMatch(/Run the command through the running node/);
    expect(output).toContain("[STORE_LOCKED]");
    expect(output).not.toMatch(/\n\s+at /);
  });

  it("stops on SIGINT with exit code 0, after which the directory is free again", async () => {
    expect(await node.stop("SIGINT")).toBe(0);
    expect(node.output).toMatch(/Received SIGINT: draining in-flight calls/);
    expect(node.output).toContain("CORE node stopped");
    const { code, output } = await runCore(["migrate"], { cwd });
    expect(output).toMatch(`schema version ${LATEST} -> ${LATEST}; nothing to apply`);
    expect(code).toBe(0);
  });
});
