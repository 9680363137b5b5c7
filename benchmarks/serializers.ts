import { Serializers, ServiceBroker } from "moleculer";
import { median, newReport, saveReport, type Row } from "./report";

/**
 * JSON against the binary serializers Moleculer supports (MsgPack, Notepack),
 * measured two ways in one run: encode+decode of the packets CORE sends, and
 * request/reply throughput between two brokers over the real NATS.
 */

const CANDIDATES = ["JSON", "MsgPack", "Notepack"] as const;
type Candidate = (typeof CANDIDATES)[number];

const words = "the quick brown fox jumps over the lazy dog while experts weigh evidence and agree on a final answer".split(" ");
function text(n: number, seed: number): string {
  let out = "";
  for (let i = 0; i < n; i++) out += `${words[(i * 7 + seed) % words.length]} `;
  return out.trim();
}

/** A consult request as it crosses NATS: question, parameters, metadata. */
const consultRequest = {
  ver: "5",
  sender: "node-a",
  id: "0b5c9d7e-3f7a-4e55-9b0c-5f3b4d8c1a2e",
  action: "circle.consult",
  params: { question: text(80, 1), experts: ["claude", "gpt", "gemini", "llama"], minResponses: 3, temperature: 0.2, maxTokens: 1024 },
  meta: { principal: { id: "user-42", roles: ["operator"] }, requestId: "req-1234", deadline: 1_764_000_000_000 },
  timeout: 30_000,
  level: 1,
  tracing: null,
  parentID: null,
  requestID: "0b5c9d7e-3f7a-4e55-9b0c-5f3b4d8c1a2e",
  caller: "api",
  stream: false,
};

/** A consult reply: four experts' answers with usage, plus the consensus. */
const consultReply = {
  ver: "5",
  sender: "node-b",
  id: consultRequest.id,
  success: true,
  data: {
    consensus: { expertId: "claude", text: text(250, 3) },
    agreement: 0.83,
    experts: ["claude", "gpt", "gemini", "llama"].map((id, i) => ({
      expertId: id,
      text: text(250, i),
      latencyMs: 800 + i * 130,
      usage: { inputTokens: 180 + i, outputTokens: 310 + i * 11 },
      costUsd: 0.0041 + i * 0.0007,
      agreement: 0.7 + i * 0.05,
    })),
    keyPoints: [text(12, 5), text(10, 6), text(14, 7)],
  },
  meta: {},
  stream: false,
};

/** A heartbeat: the most frequent packet in a quiet cluster. */
const heartbeat = { ver: "5", sender: "node-a", cpu: 12.5 };

const PACKETS: Array<[string, object]> = [
  ["heartbeat", heartbeat],
  ["consult request", consultRequest],
  ["consult reply (4 experts)", consultReply],
];

function serializer(name: Candidate) {
  const s = Serializers.resolve(name);
  s.init(new ServiceBroker({ logger: false, nodeID: "bench" }));
  return s;
}

function measure(fn: () => void, minMs = 400): { opsPerSec: number } {
  for (let i = 0; i < 2_000; i++) fn(); // warm up the JIT
  let ops = 0;
  const start = process.hrtime.bigint();
  let elapsedNs = 0n;
  while (elapsedNs < BigInt(minMs) * 1_000_000n) {
    for (let i = 0; i < 500; i++) fn();
    ops += 500;
    elapsedNs = process.hrtime.bigint() - start;
  }
  return { opsPerSec: ops / (Number(elapsedNs) / 1e9) };
}

function codecTable(): Row[] {
  const rows: Row[] = [];
  for (const [label, packet] of PACKETS) {
    const results = CANDIDATES.map((name) => {
      const s = serializer(name);
      const bytes = s.serialize(packet).length;
      const { opsPerSec } = measure(() => s.deserialize(s.serialize(packet)));
      return { name, bytes, opsPerSec };
    });
    const json = results.find((r) => r.name === "JSON")!;
    for (const r of results) {
      rows.push({
        packet: label,
        serializer: r.name,
        bytes: r.bytes,
        "encode+decode ops/s": Math.round(r.opsPerSec),
        "vs JSON": `${(r.opsPerSec / json.opsPerSec).toFixed(2)}×`,
      });
    }
  }
  return rows;
}

interface NatsRun {
  rate: number;
  p50: number;
  p99: number;
}

async function natsRun(name: Candidate, natsUrl: string, round: number): Promise<NatsRun> {
  const calls = 4_000;
  const concurrency = 32;
  const namespace = `bench-ser-${name.toLowerCase()}-${process.pid}-${round}`;
  const common = { namespace, logger: false as const, serializer: name, transporter: { type: "NATS" as const, options: { url: natsUrl } } };
  const server = new ServiceBroker({ ...common, nodeID: "server" });
  server.createService({ name: "circle", actions: { consult: () => consultReply.data } });
  const client = new ServiceBroker({ ...common, nodeID: "client" });
  await Promise.all([server.start(), client.start()]);
  try {
    await client.waitForServices("circle", 10_000);
    for (let i = 0; i < 300; i++) await client.call("circle.consult", consultRequest.params);
    const start = process.hrtime.bigint();
    let next = 0;
    const latencies: number[] = [];
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < calls) {
          next++;
          const t0 = process.hrtime.bigint();
          await client.call("circle.consult", consultRequest.params);
          latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
        }
      }),
    );
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    latencies.sort((a, b) => a - b);
    return {
      rate: latencies.length / seconds,
      p50: latencies[Math.floor(latencies.length * 0.5)]!,
      p99: latencies[Math.floor(latencies.length * 0.99)]!,
    };
  } finally {
    await Promise.all([client.stop(), server.stop()]);
  }
}


/** Rounds rotate the order, so no serializer always runs first (cold) or last; medians are reported. */
async function natsTable(natsUrl: string, rounds = 3): Promise<Row[]> {
  const runs = new Map<Candidate, NatsRun[]>(CANDIDATES.map((c) => [c, []]));
  for (let round = 0; round < rounds; round++) {
    const order = CANDIDATES.map((_, i) => CANDIDATES[(i + round) % CANDIDATES.length]!);
    for (const name of order) runs.get(name)!.push(await natsRun(name, natsUrl, round));
  }
  const jsonRate = median(runs.get("JSON")!.map((r) => r.rate));
  return CANDIDATES.map((name) => {
    const rs = runs.get(name)!;
    const rate = median(rs.map((r) => r.rate));
    return {
      serializer: name,
      "calls/s (median)": Math.round(rate),
      "calls/s (each round)": rs.map((r) => Math.round(r.rate)).join(" / "),
      "p50 ms": median(rs.map((r) => r.p50)).toFixed(2),
      "p99 ms": median(rs.map((r) => r.p99)).toFixed(2),
      "vs JSON": `${(rate / jsonRate).toFixed(2)}×`,
    };
  });
}

export async function runSerializerBenchmark(): Promise<void> {
  const report = newReport(
    "serializers",
    "Moleculer serializers on CORE's packets: encode+decode in process, then request/reply of a consult over the real NATS (4,000 calls, 32 in flight, two brokers in this process; 3 rounds in rotating order, medians).",
  );
  report.tables.push({ title: "Encode + decode, in process", rows: codecTable() });
  const natsUrl = process.env.NATS_URL ?? "nats://127.0.0.1:4222";
  try {
    report.tables.push({ title: `Request/reply over NATS (${natsUrl})`, rows: await natsTable(natsUrl) });
  } catch (err) {
    report.notes.push(`NATS part skipped: ${(err as Error).message}`);
  }
  report.notes.push("CBOR (cbor-x) is not measured: its optional native package does not record in package-lock.json with this npm, which breaks `npm ci`.");
  saveReport(report);
}
