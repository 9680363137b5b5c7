import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, headers as natsHeaders, type Msg, type NatsConnection } from "nats";
import { DEFAULT_INGRESS_MAX_BYTES } from "../../lib/ingress/ingress-request";
import { AccessTokens } from "../../lib/security/access-tokens";
import { coreSubjects } from "../../lib/transport/subjects";
import { dropSchema } from "../bench-cleanup";
import { envCount, FailureLog, quick, Tally, type FuzzPartResult } from "./fuzz-part";
import { MalformedMessages, type MalformedMessage } from "./nats-malformed";

/**
 * Part 2 of `npm run fuzz`: malformed messages (benchmarks/fuzz/nats-malformed.ts)
 * to the NATS ingress of a `core start` node in a process of its own (its own
 * namespace, CORE_SUBJECT_PREFIX and PostgreSQL schema on the shared NATS and
 * PostgreSQL). Every message sent with a reply subject must get exactly one
 * reply, a 4xx in REST's error shape, within the reply timeout; those sent
 * without one are counted by the node (core_ingress_dropped_total) and answered
 * by nobody. After the run the node must still be up: /health/live 200 and a
 * valid experts.list answered 200, no unhandled error in its output.
 *
 * Knobs: FUZZ_NATS_MESSAGES (10 000; FUZZ_QUICK 1 000), FUZZ_SEED (random),
 * FUZZ_NATS_CONCURRENCY (awaited replies at once, 32), FUZZ_NATS_REPLY_TIMEOUT_MS (15 000).
 */

const START_TIMEOUT_MS = 120_000;
const SERVICES = "api,auth,audit,supervisor,aggregator,experts,circle,mcp,mcp-gateway,ingress";

/** Starts a child and resolves with the first match of `ready` in its output; its whole output is kept. */
function startNode(args: string[], env: NodeJS.ProcessEnv, ready: RegExp): Promise<{ child: ChildProcess; match: RegExpMatchArray; output: () => string }> {
  const child = spawn(process.execPath, args, { env, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  return new Promise((resolve, reject) => {
    let done = false;
    const timer = setTimeout(() => {
      if (done) return;
      done = true;
      child.kill("SIGKILL");
      reject(new Error(`the CORE node did not start within ${START_TIMEOUT_MS} ms:\n${out.slice(-4_000)}`));
    }, START_TIMEOUT_MS);
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      if (out.length > 4_000_000) out = out.slice(-2_000_000);
      const m = done ? null : ready.exec(out);
      if (!m) return;
      done = true;
      clearTimeout(timer);
      resolve({ child, match: m, output: () => out });
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.once("exit", (code) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      reject(new Error(`the CORE node exited with ${code}:\n${out.slice(-4_000)}`));
    });
  });
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  await exited;
}

/** A counter's value summed over the series whose labels hold every `labels` pair, from /metrics. */
async function metric(url: string, name: string, labels: Record<string, string>): Promise<number> {
  const text = await (await fetch(url)).text();
  let sum = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) sum += Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return sum;
}

/** What an error reply must look like: REST's `{ error: { code, message, requestId } }`. */
function errorShaped(msg: Msg): boolean {
  try {
    const body = JSON.parse(new TextDecoder().decode(msg.data)) as { error?: { code?: unknown; message?: unknown; requestId?: unknown } };
    return typeof body.error?.code === "string" && typeof body.error.message === "string" && typeof body.error.requestId === "string";
  } catch {
    return false;
  }
}

export async function runNatsFuzz(): Promise<FuzzPartResult> {
  const count = envCount("FUZZ_NATS_MESSAGES", quick() ? 1_000 : 10_000);
  const seed = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : Math.floor(Math.random() * 2 ** 31);
  const concurrency = envCount("FUZZ_NATS_CONCURRENCY", 32);
  const replyTimeoutMs = envCount("FUZZ_NATS_REPLY_TIMEOUT_MS", 15_000);
  const natsUrl = process.env.NATS_URL ?? "nats://127.0.0.1:4222";
  const databaseUrl = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
  const tag = `${process.pid}-${randomBytes(3).toString("hex")}`;
  const subjects = coreSubjects(`fuzz-${tag}`);
  const schema = `fuzz_nats_${tag.replace(/-/g, "_")}`;
  const secret = randomBytes(48).toString("base64");
  const authorization = `Bearer ${new AccessTokens({ secret }).issue({ id: "fuzz-operator", roles: ["operator"] }).token}`;
  const dir = mkdtempSync(join(tmpdir(), "core-fuzz-nats-"));
  const log = new FailureLog();
  const failures = log.tally;
  const outcomes = new Tally();
  const notes: string[] = [];
  const fail = (kind: string, example: string) => log.add(kind, example);
  let node: Awaited<ReturnType<typeof startNode>> | undefined;
  let nc: NatsConnection | undefined;
  let sent = 0;
  let unanswerable = 0;
  const started = performance.now();
  console.log(`fuzz nats: ${count} malformed messages, seed ${seed}, prefix ${subjects.prefix}`);
  try {
    const configFile = join(dir, "core.json");
    // One expert nobody reaches (every message is refused before an action runs).
    writeFileSync(configFile, JSON.stringify({ experts: [{ id: "unreached", provider: "openai-compatible", model: "none", baseUrl: "http://127.0.0.1:9/v1" }] }));
    node = await startNode(
      [join(__dirname, "..", "..", "bin", "core.js"), "start", "--node-id", `fuzz-nats-${tag}`, "--services", SERVICES],
      {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        CORE_CONFIG: configFile,
        CORE_JWT_SECRET: secret,
        CORE_NAMESPACE: `fuzz-nats-${tag}`,
        CORE_SUBJECT_PREFIX: subjects.prefix,
        CORE_API_PORT: "0",
        CORE_METRICS: "true",
        CORE_METRICS_PORT: "0",
        // Info: the start-up summary (the "listening:" line this waits for) is said at info.
        CORE_LOG_LEVEL: "info",
        NATS_URL: natsUrl,
        DATABASE_URL: databaseUrl,
        CORE_DB_SCHEMA: schema,
      },
      /listening: api (http:\/\/\S+?), metrics (http:\/\/\S+)/,
    );
    const api = node.match[1]!;
    const metricsUrl = node.match[2]!;
    nc = await connect({ servers: natsUrl, name: "fuzz-nats-client" });
    const conn = nc;
    const droppedBefore = await metric(metricsUrl, "core_ingress_dropped_total", { reason: "no_reply_subject" });

    // Replies come to <inbox>.<message index>, whatever the message did to its request id.
    const inbox = `${subjects.prefix}.fuzz-replies.${randomUUID()}`;
    const waiting = new Map<number, { message: MalformedMessage; resolve: () => void; timer: NodeJS.Timeout }>();
    const answered = new Map<number, number>();
    const sub = conn.subscribe(`${inbox}.>`, {
      callback: (_err, msg) => {
        const index = Number(msg.subject.slice(inbox.length + 1));
        const times = (answered.get(index) ?? 0) + 1;
        answered.set(index, times);
        const status = Number(msg.headers?.get("Core-Status"));
        const w = waiting.get(index);
        if (times > 1) return fail("more than one reply", `message ${index}`);
        if (!w) return fail("reply after the timeout", `message ${index}, ${status}`);
        waiting.delete(index);
        clearTimeout(w.timer);
        const { message } = w;
        outcomes.add(`${message.kind}: ${Number.isNaN(status) ? "no Core-Status" : status}`);
        const what = `message ${index} (${message.kind}) on ${message.subject}`;
        if (status >= 500) fail(`${status} reply`, `${what}: ${msg.string().slice(0, 300)}`);
        else if (!(status >= 400 && status < 500)) fail(`non-4xx reply (${Number.isNaN(status) ? "no status" : status})`, `${what}: ${msg.string().slice(0, 300)}`);
        else if (!errorShaped(msg)) fail("4xx without REST's error shape", `${what}: ${msg.string().slice(0, 300)}`);
        w.resolve();
      },
    });

    const generator = new MalformedMessages({ subjects, authorization, maxBytes: DEFAULT_INGRESS_MAX_BYTES }, seed);
    /** Sends one message; resolves when it is answered or its reply timed out (at once when it has no reply subject). */
    const send = (index: number): Promise<void> => {
      const message = generator.next();
      const h = natsHeaders();
      for (const [name, value] of message.headers) h.append(name, value);
      try {
        if (!message.withReply) {
          conn.publish(message.subject, message.data, { headers: h });
          sent++;
          unanswerable++;
          outcomes.add(`${message.kind}: no reply subject`);
          return Promise.resolve();
        }
        return new Promise<void>((resolve) => {
          const timer = setTimeout(() => {
            waiting.delete(index);
            fail("no reply within the timeout", `message ${index} (${message.kind}) on ${message.subject}, ${replyTimeoutMs} ms`);
            resolve();
          }, replyTimeoutMs);
          waiting.set(index, { message, resolve, timer });
          conn.publish(message.subject, message.data, { headers: h, reply: `${inbox}.${index}` });
          sent++;
        });
      } catch (err) {
        // nats.js refused it (a header it will not send): a generator bug, not the node's.
        fail("not sendable (generator)", `message ${index} (${message.kind}): ${(err as Error).message}`);
        return Promise.resolve();
      }
    };
    let next = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < count) {
          const index = next++;
          await send(index);
          if ((index + 1) % 1000 === 0) console.log(`fuzz nats: ${index + 1}/${count} messages`);
        }
      }),
    );
    await conn.flush();
    // A moment for any reply that should not come (a second one).
    await new Promise((r) => setTimeout(r, 1_000));
    sub.unsubscribe();

    const dropped = (await metric(metricsUrl, "core_ingress_dropped_total", { reason: "no_reply_subject" })) - droppedBefore;
    if (dropped !== unanswerable) fail("drops miscounted", `${unanswerable} sent without a reply subject, the node counted ${dropped}`);
    notes.push(`${unanswerable} of the ${sent} messages were published without a reply subject; the node counted ${dropped} dropped (core_ingress_dropped_total{reason="no_reply_subject"}).`);

    // Still alive and answering.
    if (node.child.exitCode !== null || node.child.signalCode !== null) fail("node crashed", `exit ${node.child.exitCode ?? node.child.signalCode}`);
    const live = await fetch(`${api}/health/live`).then((r) => r.status, () => 0);
    if (live !== 200) fail("node not live after the run", `/health/live answered ${live || "nothing"}`);
    const h = natsHeaders();
    h.set("Authorization", authorization);
    const good = await conn.request(subjects.expertsList, new Uint8Array(0), { timeout: 15_000, headers: h }).then((m) => m.headers?.get("Core-Status"), (err: Error) => err.message);
    if (good !== "200") fail("a valid request refused after the run", `experts.list answered ${good}`);
    const unhandled = /could not be handled|Unhandled/.exec(node.output());
    if (unhandled) fail("unhandled error in the node's output", node.output().slice(Math.max(0, unhandled.index - 200), unhandled.index + 800));
    // What the node said about its first 5xx (the ingress logs each with its stack).
    const said = /NATS \S+ failed \(request/.exec(node.output());
    if (said) notes.push(`The node's log on its first 5xx: ${node.output().slice(said.index, said.index + 1_000).replace(/\s*\n\s*/g, " ⏎ ")}`);
    notes.push(`After the run: /health/live ${live}, experts.list with valid credentials ${good}.`);
  } finally {
    await nc?.close().catch(() => undefined);
    if (node) await stopChild(node.child);
    rmSync(dir, { recursive: true, force: true });
    await dropSchema(databaseUrl, schema).catch((err: unknown) => console.error(err));
  }
  notes.unshift(`Seed ${seed} (FUZZ_SEED=${seed} replays the same messages); ${concurrency} replies awaited at once, reply timeout ${replyTimeoutMs} ms.`);
  return {
    part: "nats",
    goal: `${count} malformed messages on ${subjects.consult.replace(subjects.prefix, "<prefix>")}, .mcp.call, .experts.list: each with a reply subject answered once with a 4xx within ${replyTimeoutMs} ms, no 5xx, the node alive after`,
    cases: sent,
    requested: count,
    failures: failures.counts,
    durationS: (performance.now() - started) / 1000,
    met: failures.total === 0 && sent >= count,
    outcomes: outcomes.counts,
    examples: log.examples,
    notes,
  };
}
