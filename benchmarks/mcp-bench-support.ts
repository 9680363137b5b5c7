import Redis from "ioredis";
import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";

/**
 * What benchmarks/mcp needs around its measurements: child processes that
 * announce themselves with a line, their CPU time, quantiles, and cleaning
 * up Redis and PostgreSQL afterwards.
 */

/** The wall clock in ms with sub-millisecond precision, comparable across the processes of one machine. */
export const wallClockMs = (): number => performance.timeOrigin + performance.now();


/** The q-quantile of ascending `sorted` (nearest rank below). */
export const quantile = (sorted: readonly number[], q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))]!;

/** A port of 127.0.0.1 free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Spawns `node <args>` and resolves once its output (stdout and stderr)
 * matches `ready`; afterwards its output goes on to this process's stderr
 * when `echo` is set, and is drained otherwise.
 */
export function startChild(
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; ready: RegExp; name: string; echo?: boolean; timeoutMs?: number },
): Promise<{ child: ChildProcess; match: RegExpExecArray }> {
  const child = spawn(process.execPath, args, { env: options.env ?? process.env, stdio: ["ignore", "pipe", "pipe"] });
  return new Promise((resolve, reject) => {
    let out = "";
    let started = false;
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${options.name} did not start within ${(options.timeoutMs ?? 60_000) / 1000} s:\n${out}`));
    }, options.timeoutMs ?? 60_000);
    const onData = (chunk: Buffer) => {
      if (started) {
        if (options.echo) process.stderr.write(chunk);
        return;
      }
      out += chunk.toString();
      const m = options.ready.exec(out);
      if (!m) return;
      started = true;
      clearTimeout(timer);
      if (options.echo) process.stderr.write(out.replace(m[0], "").replace(/^\n+/, ""));
      resolve({ child, match: m });
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      if (!started) reject(new Error(`${options.name} exited (${code ?? signal}) before it was ready:\n${out}`));
    });
  });
}

/** SIGTERM, then waits for the exit (SIGKILL after `graceMs`). */
export async function stopChild(child: ChildProcess, graceMs = 20_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
  await exited;
  clearTimeout(timer);
}

/** Every key under `prefix`, with the token count (`t`) of those that are rate-limit buckets (`…:rl:…`). */
export async function rateLimitBuckets(url: string, prefix: string): Promise<Map<string, number>> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  const buckets = new Map<string, number>();
  try {
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}:rl:*`, "COUNT", 500);
      cursor = next;
      for (const key of keys) buckets.set(key.slice(prefix.length + 1), Number(await redis.hget(key, "t")));
    } while (cursor !== "0");
  } finally {
    redis.disconnect();
  }
  return buckets;
}

