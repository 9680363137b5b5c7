import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { StoreLockedError } from "../../../../lib/errors";
import { DataDirLock, LOCK_FILE } from "../../../../lib/store/data-dir-lock";

const dir = () => mkdtempSync(join(tmpdir(), "core-lock-"));

/** A pid that is certainly not running: a child that has already exited. */
function deadPid(): number {
  return spawnSync(process.execPath, ["-e", "process.pid"]).pid!;
}

describe("DataDirLock", () => {
  it("lets one holder in and refuses a second with a message that says what to do", () => {
    const d = dir();
    const lock = DataDirLock.acquire(d, { command: "core start", nodeId: "n1" });
    let err: unknown;
    // A different live process holds it: pretend by rewriting the owner pid to our parent's.
    writeFileSync(join(d, LOCK_FILE), JSON.stringify({ ...lock.owner, pid: process.ppid }));
    try {
      DataDirLock.acquire(d, { command: "core migrate" });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(StoreLockedError);
    const message = (err as StoreLockedError).message;
    expect(message).toContain(`process ${process.ppid}`);
    expect(message).toContain("core start, node n1");
    expect(message).toMatch(/Run the command through the running node/);
    expect(message).toMatch(/DATABASE_URL/);
    expect((err as StoreLockedError).code).toBe("STORE_LOCKED");
  });

  it("takes over a lock whose process is gone", () => {
    const d = dir();
    writeFileSync(join(d, LOCK_FILE), JSON.stringify({ pid: deadPid(), hostname: hostname(), command: "core start", startedAt: "then" }));
    const lock = DataDirLock.acquire(d, { command: "core migrate" });
    expect(JSON.parse(readFileSync(join(d, LOCK_FILE), "utf8")).pid).toBe(process.pid);
    lock.release();
    expect(existsSync(join(d, LOCK_FILE))).toBe(false);
  });

  it("takes over an unreadable lock file", () => {
    const d = dir();
    writeFileSync(join(d, LOCK_FILE), "garbage");
    DataDirLock.acquire(d, { command: "x" }).release();
  });

  it("refuses a lock held from another host (its pid cannot be checked)", () => {
    const d = dir();
    writeFileSync(join(d, LOCK_FILE), JSON.stringify({ pid: 1, hostname: "elsewhere", command: "core start", startedAt: "then" }));
    expect(() => DataDirLock.acquire(d, { command: "x" })).toThrow(StoreLockedError);
  });

  it("release leaves a lock alone that another process took over", () => {
    const d = dir();
    const lock = DataDirLock.acquire(d, { command: "x" });
    const other = { ...lock.owner, pid: process.ppid, startedAt: "later" };
    writeFileSync(join(d, LOCK_FILE), JSON.stringify(other));
    lock.release();
    expect(JSON.parse(readFileSync(join(d, LOCK_FILE), "utf8"))).toEqual(other);
  });
});
