import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { freePort } from "./mcp-bench-support";

/**
 * The servers of `npm run chaos`, each a process of the suite's own on a free
 * port of 127.0.0.1, so that it can be stopped and started again without
 * touching the machine's shared NATS, Redis and PostgreSQL: nats-server with
 * JetStream (its store directory kept across restarts), redis-server (no
 * persistence: Redis holds only the cache, rate-limit buckets and leases) and
 * PostgreSQL from the installed server binaries (initdb into a temporary
 * directory, trust auth). Benchmarks may not import test/, so this repeats the
 * little of test/helpers/nats-server.ts it needs.
 */

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: "127.0.0.1" });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

async function waitForPort(port: number, what: string, proc: ChildProcess, output: () => string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await portOpen(port))) {
    if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`${what} exited (${proc.exitCode ?? proc.signalCode}) before listening on ${port}:\n${output().slice(-3000)}`);
    if (Date.now() > deadline) throw new Error(`${what} did not listen on ${port} within ${timeoutMs} ms:\n${output().slice(-3000)}`);
    await sleep(100);
  }
}

function firstExisting(what: string, candidates: Array<string | undefined>, hint: string): string {
  const found = candidates.find((p): p is string => !!p && existsSync(p));
  if (!found) throw new Error(`${what} is not installed: ${hint}`);
  return found;
}

/** One server process that the suite starts, kills and starts again on the same port. */
abstract class PrivateServer {
  private proc: ChildProcess | undefined;
  private out = "";

  protected constructor(
    readonly name: string,
    readonly port: number,
  ) {}

  abstract get url(): string;
  protected abstract command(): { bin: string; args: string[]; uid?: number; gid?: number };
  /** Extra readiness beyond an open port (PostgreSQL accepts connections before it accepts logins). */
  protected async ready(): Promise<void> {}

  get running(): boolean {
    return this.proc !== undefined && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  get output(): string {
    return this.out;
  }

  async start(): Promise<void> {
    if (this.running) return;
    const { bin, args, uid, gid } = this.command();
    const proc = spawn(bin, args, { stdio: ["ignore", "pipe", "pipe"], uid, gid });
    const keep = (chunk: Buffer) => {
      this.out += chunk.toString();
      if (this.out.length > 200_000) this.out = this.out.slice(-100_000);
    };
    proc.stdout!.on("data", keep);
    proc.stderr!.on("data", keep);
    this.proc = proc;
    await waitForPort(this.port, this.name, proc, () => this.out);
    await this.ready();
  }

  /** Stops the server with `signal` (SIGKILL unless said otherwise: a crash, not a shutdown). */
  async stop(signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    const proc = this.proc;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
    proc.kill(signal);
    const timer = setTimeout(() => proc.kill("SIGKILL"), 10_000);
    await exited;
    clearTimeout(timer);
    this.proc = undefined;
  }

  /** Down for `downMs`, then up again; resolves once it accepts connections. */
  async restart(downMs: number, signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    await this.stop(signal);
    await sleep(downMs);
    await this.start();
  }

  abstract dispose(): Promise<void>;
}

export class ChaosNats extends PrivateServer {
  private readonly storeDir = mkdtempSync(join(tmpdir(), "core-chaos-nats-"));

  private constructor(port: number) {
    super("nats-server", port);
  }

  static async start(): Promise<ChaosNats> {
    const s = new ChaosNats(await freePort());
    await s.start();
    return s;
  }

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  protected command() {
    const bin = firstExisting("nats-server", [process.env.NATS_SERVER_BIN, "/usr/sbin/nats-server", "/usr/bin/nats-server", "/usr/local/bin/nats-server"], "`apt-get install nats-server` or set NATS_SERVER_BIN");
    // JetStream keeps its store across restarts: the jobs stream and its consumer outlive a crash of the server, as on a real disk.
    return { bin, args: ["-a", "127.0.0.1", "-p", String(this.port), "-js", "-sd", this.storeDir] };
  }

  async dispose(): Promise<void> {
    await this.stop("SIGTERM");
    rmSync(this.storeDir, { recursive: true, force: true });
  }
}

export class ChaosRedis extends PrivateServer {
  private constructor(port: number) {
    super("redis-server", port);
  }

  static async start(): Promise<ChaosRedis> {
    const s = new ChaosRedis(await freePort());
    await s.start();
    return s;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  protected command() {
    const bin = firstExisting("redis-server", [process.env.REDIS_SERVER_BIN, "/usr/bin/redis-server", "/usr/local/bin/redis-server"], "`apt-get install redis-server` or set REDIS_SERVER_BIN");
    return { bin, args: ["--port", String(this.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no"] };
  }

  async dispose(): Promise<void> {
    await this.stop("SIGTERM");
  }
}

/** The newest installed PostgreSQL's bin directory (Debian's /usr/lib/postgresql/<major>/bin), or PG_BIN_DIR. */
function postgresBinDir(): string {
  if (process.env.PG_BIN_DIR) return process.env.PG_BIN_DIR;
  const root = "/usr/lib/postgresql";
  const majors = existsSync(root) ? readdirSync(root).filter((d) => existsSync(join(root, d, "bin", "initdb"))) : [];
  majors.sort((a, b) => Number(b) - Number(a));
  if (majors.length === 0) throw new Error("PostgreSQL's server binaries were not found under /usr/lib/postgresql/<major>/bin: install postgresql or set PG_BIN_DIR");
  return join(root, majors[0]!, "bin");
}

/** initdb and postgres refuse to run as root: as root, the cluster belongs to the `postgres` user. */
function postgresOwner(): { uid: number; gid: number } | undefined {
  if (userInfo().uid !== 0) return undefined;
  const id = (flag: string) => Number(spawnSync("id", [flag, "postgres"], { encoding: "utf8" }).stdout.trim());
  const uid = id("-u");
  const gid = id("-g");
  if (!Number.isInteger(uid) || uid <= 0) throw new Error("running as root, and there is no `postgres` user to own the private PostgreSQL cluster");
  return { uid, gid };
}

export class ChaosPostgres extends PrivateServer {
  private readonly dir = mkdtempSync(join(tmpdir(), "core-chaos-pg-"));
  private readonly bin = postgresBinDir();
  private readonly owner = postgresOwner();

  private constructor(port: number) {
    super("postgres", port);
  }

  static async start(): Promise<ChaosPostgres> {
    const s = new ChaosPostgres(await freePort());
    s.initdb();
    await s.start();
    return s;
  }

  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  private get dataDir(): string {
    return join(this.dir, "data");
  }

  private initdb(): void {
    if (this.owner) chownSync(this.dir, this.owner.uid, this.owner.gid);
    const r = spawnSync(join(this.bin, "initdb"), ["-D", this.dataDir, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"], {
      encoding: "utf8",
      uid: this.owner?.uid,
      gid: this.owner?.gid,
    });
    if (r.status !== 0) throw new Error(`initdb failed (${r.status}):\n${r.stdout}${r.stderr}`);
  }

  protected command() {
    // Enough connections for three nodes' pools and the suite's checks; the socket directory is the cluster's own.
    return {
      bin: join(this.bin, "postgres"),
      args: ["-D", this.dataDir, "-p", String(this.port), "-h", "127.0.0.1", "-k", this.dir, "-c", "max_connections=200", "-c", "fsync=on"],
      uid: this.owner?.uid,
      gid: this.owner?.gid,
    };
  }

  protected override async ready(): Promise<void> {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const r = spawnSync(join(this.bin, "pg_isready"), ["-h", "127.0.0.1", "-p", String(this.port), "-U", "postgres"], { encoding: "utf8" });
      if (r.status === 0) return;
      if (Date.now() > deadline) throw new Error(`PostgreSQL on ${this.port} not ready within 60 s: ${r.stdout}${this.output.slice(-2000)}`);
      await sleep(200);
    }
  }

  async dispose(): Promise<void> {
    await this.stop("SIGINT"); // fast shutdown
    rmSync(this.dir, { recursive: true, force: true });
  }
}
