import { readFileSync } from "node:fs";
import type { CpuProfile } from "./cpu-profile";

/**
 * Where a CORE node's time per MCP tool call goes, by step of the call, from
 * a `node --cpu-prof` profile of benchmarks/mcp's node (X_PROFILE=core):
 *
 *   node dist/benchmarks/mcp-profile-steps.js <file.cpuprofile> <calls>
 *
 * Unlike benchmarks/cpu-profile.ts (self time per package), each sample is
 * charged to the step of the nearest frame on its stack that belongs to one
 * (Node's internals count as the package that called them: a socket write
 * made for Redis is Redis's), so a step's figure includes the system calls it
 * causes. µs are of the main thread, per call answered.
 */


/** The steps of a call through CORE, by the files their frames come from; the first that matches wins. */
const STEPS: Array<[string, RegExp]> = [
  // node:http's shared parts (_http_outgoing, _http_incoming, _http_common) are left to the frame that called them: both sides use them.
  [
    "upstream request (the actor's SDK client, lib/mcp/mcp-fetch, fetch/undici, node:http client)",
    /sdk\/dist\/cjs\/(client|shared\/transport)|lib\/mcp\/mcp-fetch|deps\/undici|eventsource-parser|node:_http_(client|agent)|node:https/,
  ],
  [
    "MCP server side facing the client (@hono/node-server, SDK server, the session transport, body parsing, moleculer-web, node:http server)",
    /@hono|sdk\/dist\/cjs\/(server|shared\/protocol|types)|lib\/mcp-gateway\/mcp-session-transport|body-parser|raw-body|iconv-lite|type-is|content-type|moleculer-web|mime|media-typer|node:_http_server/,
  ],
  ["PostgreSQL (audit row, API key lookup)", /\/pg\/|pg-protocol|pg-pool|pg-types|postgres-|lib\/audit|lib\/store/],
  ["Redis (rate limits)", /ioredis|redis-parser|lib\/ratelimit|lib\/coordination|denque|cluster-key-slot/],
  ["zod (the SDK's message schemas)", /\/zod\//],
  ["Moleculer (actor call, middlewares, metrics)", /\/moleculer\/|fastest-validator|lodash|mixins\/|actors\//],
  ["authentication (JWT cache, key digest)", /lib\/security|jsonwebtoken|jws|lru-cache/],
  ["CORE's gateway code (catalogue, RBAC, api service)", /lib\/mcp-gateway|lib\/mcp\/|services\/|lib\/http|lib\/errors/],
];

export function stepsOf(profile: CpuProfile, calls: number): string {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));

  const steps = new Map<string, number>();
  let busy = 0;
  for (const [id, us] of self) {
    const leaf = byId.get(id)!.callFrame;
    if (leaf.functionName === "(idle)") continue;
    busy += us;
    let step = leaf.functionName === "(garbage collector)" ? "garbage collector" : "other (event loop, streams, microtasks, start-up)";
    if (step !== "garbage collector") {
      for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
        const { url } = byId.get(at)!.callFrame;
        if (!url) continue;
        const found = STEPS.find(([, pattern]) => pattern.test(url));
        if (found) {
          step = found[0];
          break;
        }
        // A package or CORE frame of no step: the sample is not one of theirs.
        if (!url.startsWith("node:")) break;
      }
    }
    steps.set(step, (steps.get(step) ?? 0) + us);
  }
  const lines = [`busy ${(busy / 1e6).toFixed(2)} s: ${(busy / calls).toFixed(0)} µs per call over ${calls}`];
  for (const [step, us] of [...steps].sort((a, b) => b[1] - a[1])) {
    lines.push(`${`${((us / busy) * 100).toFixed(1)} %`.padStart(7)} ${(us / calls).toFixed(0).padStart(6)} µs/call  ${step}`);
  }
  return lines.join("\n");
}

if (require.main === module) {
  const [file, calls] = process.argv.slice(2);
  if (!file || !calls) {
    console.error("usage: node dist/benchmarks/mcp-profile-steps.js <file.cpuprofile> <calls>");
    process.exit(2);
  }
  console.log(stepsOf(JSON.parse(readFileSync(file, "utf8")) as CpuProfile, Number(calls)));
}
