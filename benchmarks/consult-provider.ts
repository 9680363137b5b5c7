import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * The model servers of benchmarks/consult, in a process of their own so that
 * their CPU is not the measured process's: one minimal OpenAI-compatible chat
 * completions server per expert (`POST /v1/chat/completions`), each answering
 * after its own fixed latency with a whole, realistic completion (id, model,
 * choices[0].message.content, finish_reason "stop", usage). The answers differ
 * in wording and agree on the fact, so the consensus engine does real work.
 *
 * `node consult-provider.js 20 25 30 35 40` starts one server per latency (ms) on
 * a free port of 127.0.0.1 and prints `ready {"ports":[…]}`; stops on SIGTERM.
 */

/** The question benchmarks/consult asks; each server answers it in words of its own. */
export const QUESTION = "What is the capital of France? End with 'Final answer: <city>'.";
export const ANSWERS = [
  "Paris is the capital of France and also its largest city. Final answer: Paris",
  "The capital of France is Paris, which lies on the Seine in the north of the country. Final answer: Paris",
  "France's capital city is Paris, the seat of its government and parliament. Final answer: Paris",
  "Paris has been the capital of France for most of the last thousand years. Final answer: Paris",
  "The French capital is Paris. Final answer: Paris",
];

/** Roughly what a tokenizer would count: four characters a token. */
const tokens = (text: string) => Math.max(1, Math.ceil(text.length / 4));

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

/** One server: answers `answer` after `latencyMs`, counted from when the request's body has arrived. */
export function fixedLatencyServer(latencyMs: number, answer: string, tag: string): Server {
  let seq = 0;
  const server = createServer((req, res) => {
    void (async () => {
      const raw = await readBody(req);
      if (req.method !== "POST" || req.url !== "/v1/chat/completions") {
        return sendJson(res, 404, { error: { message: `Unknown endpoint ${req.method} ${req.url}`, type: "invalid_request_error", code: "unknown_url" } });
      }
      let body: { model?: unknown; messages?: Array<{ content?: unknown }> };
      try {
        body = JSON.parse(raw) as typeof body;
      } catch {
        return sendJson(res, 400, { error: { message: "We could not parse the JSON body of your request.", type: "invalid_request_error", code: null } });
      }
      const prompt = (body.messages ?? []).map((m) => (typeof m.content === "string" ? m.content : "")).join("\n");
      const id = `chatcmpl-${tag}-${++seq}`;
      const model = typeof body.model === "string" ? body.model : "stub-model";
      setTimeout(() => {
        const promptTokens = tokens(prompt) + 7;
        const completionTokens = tokens(answer);
        sendJson(res, 200, {
          id,
          object: "chat.completion",
          created: Math.floor(Date.now() / 1000),
          model,
          system_fingerprint: `fp_${tag}`,
          choices: [{ index: 0, message: { role: "assistant", content: answer, refusal: null }, logprobs: null, finish_reason: "stop" }],
          usage: { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens },
        });
      }, latencyMs);
    })().catch(() => res.destroy());
  });
  // Clients keep connections open between consults, as they do with a real provider.
  server.keepAliveTimeout = 60_000;
  return server;
}

async function main(): Promise<void> {
  const latencies = process.argv.slice(2).map(Number);
  if (latencies.length === 0 || latencies.some((x) => !Number.isFinite(x) || x < 0)) {
    throw new Error("usage: consult-provider <latency ms>…");
  }
  const servers = latencies.map((ms, i) => fixedLatencyServer(ms, ANSWERS[i % ANSWERS.length]!, `e${i + 1}`));
  await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve))));
  process.on("SIGTERM", () => {
    for (const s of servers) s.closeAllConnections();
    process.exit(0);
  });
  console.log(`ready ${JSON.stringify({ ports: servers.map((s) => (s.address() as AddressInfo).port) })}`);
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
