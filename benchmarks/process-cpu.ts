import { readFileSync } from "node:fs";

/** /proc/<pid>/stat counts CPU time in USER_HZ ticks (100 a second on Linux, whatever the kernel's HZ). */
const CLOCK_TICKS_PER_SEC = 100;

/** A process's CPU time in µs (utime + stime, all its threads) from /proc/<pid>/stat, in 10 ms steps; undefined off Linux or for no pid. */
export function cpuTimeUs(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The fields after the command name, which is in parentheses and may hold spaces.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return ((Number(fields[11]) + Number(fields[12])) * 1e6) / CLOCK_TICKS_PER_SEC;
  } catch {
    return undefined;
  }
}
