import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "pg";
import { startClusterNode } from "../helpers/cluster-node";
import { CoreProcess } from "../helpers/core-process";
import { freePort } from "../helpers/free-port";
import { testSchema } from "../helpers/pg-schema";
import { NATS_URL } from "../helpers/services";
import { uniqueName } from "../helpers/unique";

/**
 * `core users create`, `core keys create|list|revoke` and `core audit verify`
 * as an operator runs them: through a running embedded node (never opening
 * its data directory a second time), in their own process when no node runs,
 * and through a cluster over NATS.
 */

const PASSWORD = "correct horse battery staple";
const cwds: string[] = [];

/** Runs `core ARGS` to its end, with `stdin` written to it (and closed). */
async function core(args: string[], options: { cwd?: string; env?: Record<string, string>; stdin?: string } = {}): Promise<{ code: number | null; output: string; stdout: string }> {
  const p = new CoreProcess(args, { cwd: options.cwd, env: options.env, stdin: "pipe" });
  p.proc.stdin!.on("error", () => undefined);
  p.proc.stdin!.end(options.stdin ?? "");
  const code = await p.wait(60_000);
  return { code, output: p.output, stdout: p.stdout };
}

function tempDir(tag: string): string {
  const dir = mkdtempSync(join(tmpdir(), `core-admin-${tag}-`));
  cwds.push(dir);
  return dir;
}

async function startEmbedded(cwd: string, nodeId: string): Promise<{ node: CoreProcess; api: string }> {
  const node = new CoreProcess(["start"], { cwd, env: { CORE_API_PORT: String(await freePort()), CORE_METRICS: "false", CORE_NODE_ID: nodeId } });
  const m = await node.waitForOutput(/listening: api (http:\/\/\S+)/, 60_000);
  return { node, api: m[1]! };
}

async function login(api: string, email: string, password: string): Promise<Response> {
  return fetch(`${api}/api/v1/auth/login`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ email, password }) });
}

afterAll(async () => {
  await CoreProcess.killAll();
  for (const dir of cwds) rmSync(dir, { recursive: true, force: true });
});

describe("admin commands against a running embedded node", () => {
  let cwd: string;
  let node: CoreProcess;
  let api: string;
  let keyId: string;
  let key: string;

  beforeAll(async () => {
    cwd = tempDir("embedded");
    ({ node, api } = await startEmbedded(cwd, "solo"));
  });

  it("the node offers a control socket only its own user may use", () => {
    const socket = join(cwd, "data", "core.sock");
    expect(node.output).toContain(`Admin commands (core users, core keys, core audit) reach this node through ${socket}`);
    expect(statSync(socket).isSocket()).toBe(true);
    expect(statSync(socket).mode & 0o777).toBe(0o600);
  });

  it("core users create goes through the node (no second opening of PGlite), and the password logs in over HTTP", async () => {
    const r = await core(["users", "create", "--email", "a@b.c", "--role", "admin"], { cwd, stdin: `${PASSWORD}\n` });
    expect({ code: r.code, output: r.output }).toMatchObject({ code: 0 });
    expect(r.stdout).toMatch(/^Created user a@b\.c \(id [0-9a-f-]{36}, role admin\)$/m);
    expect(r.output).not.toContain("STORE_LOCKED");
    expect(node.output).toContain("Admin command through the control socket: auth.createUser");
    // The password went over the socket, never into the node's log.
    expect(node.output).not.toContain(PASSWORD);

    const ok = await login(api, "a@b.c", PASSWORD);
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ accessToken: expect.any(String), tokenType: "Bearer" });
    expect((await login(api, "a@b.c", "not the password at all")).status).toBe(401);
  });

  it("core keys create --json prints the key once; it works on /api/v1/auth/me", async () => {
    const r = await core(["keys", "create", "--name", "ci", "--role", "viewer", "--json"], { cwd });
    expect({ code: r.code, output: r.output }).toMatchObject({ code: 0 });
    const created = JSON.parse(r.stdout) as { id: string; key: string; name: string; role: string };
    expect(created).toMatchObject({ name: "ci", role: "viewer", key: expect.stringMatching(/^core_[0-9a-f]{16}_/) });
    ({ id: keyId, key } = created);
    const me = await fetch(`${api}/api/v1/auth/me`, { headers: { "X-Api-Key": key } });
    expect(me.status).toBe(200);
    expect(await me.json()).toMatchObject({ id: keyId, kind: "key", roles: ["viewer"] });
  });

  it("core keys create (text) says the key will not be shown again; core keys list never shows a key", async () => {
    const r = await core(["keys", "create", "--name", "nightly", "--role", "operator", "--scopes", "consult:run", "--expires", "30d"], { cwd });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Created API key [0-9a-f]{16} "nightly" \(role operator, scopes consult:run; expires \d{4}-\d\d-\d\dT[\d:.]+Z\):\ncore_[0-9a-f]{16}_\S+\nStore it now: it will not be shown again/);
    const list = await core(["keys", "list"], { cwd });
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(new RegExp(`│ ${keyId} │ ci +│ viewer +│ - +│ .*│ never +│ \\S+ \\S+ +│ active`));
    expect(list.stdout).toMatch(/│ nightly │ operator │ consult:run │/);
    expect(list.stdout).not.toContain("core_");
  });

  it("core keys revoke ID: the key gets 401 at once", async () => {
    const r = await core(["keys", "revoke", keyId], { cwd });
    expect({ code: r.code, output: r.output }).toMatchObject({ code: 0 });
    expect(r.stdout).toMatch(new RegExp(`^Revoked API key ${keyId} "ci" \\(role viewer\\) at \\d{4}-`));
    const me = await fetch(`${api}/api/v1/auth/me`, { headers: { "X-Api-Key": key } });
    expect(me.status).toBe(401);
    const list = await core(["keys", "list", "--json"], { cwd });
    expect((JSON.parse(list.stdout) as Array<{ id: string; revokedAt?: string }>).find((k) => k.id === keyId)).toMatchObject({ revokedAt: expect.any(String) });
  });

  it("core audit verify: intact, naming its rows and the last hash", async () => {
    const r = await core(["audit", "verify"], { cwd });
    expect({ code: r.code, output: r.output }).toMatchObject({ code: 0 });
    // users.create, two keys.create, keys.revoke, and the logins over HTTP.
    expect(r.stdout).toMatch(/^audit log intact: (\d+) rows; last row seq \1, hash [0-9a-f]{64}$/m);
    expect(node.output).toContain("Admin command through the control socket: audit.verify");
  });

  it("bad input: an unknown role exits 1 naming the configured roles; no password on stdin and usage errors exit 2", async () => {
    const role = await core(["users", "create", "--email", "b@b.c", "--role", "boss"], { cwd, stdin: `${PASSWORD}\n` });
    expect(role.code).toBe(1);
    expect(role.output).toMatch(/core users create: Unknown role boss; the configured roles are viewer, operator, admin\. \[VALIDATION_FAILED\]/);

    const empty = await core(["users", "create", "--email", "b@b.c", "--role", "viewer"], { cwd, stdin: "" });
    expect(empty.code).toBe(2);
    expect(empty.output).toMatch(/core users create: No password on stdin: type it at a terminal, or pipe it in as the first line/);

    const short = await core(["users", "create", "--email", "b@b.c", "--role", "viewer"], { cwd, stdin: "short\n" });
    expect(short.code).toBe(1);
    expect(short.output).toMatch(/The password must be at least \d+ characters long/);

    const noEmail = await core(["users", "create", "--role", "admin"], { cwd, stdin: `${PASSWORD}\n` });
    expect(noEmail.code).toBe(2);
    expect(noEmail.output).toContain("error: required option '--email <email>' not specified");

    const badExpiry = await core(["keys", "create", "--name", "x", "--role", "viewer", "--expires", "soon"], { cwd });
    expect(badExpiry.code).toBe(2);
    expect(badExpiry.output).toMatch(/expected a duration such as 30m, 12h, 90d or 1w/);

    const unknownKey = await core(["keys", "revoke", "0000000000000000"], { cwd });
    expect(unknownKey.code).toBe(1);
    expect(unknownKey.output).toContain("core keys revoke: No API key has the id 0000000000000000. [NOT_FOUND]");
    for (const r of [role, empty, short, noEmail, badExpiry, unknownKey]) expect(r.output).not.toMatch(/\n\s+at /);
  });

  it("the socket goes with the node: after SIGINT it is removed", async () => {
    expect(await node.stop("SIGINT")).toBe(0);
    expect(existsSync(join(cwd, "data", "core.sock"))).toBe(false);
  });
});

describe("admin commands with no node running", () => {
  it("run the services in their own process; a later core start sees what they did", async () => {
    const cwd = tempDir("alone");
    const r = await core(["users", "create", "--email", "solo@b.c", "--role", "operator"], { cwd, stdin: `${PASSWORD}\n` });
    expect({ code: r.code, output: r.output }).toMatchObject({ code: 0 });
    expect(r.stdout).toMatch(/^Created user solo@b\.c \(id [0-9a-f-]{36}, role operator\)$/m);
    // The command let go of the directory.
    expect(existsSync(join(cwd, "data", "core.lock"))).toBe(false);
    expect(existsSync(join(cwd, "data", "core.sock"))).toBe(false);

    const { node, api } = await startEmbedded(cwd, "later");
    expect((await login(api, "solo@b.c", PASSWORD)).status).toBe(200);
    const verify = await core(["audit", "verify"], { cwd });
    expect(verify.stdout).toMatch(/^audit log intact: 2 rows; last row seq 2, hash [0-9a-f]{64}$/m);
    expect(await node.stop("SIGINT")).toBe(0);
  });
});

describe("admin commands through a cluster (NATS + PostgreSQL)", () => {
  const namespace = uniqueName("admin_cli");
  const pg = testSchema("admin_cli");
  const env = { NATS_URL, CORE_NAMESPACE: namespace, DATABASE_URL: pg.url, CORE_DB_SCHEMA: pg.schema };
  let server: CoreProcess;

  beforeAll(async () => {
    server = await startClusterNode("admin-server", "auth,audit", { namespace, pg });
  });

  afterAll(async () => {
    await server?.stop();
    await pg.drop();
  });

  it("create a user and a key, verify the audit log; one changed row makes verify fail naming its seq", async () => {
    const user = await core(["users", "create", "--email", "ops@b.c", "--role", "operator"], { env, stdin: `${PASSWORD}\n` });
    expect({ code: user.code, output: user.output }).toMatchObject({ code: 0 });
    const key = await core(["keys", "create", "--name", "deploy", "--role", "viewer", "--json"], { env });
    expect({ code: key.code, output: key.output }).toMatchObject({ code: 0 });
    expect(JSON.parse(key.stdout)).toMatchObject({ name: "deploy", key: expect.stringMatching(/^core_/) });

    const intact = await core(["audit", "verify"], { env });
    expect({ code: intact.code, output: intact.output }).toMatchObject({ code: 0 });
    expect(intact.stdout).toMatch(/^audit log intact: 2 rows; last row seq 2, hash [0-9a-f]{64}$/m);

    const db = new Client({ connectionString: pg.url });
    await db.connect();
    try {
      const table = `"${pg.schema}".audit_log`;
      const { rows } = await db.query<{ source: string; action: string }>(`SELECT source, action FROM ${table} ORDER BY seq`);
      expect(rows).toEqual([
        { source: "cli", action: "users.create" },
        { source: "cli", action: "keys.create" },
      ]);
      await db.query(`ALTER TABLE ${table} DISABLE TRIGGER USER`);
      await db.query(`UPDATE ${table} SET outcome = 'denied' WHERE seq = 1`);
      await db.query(`ALTER TABLE ${table} ENABLE TRIGGER USER`);
    } finally {
      await db.end();
    }
    const broken = await core(["audit", "verify"], { env });
    expect(broken.code).toBe(1);
    expect(broken.stdout).toMatch(/^audit log broken at row seq 1: row 1 was changed after it was written \(its content does not match its hash\)/m);
  });

  it("with no node running the service, says so after a while and how to start one", async () => {
    const r = await core(["keys", "list"], { env: { ...env, CORE_NAMESPACE: uniqueName("admin_none") } });
    expect(r.code).toBe(1);
    expect(r.output).toContain("core keys list: No node of the cluster runs the auth service (waited 10 s): start one with `core start`. [UNAVAILABLE]");
  });
});
