import { spawn, type ChildProcess } from "node:child_process";
import { join, resolve } from "node:path";

const ROOT = resolve(__dirname, "../..");
/** The Node 24 binary from the `node` devDependency, as npm scripts use. */
export const NODE_BIN = join(ROOT, "node_modules/.bin/node");
export const CORE_BIN = join(ROOT, "dist/bin/core.js");

export interface CoreProcessOptions {
  env?: Record<string, string | undefined>;
  cwd?: string;
  stdin?: "pipe" | "ignore";
}

const running = new Set<CoreProcess>();

/**
 * A real `core` process (the built dist/bin/core.js), with its output
 * collected so a test can wait for a line and read what it printed.
 */
export class CoreProcess {
  readonly proc: ChildProcess;
  private out = "";
  private stdoutOnly = "";
  private readonly exited: Promise<number | null>;

  constructor(args: string[], options: CoreProcessOptions = {}) {
    // Keep the parent's PATH and HOME, but none of its CORE_* or service URLs: each test says what it uses.
    const base: Record<string, string | undefined> = { PATH: process.env.PATH, HOME: process.env.HOME, CORE_LOG_FORMAT: "short" };
    this.proc = spawn(NODE_BIN, [CORE_BIN, ...args], {
      cwd: options.cwd ?? ROOT,
      env: { ...base, ...options.env } as NodeJS.ProcessEnv,
      stdio: [options.stdin ?? "ignore", "pipe", "pipe"],
    });
    this.proc.stdout!.on("data", (chunk: Buffer) => {
      this.out += chunk.toString();
      this.stdoutOnly += chunk.toString();
    });
    this.proc.stderr!.on("data", (chunk: Buffer) => (this.out += chunk.toString()));
    this.exited = new Promise((res) => this.proc.once("exit", (code, signal) => res(code ?? (signal ? 128 : null))));
    running.add(this);
    void this.exited.then(() => running.delete(this));
  }

  /** stdout and stderr, interleaved as they arrived. */
  get output(): string {
    return this.out;
  }

  /** stdout alone (what a command prints as its result). */
  get stdout(): string {
    return this.stdoutOnly;
  }

  get exitCode(): number | null {
    return this.proc.exitCode;
  }

  /** Resolves with the output once it matches, or rejects (with the output) on timeout or exit. */
  waitForOutput(pattern: RegExp, timeoutMs = 30_000): Promise<RegExpMatchArray> {
    return new Promise((resolvePromise, reject) => {
      const check = () => {
        const m = this.out.match(pattern);
        if (m) {
          cleanup();
          resolvePromise(m);
        }
      };
      const onExit = () => {
        setImmediate(() => {
          const m = this.out.match(pattern);
          cleanup();
          if (m) resolvePromise(m);
          else reject(new Error(`core exited (${this.proc.exitCode}) before printing ${pattern}:\n${this.out}`));
        });
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${pattern}; output so far:\n${this.out}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.proc.stdout!.off("data", check);
        this.proc.stderr!.off("data", check);
        this.proc.off("exit", onExit);
      };
      this.proc.stdout!.on("data", check);
      this.proc.stderr!.on("data", check);
      this.proc.once("exit", onExit);
      check();
    });
  }

  /** Resolves with the exit code. */
  wait(timeoutMs = 30_000): Promise<number | null> {
    let timer: NodeJS.Timeout;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`core did not exit within ${timeoutMs} ms; output:\n${this.out}`)), timeoutMs);
    });
    return Promise.race([this.exited, timeout]).finally(() => clearTimeout(timer));
  }

  /** Sends `signal` and resolves with the exit code. */
  async stop(signal: NodeJS.Signals = "SIGINT", timeoutMs = 30_000): Promise<number | null> {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill(signal);
    return this.wait(timeoutMs);
  }

  /** Kills every process a test file spawned and did not stop (call from afterAll). */
  static async killAll(): Promise<void> {
    await Promise.all([...running].map((p) => p.stop("SIGKILL", 5_000).catch(() => undefined)));
  }
}

/** Runs a short `core` command to completion. */
export async function runCore(args: string[], options: CoreProcessOptions = {}, timeoutMs = 60_000): Promise<{ code: number | null; output: string; stdout: string }> {
  const p = new CoreProcess(args, options);
  const code = await p.wait(timeoutMs);
  return { code, output: p.output, stdout: p.stdout };
}
