import { CoreProcess } from "../helpers/core-process";
import { freePort } from "../helpers/free-port";
import { testSchema } from "../helpers/pg-schema";
import { NATS_URL } from "../helpers/services";
import { uniqueName } from "../helpers/unique";

const pg = testSchema("deps_down");

afterAll(async () => {
  await CoreProcess.killAll();
  await pg.drop();
});

describe("a node whose Redis is unreachable", () => {
  it("starts, serves, reports itself degraded (not out of rotation), and logs one clear line per retry", async () => {
    const apiPort = await freePort();
    const node = new CoreProcess(["start", "--node-id", "no-redis"], {
      env: {
        NATS_URL,
        REDIS_URL: `redis://127.0.0.1:${await freePort()}`,
        DATABASE_URL: pg.url,
        CORE_DB_SCHEMA: pg.schema,
        CORE_NAMESPACE: uniqueName("deps_down"),
        CORE_API_PORT: String(apiPort),
        CORE_METRICS: "false",
      },
    });
    await node.waitForOutput(/CORE node no-redis started/, 60_000);
    await node.waitForOutput(/Redis at redis:\/\/127\.0\.0\.1:\d+\/? is unreachable \(ECONNREFUSED\); retrying in \d+\.\d s \(attempt 2\)/, 20_000);

    const res = await fetch(`http://127.0.0.1:${apiPort}/health/ready`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      status: "degraded",
      checks: { store: { ok: true }, transporter: { ok: true }, cache: { ok: false, critical: false } },
    });
    expect(node.output).not.toMatch(/\n\s+at /);
    expect(await node.stop("SIGTERM")).toBe(0);
  });
});
