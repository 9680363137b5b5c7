import { mkdirSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { StoreLockedError } from "../errors";

export interface LockOwner {
  pid: number;
  hostname: string;
  command: string;
  nodeId?: string | undefined;
  startedAt: string;
}

export const LOCK_FILE = "core.lock";

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

function readOwner(path: string): LockOwner | undefined {
  try {
    const owner = JSON.parse(readFileSync(path, "utf8")) as Partial<LockOwner>;
    return typeof owner.pid === "number" && typeof owner.hostname === "string" ? (owner as LockOwner) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * PGlite admits one process per data directory, and opening it twice corrupts
 * it. This lock file, created atomically, makes the second process refuse with a
 * message instead. A lock left by a process that no longer runs on this host is
 * taken over.
 */
export class DataDirLock {
  private released = false;
  private readonly onExit = () => this.release();

  private constructor(readonly path: string, readonly owner: LockOwner) {
    process.once("exit", this.onExit);
  }

  static acquire(dataDir: string, owner: Omit<LockOwner, "pid" | "hostname" | "startedAt">): DataDirLock {
    mkdirSync(dataDir, { recursive: true });
    const path = join(dataDir, LOCK_FILE);
    const me: LockOwner = { pid: process.pid, hostname: hostname(), startedAt: new Date().toISOString(), ...owner };
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        writeFileSync(path, JSON.stringify(me), { flag: "wx" });
        return new DataDirLock(path, me);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      }
      const holder = readOwner(path);
      const stale =
        holder === undefined || (holder.hostname === me.hostname && (holder.pid === process.pid || !isAlive(holder.pid)));
      if (!stale) throw lockedError(dataDir, path, holder);
      unlinkSync(path);
    }
    throw lockedError(dataDir, path, readOwner(path));
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    process.removeListener("exit", this.onExit);
    const holder = readOwner(this.path);
    if (holder && holder.pid === this.owner.pid && holder.startedAt === this.owner.startedAt) {
      try {
        unlinkSync(this.path);
      } catch {
        // Already gone: nothing to release.
      }
    }
  }
}

function lockedError(dataDir: string, path: string, holder: LockOwner | undefined): StoreLockedError {
  const who = holder
    ? `process ${holder.pid} on ${holder.hostname} (${holder.command}${holder.nodeId ? `, node ${holder.nodeId}` : ""}, since ${holder.startedAt})`
    : "another process";
  return new StoreLockedError(
    `The embedded database in ${dataDir} is in use by ${who}. PGlite admits one process per data directory, so this ` +
      `process will not open it. Run the command through the running node (it applies migrations itself at start), ` +
      `stop that node first, or set DATABASE_URL to use PostgreSQL. If that process is gone, delete ${path}.`,
    { data: { dataDir, holder } },
  );
}
