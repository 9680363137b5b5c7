import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createConnection, createServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import fc from "fast-check";
import { join } from "node:path";
import {
  ControlClient,
  ControlServer,
  controlSocketPath,
  MAX_SOCKET_PATH_BYTES,
  socketPathProblem,
  type ControlHandler,
  type ControlServerOptions,
} from "../../../../lib/control";
import { ConfigError, ConflictError, DeadlineExceededError, ForbiddenError, NotFoundError, ValidationError } from "../../../../lib/errors";

const ACTIONS = ["auth.createUser", "auth.listKeys", "slow.op"];

let dir: string;
let servers: ControlServer[];
let clients: ControlClient[];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "core-ctl-"));
  servers = [];
  clients = [];
});

afterEach(async () => {
  for (const c of clients) c.close();
  await Promise.all(servers.map((s) => s.close()));
  rmSync(dir, { recursive: true, force: true });
});

async function serve(handle: ControlHandler, options: Partial<ControlServerOptions> = {}): Promise<ControlServer> {
  const server = await ControlServer.listen({ path: controlSocketPath(dir), actions: ACTIONS, handle, ...options });
  servers.push(server);
  return server;
}

async function client(): Promise<ControlClient> {
  const c = await ControlClient.connect(controlSocketPath(dir));
  clients.push(c);
  return c;
}

/** A raw connection: write bytes, read answer lines, see whether the server hung up. */
function raw(path: string): Promise<{ socket: Socket; lines(n: number): Promise<Array<Record<string, unknown>>>; ended: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(path);
    let text = "";
    const waiters: Array<() => void> = [];
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => {
      text += chunk;
      for (const w of waiters.splice(0)) w();
    });
    socket.on("error", () => undefined);
    const ended = new Promise<void>((res) => socket.once("close", () => res()));
    const lines = (n: number) =>
      new Promise<Array<Record<string, unknown>>>((res) => {
        const check = () => {
          const got = text.split("\n").filter(Boolean);
          if (got.length >= n) res(got.slice(0, n).map((l) => JSON.parse(l) as Record<string, unknown>));
          else waiters.push(check);
        };
        check();
      });
    socket.once("connect", () => resolve({ socket, lines, ended }));
    socket.once("error", reject);
  });
}

describe("the control socket", () => {
  it("round trip: an allowed action's result comes back; the socket is 0600 and gone after close", async () => {
    const calls: Array<[string, Record<string, unknown>]> = [];
    const server = await serve(async (action, params) => {
      calls.push([action, params]);
      return { id: "u1", email: params.email };
    });
    expect(statSync(server.path).mode & 0o777).toBe(0o600);
    const c = await client();
    await expect(c.call("auth.createUser", { email: "a@b.c", password: "pw", role: "admin" })).resolves.toEqual({ id: "u1", email: "a@b.c" });
    await expect(c.call("auth.listKeys")).resolves.toEqual({ id: "u1" });
    expect(calls).toEqual([
      ["auth.createUser", { email: "a@b.c", password: "pw", role: "admin" }],
      ["auth.listKeys", {}],
    ]);
    await server.close();
    expect(existsSync(server.path)).toBe(false);
  });

  it("matches answers to requests by id when they finish out of order", async () => {
    await serve(async (_action, params) => {
      await new Promise((r) => setTimeout(r, Number(params.ms)));
      return params.ms;
    });
    const c = await client();
    const [slow, fast] = await Promise.all([c.call("slow.op", { ms: 80 }), c.call("slow.op", { ms: 5 })]);
    expect([slow, fast]).toEqual([80, 5]);
  });

  it("keeps an error's class, code, status and data across the socket; anything else is INTERNAL without its detail", async () => {
    await serve(async (action) => {
      if (action === "auth.createUser") {
        throw new ValidationError("Unknown role x; the configured roles are viewer, operator, admin.", { issues: [{ field: "role", message: "Unknown role x" }] });
      }
      if (action === "auth.listKeys") throw new NotFoundError("No API key has the id k1.", { data: { id: "k1" } });
      throw new Error("secret detail from inside");
    });
    const c = await client();
    const validation = await c.call("auth.createUser").catch((e: unknown) => e);
    expect(validation).toBeInstanceOf(ValidationError);
    expect(validation).toMatchObject({ code: "VALIDATION_FAILED", status: 422, issues: [{ field: "role", message: "Unknown role x" }] });
    const notFound = await c.call("auth.listKeys").catch((e: unknown) => e);
    expect(notFound).toBeInstanceOf(NotFoundError);
    expect(notFound).toMatchObject({ code: "NOT_FOUND", status: 404, data: { id: "k1" }, message: "No API key has the id k1." });
    const internal = (await c.call("slow.op").catch((e: unknown) => e)) as Error;
    expect(internal).toMatchObject({ code: "INTERNAL", status: 500 });
    expect(internal.message).not.toContain("secret detail");
  });

  it("uses the given toError for what the handler throws", async () => {
    await serve(
      async () => {
        throw { type: "SOMETHING" };
      },
      { toError: () => new ConflictError("mapped") },
    );
    await expect((await client()).call("auth.listKeys")).rejects.toMatchObject({ code: "CONFLICT", message: "mapped" });
  });

  it("refuses an action that is not on the allowlist without running anything", async () => {
    const handle = jest.fn(async () => "ran");
    await serve(handle);
    const err = await (await client()).call("supervisor.restart", { name: "x" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ForbiddenError);
    expect((err as Error).message).toBe("The control socket does not offer supervisor.restart; it offers auth.createUser, auth.listKeys, slow.op.");
    expect(handle).not.toHaveBeenCalled();
  });

  it("answers DEADLINE_EXCEEDED when an action runs past the request timeout", async () => {
    await serve(() => new Promise(() => undefined), { requestTimeoutMs: 50 });
    const err = await (await client()).call("slow.op").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeadlineExceededError);
    expect((err as Error).message).toBe("slow.op did not answer within 50 ms.");
  });

  it("answers an oversize request 413 and closes that connection; the server serves the next one", async () => {
    const handle = jest.fn(async () => "ok");
    const server = await serve(handle, { maxRequestBytes: 1024 });
    const conn = await raw(server.path);
    // No newline: the server must not buffer without bound waiting for one.
    conn.socket.write(JSON.stringify({ id: 1, action: "auth.listKeys", params: { pad: "x".repeat(4096) } }));
    const [answer] = await conn.lines(1);
    expect(answer).toMatchObject({ id: null, error: { code: "PAYLOAD_TOO_LARGE", status: 413, data: { limit: 1024 } } });
    await conn.ended;
    expect(handle).not.toHaveBeenCalled();
    await expect((await client()).call("auth.listKeys")).resolves.toBe("ok");
  });

  it("also refuses a complete line over the limit", async () => {
    const server = await serve(async () => "ok", { maxRequestBytes: 100 });
    const conn = await raw(server.path);
    conn.socket.write(`${JSON.stringify({ id: 1, action: "auth.listKeys", params: { pad: "x".repeat(200) } })}\n`);
    expect((await conn.lines(1))[0]).toMatchObject({ id: null, error: { code: "PAYLOAD_TOO_LARGE" } });
    await conn.ended;
  });

  it("never crashes on malformed input: each bad line gets a 400 and the connection goes on", async () => {
    const server = await serve(async () => "ok");
    const conn = await raw(server.path);
    const bad = ["{not json", "[1,2]", "42", JSON.stringify({ action: "auth.listKeys" }), JSON.stringify({ id: 7 }), JSON.stringify({ id: 8, action: "auth.listKeys", params: [1] }), "\u0000\u00ff"];
    conn.socket.write(`${bad.join("\n")}\n\n   \n${JSON.stringify({ id: 9, action: "auth.listKeys" })}\n`);
    const answers = await conn.lines(bad.length + 1);
    expect(answers.slice(0, bad.length).map((a) => [a.id, (a.error as { code: string }).code])).toEqual([
      [null, "BAD_REQUEST"],
      [null, "BAD_REQUEST"],
      [null, "BAD_REQUEST"],
      [null, "BAD_REQUEST"],
      [7, "BAD_REQUEST"],
      [8, "BAD_REQUEST"],
      [null, "BAD_REQUEST"],
    ]);
    expect(answers[bad.length]).toEqual({ id: 9, result: "ok" });
    // A request split across writes is put back together.
    const line = JSON.stringify({ id: "split", action: "auth.listKeys" });
    conn.socket.write(line.slice(0, 10));
    conn.socket.write(`${line.slice(10)}\n`);
    expect((await conn.lines(bad.length + 2))[bad.length + 1]).toEqual({ id: "split", result: "ok" });
    conn.socket.destroy();
  });

  it("any garbage line gets exactly one answer, and the server still serves afterwards (property)", async () => {
    const handle = jest.fn(async () => "ok");
    const server = await serve(handle);
    const garbage = fc.oneof(fc.string({ unit: "binary" }), fc.json()).filter((l) => !l.includes("\n") && l.trim() !== "");
    await fc.assert(
      fc.asyncProperty(fc.array(garbage, { minLength: 1, maxLength: 20 }), async (lines) => {
        const conn = await raw(server.path);
        conn.socket.write(`${lines.join("\n")}\n${JSON.stringify({ id: "last", action: "auth.listKeys" })}\n`);
        const answers = await conn.lines(lines.length + 1);
        conn.socket.destroy();
        expect(answers.slice(0, lines.length).every((a) => "error" in a)).toBe(true);
        expect(answers[lines.length]).toEqual({ id: "last", result: "ok" });
      }),
      { numRuns: 50 },
    );
  });

  it("close waits for an answer in flight, then removes the socket", async () => {
    let release: (v: string) => void = () => undefined;
    const server = await serve(() => new Promise<string>((r) => (release = r)));
    const c = await client();
    const answer = c.call("slow.op");
    await new Promise((r) => setTimeout(r, 20));
    const closed = server.close();
    release("done");
    await expect(answer).resolves.toBe("done");
    await closed;
    expect(existsSync(server.path)).toBe(false);
  });

  it("replaces a stale socket file a crashed process left, and refuses one a live process listens on", async () => {
    const path = controlSocketPath(dir);
    // A socket file nobody listens on: its process was killed, so nothing removed it.
    const crashed = spawn(process.execPath, ["-e", `require("node:net").createServer().listen(${JSON.stringify(path)}, () => console.log("up"))`]);
    await new Promise((r) => crashed.stdout.once("data", r));
    crashed.kill("SIGKILL");
    await new Promise((r) => crashed.once("exit", r));
    expect(statSync(path).isSocket()).toBe(true);
    await serve(async () => "fresh");
    await expect((await client()).call("auth.listKeys")).resolves.toBe("fresh");
    await expect(ControlServer.listen({ path, actions: ACTIONS, handle: async () => "second" })).rejects.toBeInstanceOf(ConflictError);
  });

  it("refuses to replace a file that is not a socket", async () => {
    writeFileSync(controlSocketPath(dir), "not a socket");
    await expect(serve(async () => "x")).rejects.toThrow(/exists and is not a socket/);
  });

  it("tryConnect: undefined when nothing listens; connect: UNAVAILABLE naming the path", async () => {
    const path = controlSocketPath(dir);
    await expect(ControlClient.tryConnect(path)).resolves.toBeUndefined();
    await expect(ControlClient.connect(path)).rejects.toMatchObject({ code: "UNAVAILABLE", data: { reason: "ENOENT" }, message: `No CORE node listens on ${path}.` });
  });

  it("a call pending when the node goes away fails as UNAVAILABLE, not a hang", async () => {
    // A peer that reads the request and then drops the connection, as a crashing node would.
    const path = controlSocketPath(dir);
    const crashing = createServer((socket) => socket.once("data", () => socket.destroy()));
    await new Promise<void>((r) => crashing.listen(path, r));
    try {
      const c = await client();
      await expect(c.call("slow.op")).rejects.toMatchObject({ code: "UNAVAILABLE" });
      await expect(c.call("slow.op")).rejects.toMatchObject({ code: "UNAVAILABLE" });
    } finally {
      await new Promise((r) => crashing.close(r));
    }
  });

  it("says plainly when a data directory is too deep for a socket path", async () => {
    const deep = join(dir, "d".repeat(MAX_SOCKET_PATH_BYTES));
    const path = controlSocketPath(deep);
    expect(socketPathProblem(controlSocketPath(dir))).toBeUndefined();
    expect(socketPathProblem(path)).toMatch(new RegExp(`is ${Buffer.byteLength(path)} bytes long, and a Unix domain socket path may have at most ${MAX_SOCKET_PATH_BYTES} on this system: use a shorter data directory \\(CORE_DATA_DIR\\)`));
    await expect(ControlServer.listen({ path, actions: ACTIONS, handle: async () => "x" })).rejects.toBeInstanceOf(ConfigError);
    await expect(ControlClient.connect(path)).rejects.toBeInstanceOf(ConfigError);
  });
});
