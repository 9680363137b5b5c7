import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./free-port";
import { waitFor } from "./wait";

const CANDIDATES = [process.env.NATS_SERVER_BIN, "/usr/sbin/nats-server", "/usr/bin/nats-server", "/usr/local/bin/nats-server"];

function natsServerBin(): string {
  const found = CANDIDATES.find((p): p is string => !!p && existsSync(p));
  if (!found) {
    throw new Error("nats-server is not installed: `apt-get install nats-server` (or set NATS_SERVER_BIN)");
  }
  return found;
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: "127.0.0.1" });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

/**
 * A nats-server of a test's own, on a free port, for tests that stop or
 * restart NATS. The machine's shared server is never touched.
 */
export class PrivateNats {
  private proc: ChildProcess | undefined;
  private readonly storeDir = mkdtempSync(join(tmpdir(), "core-nats-"));

  private constructor(readonly port: number, private readonly jetstream: boolean) {}

  /** Reserves a port without starting the server (a node can be pointed at it while it is down). */
  static async reserve(options: { jetstream?: boolean } = {}): Promise<PrivateNats> {
    return new PrivateNats(await freePort(), options.jetstream ?? true);
  }

  static async start(options: { jetstream?: boolean } = {}): Promise<PrivateNats> {
    const nats = await PrivateNats.reserve(options);
    await nats.start();
    return nats;
  }

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.proc !== undefined && this.proc.exitCode === null;
  }

  async start(): Promise<void> {
    if (this.running) return;
    const js = this.jetstream ? ["-js", "-sd", this.storeDir] : [];
    this.proc = spawn(natsServerBin(), ["-a", "127.0.0.1", "-p", String(this.port), ...js], { stdio: "ignore" });
    await waitFor(() => portOpen(this.port), 10_000, `nats-server on port ${this.port}`);
  }

  async stop(): Promise<void> {
    const proc = this.proc;
    if (!proc || proc.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
    proc.kill("SIGTERM");
    const timer = setTimeout(() => proc.kill("SIGKILL"), 5_000);
    await exited;
    clearTimeout(timer);
    this.proc = undefined;
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.storeDir, { recursive: true, force: true });
  }
}
