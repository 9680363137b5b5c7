import autocannon from "autocannon";
import type { RequestSpec } from "./compare-targets";
import { cpuTimeUs } from "./process-cpu";

/**
 * The load generator of benchmarks/compare: autocannon in this process,
 * `connections` keep-alive connections each sending its next request when the
 * last is answered, for a fixed time. Latencies are of 2xx answers only; every
 * other outcome is counted, so a target that errors cannot look fast.
 */

export interface RunResult {
  /** 2xx answers per second. */
  rate: number;
  p50us: number;
  p99us: number;
  ok: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  /** The first non-2xx status codes seen, e.g. {"429": 12}. */
  statuses: Record<string, number>;
  /** The target process's CPU time (user + system, all threads) per 2xx answer, when /proc tells it. */
  serverCpuUs: number | undefined;
}

/** The user's question: a short system prompt and a question, as a chat client sends them. */
export const MESSAGES = [
  { role: "system", content: "You are a concise assistant. Answer in one or two sentences." },
  { role: "user", content: "What is the capital of France? End with 'Final answer: <city>'." },
];

export const chatBody = (model: string) => JSON.stringify({ model, messages: MESSAGES, max_tokens: 256, temperature: 0 });

/** One request, as the load generator sends it: 2xx with a completion's message, or an error saying what came back. */
export async function probe(name: string, spec: RequestSpec): Promise<{ content: string; model: string }> {
  const res = await fetch(spec.url, { method: "POST", headers: { "content-type": "application/json", ...spec.headers }, body: chatBody(spec.model) });
  const text = await res.text();
  let body: { model?: string; choices?: Array<{ message?: { content?: string } }> } = {};
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    // reported below with the raw text
  }
  const content = body.choices?.[0]?.message?.content;
  if (res.status < 200 || res.status >= 300 || typeof content !== "string" || !content) {
    throw new Error(`${name}: POST ${spec.url} (model ${spec.model}) answered ${res.status}: ${text.slice(0, 500)}`);
  }
  return { content, model: String(body.model) };
}

export async function drive(spec: RequestSpec, pid: number | undefined, connections: number, seconds: number): Promise<RunResult> {
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  const cpu0 = cpuTimeUs(pid);
  const t0 = process.hrtime.bigint();
  const run = autocannon(
    {
      url: spec.url,
      method: "POST",
      headers: { "content-type": "application/json", ...spec.headers },
      body: chatBody(spec.model),
      connections,
      duration: seconds,
      timeout: 10,
    },
    () => undefined,
  );
  run.on("response", (_client, status, _bytes, ms) => {
    if (status >= 200 && status < 300) latencies.push(ms * 1000);
    else statuses[status] = (statuses[status] ?? 0) + 1;
  });
  const result = await new Promise<autocannon.Result>((resolve) => run.once("done", resolve));
  const elapsed = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu1 = cpuTimeUs(pid);
  latencies.sort((a, b) => a - b);
  const at = (q: number) => (latencies.length ? latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * q))]! : NaN);
  return {
    rate: latencies.length / elapsed,
    p50us: at(0.5),
    p99us: at(0.99),
    ok: latencies.length,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    statuses,
    serverCpuUs: cpu0 === undefined || cpu1 === undefined || latencies.length === 0 ? undefined : (cpu1 - cpu0) / latencies.length,
  };
}

