import { readFileSync } from "node:fs";
import { relative } from "node:path";
import { packageInfo } from "../lib/package-info";

/**
 * Where a `node --cpu-prof` profile's time went, for reading a benchmark's
 * server (benchmarks/gateway with X_PROFILE=core):
 *
 *   node dist/benchmarks/cpu-profile.js <file.cpuprofile> [top=25] [filter] [requests]
 *
 * prints the share of busy (non-idle) time per area (CORE's own code, each
 * npm package, Node's internals, the garbage collector), the functions with
 * the most self time, and, for the functions whose name or file contains
 * `filter` (a regular expression), their total time (self + everything they
 * call). Given the number of requests the profiled process answered, each
 * share is also shown as µs per request.
 */

export interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

export interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** The area a frame belongs to: an npm package, CORE's own file, Node's internals, or V8's pseudo-frames. */
function areaOf(url: string, functionName: string, root: string): string {
  if (!url) return functionName.startsWith("(") ? functionName : "(native)";
  const path = url.replace(/^file:\/\//, "");
  const nm = path.lastIndexOf("/node_modules/");
  if (nm >= 0) {
    const parts = path.slice(nm + "/node_modules/".length).split("/");
    return parts[0]!.startsWith("@") ? `${parts[0]}/${parts[1]}` : parts[0]!;
  }
  if (path.startsWith("node:")) return "node: internals";
  if (path.startsWith(root)) return `core: ${relative(root, path).replace(/^dist\//, "").split("/").slice(0, 2).join("/")}`;
  return path;
}

export function summarize(profile: CpuProfile, root: string, top: number, filter: string | undefined, requests?: number): string {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const total = [...selfUs.values()].reduce((a, b) => a + b, 0);
  const idle = [...selfUs].filter(([id]) => byId.get(id)?.callFrame.functionName === "(idle)").reduce((a, [, us]) => a + us, 0);
  const busy = total - idle;
  const pct = (us: number) => `${((us / busy) * 100).toFixed(1)} %`.padStart(7) + (requests ? `${(us / requests).toFixed(1).padStart(8)} µs/req` : "");
  const lines = [
    `profile: ${(total / 1e6).toFixed(2)} s, idle ${((idle / total) * 100).toFixed(1)} %, busy ${(busy / 1e6).toFixed(2)} s` +
      (requests ? ` (${(busy / requests).toFixed(1)} µs per request over ${requests})` : "") +
      "; shares below are of busy time",
  ];

  const areas = new Map<string, number>();
  const functions = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const frame = byId.get(id)!.callFrame;
    if (frame.functionName === "(idle)") continue;
    const area = areaOf(frame.url, frame.functionName, root);
    areas.set(area, (areas.get(area) ?? 0) + us);
    const name = `${frame.functionName || "(anonymous)"} ${area.startsWith("(") ? "" : `${frame.url.replace(/^.*\/node_modules\//, "").replace(`file://${root}/`, "")}:${frame.lineNumber + 1}`}`.trim();
    functions.set(name, (functions.get(name) ?? 0) + us);
  }
  const sorted = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]);
  lines.push("", "self time by area:");
  for (const [area, us] of sorted(areas).slice(0, top)) lines.push(`  ${pct(us)}  ${area}`);
  lines.push("", "self time by function:");
  for (const [name, us] of sorted(functions).slice(0, top)) lines.push(`  ${pct(us)}  ${name}`);

  if (filter) {
    // Total time: each sample counted once for every distinct matching frame on its stack.
    const parent = new Map<number, number>();
    for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
    const inclusive = new Map<string, number>();
    const pattern = new RegExp(filter);
    for (const [id, us] of selfUs) {
      const seen = new Set<string>();
      for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
        const f = byId.get(at)!.callFrame;
        const name = `${f.functionName || "(anonymous)"} ${f.url.replace(/^.*\/node_modules\//, "").replace(`file://${root}/`, "")}:${f.lineNumber + 1}`;
        if (!pattern.test(name) || seen.has(name)) continue;
        seen.add(name);
        inclusive.set(name, (inclusive.get(name) ?? 0) + us);
      }
    }
    lines.push("", `total time of frames matching ${JSON.stringify(filter)}:`);
    for (const [name, us] of sorted(inclusive).slice(0, top)) lines.push(`  ${pct(us)}  ${name}`);
  }
  return lines.join("\n");
}

if (require.main === module) {
  const [file, top, filter, requests] = process.argv.slice(2);
  if (!file) {
    console.error("usage: node dist/benchmarks/cpu-profile.js <file.cpuprofile> [top=25] [filter] [requests]");
    process.exit(2);
  }
  console.log(summarize(JSON.parse(readFileSync(file, "utf8")) as CpuProfile, packageInfo().root, Number(top ?? 25), filter || undefined, requests ? Number(requests) : undefined));
}
