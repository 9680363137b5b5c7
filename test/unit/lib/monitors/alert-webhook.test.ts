import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { ALERT_DELIVERY_HEADER, ALERT_SIGNATURE_HEADER, AlertWebhook, describeWebhookUrl, signAlertBody, verifyAlertSignature } from "../../../../lib/monitors/alert-webhook";
import { waitFor } from "../../../helpers/wait";

const SECRET = "0123456789abcdef0123456789abcdef";
const fast = { initialMs: 5, maxMs: 20, factor: 2 };

interface Logged {
  level: string;
  text: string;
}

function logger(lines: Logged[]) {
  const at = (level: string) => (...args: unknown[]) => void lines.push({ level, text: args.join(" ") });
  return { error: at("error"), warn: at("warn"), info: at("info"), debug: () => undefined };
}

/** A fetch that answers from a script: a status, or "reset" (a network error), or a promise to hold the answer. */
function scriptedFetch(script: Array<number | "reset" | Promise<number>>) {
  const calls: Array<{ url: string; init: RequestInit }> = [];
  const fn = (async (url: string, init: RequestInit) => {
    calls.push({ url, init });
    const step = script.length > 1 ? script.shift()! : script[0]!;
    const outcome = await step;
    if (outcome === "reset") throw Object.assign(new TypeError("fetch failed"), { cause: { code: "ECONNRESET" } });
    return new Response(null, { status: outcome });
  }) as unknown as typeof fetch;
  return { fn, calls };
}

describe("alert signatures", () => {
  it("is an HMAC-SHA256 of the exact body that a receiver checks in constant time", () => {
    const body = JSON.stringify({ alert: { key: "cost.budget:a/day" } });
    const signature = signAlertBody(SECRET, body);
    expect(signature).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(verifyAlertSignature(SECRET, body, signature)).toBe(true);
    expect(verifyAlertSignature(SECRET, `${body} `, signature)).toBe(false);
    expect(verifyAlertSignature("another-secret-of-16+", body, signature)).toBe(false);
    expect(verifyAlertSignature(SECRET, body, undefined)).toBe(false);
    expect(verifyAlertSignature(SECRET, body, "sha256=00")).toBe(false);
  });

  it("logs never show a webhook's path or query, where services put their token", () => {
    expect(describeWebhookUrl("https://hooks.slack.com/services/T0/B0/secret")).toBe("https://hooks.slack.com/…");
    expect(describeWebhookUrl("https://alerts.example.com/?token=x")).toBe("https://alerts.example.com/…");
    expect(describeWebhookUrl("http://127.0.0.1:9000/")).toBe("http://127.0.0.1:9000");
  });
});

describe("AlertWebhook", () => {
  let server: Server | undefined;
  afterEach(async () => {
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    server = undefined;
  });

  it("POSTs JSON to a real receiver, signed, with a delivery id, in order", async () => {
    const received: Array<{ method: string; headers: IncomingHttpHeaders; body: string }> = [];
    server = createServer((req, res) => {
      let body = "";
      req.on("data", (c: Buffer) => (body += c.toString()));
      req.on("end", () => {
        received.push({ method: req.method!, headers: req.headers, body });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    const webhook = new AlertWebhook({ url, secret: SECRET, logger: logger([]) });
    webhook.send({ alert: { key: "a", n: 1 } });
    webhook.send({ alert: { key: "b", n: 2 } });
    await waitFor(() => received.length === 2, 5_000, "two deliveries");
    expect(received.map((r) => JSON.parse(r.body))).toEqual([{ alert: { key: "a", n: 1 } }, { alert: { key: "b", n: 2 } }]);
    for (const r of received) {
      expect(r.method).toBe("POST");
      expect(r.headers["content-type"]).toBe("application/json");
      expect(verifyAlertSignature(SECRET, r.body, r.headers[ALERT_SIGNATURE_HEADER] as string)).toBe(true);
      expect(r.headers[ALERT_DELIVERY_HEADER]).toMatch(/^[0-9a-f-]{36}$/);
    }
    expect(webhook.stats).toEqual({ delivered: 2, failed: 0, dropped: 0 });
    await webhook.close();
  });

  it("without a secret sends no signature", async () => {
    const { fn, calls } = scriptedFetch([200]);
    const webhook = new AlertWebhook({ url: "http://x/hook", logger: logger([]), fetch: fn });
    webhook.send({ a: 1 });
    await waitFor(() => webhook.stats.delivered === 1);
    expect((calls[0]!.init.headers as Record<string, string>)[ALERT_SIGNATURE_HEADER]).toBeUndefined();
  });

  it("retries network errors and 5xx with backoff (same delivery id), and gives up after its attempts", async () => {
    const { fn, calls } = scriptedFetch(["reset", 503, 200]);
    const lines: Logged[] = [];
    const webhook = new AlertWebhook({ url: "http://x/hook", logger: logger(lines), fetch: fn, backoff: fast, attempts: 4 });
    webhook.send({ a: 1 });
    await waitFor(() => webhook.stats.delivered === 1, 5_000);
    expect(calls).toHaveLength(3);
    const ids = calls.map((c) => (c.init.headers as Record<string, string>)[ALERT_DELIVERY_HEADER]);
    expect(new Set(ids).size).toBe(1);

    const failing = scriptedFetch([500]);
    const w2 = new AlertWebhook({ url: "http://x/hook", logger: logger([]), fetch: failing.fn, backoff: fast, attempts: 3 });
    w2.send({ a: 1 });
    await waitFor(() => w2.stats.failed === 1, 5_000);
    expect(failing.calls).toHaveLength(3);
  });

  it("does not retry a 4xx (but does retry 408 and 429)", async () => {
    const refused = scriptedFetch([401]);
    const w = new AlertWebhook({ url: "http://x/hook", logger: logger([]), fetch: refused.fn, backoff: fast });
    w.send({ a: 1 });
    await waitFor(() => w.stats.failed === 1);
    expect(refused.calls).toHaveLength(1);

    const limited = scriptedFetch([429, 408, 202]);
    const w2 = new AlertWebhook({ url: "http://x/hook", logger: logger([]), fetch: limited.fn, backoff: fast });
    w2.send({ a: 1 });
    await waitFor(() => w2.stats.delivered === 1, 5_000);
    expect(limited.calls).toHaveLength(3);
  });

  it("a receiver that does not answer in time is abandoned for that attempt", async () => {
    let n = 0;
    const fn = (async (_url: string, init: RequestInit) => {
      n++;
      if (n === 1) {
        // Hangs until the attempt's deadline aborts it.
        await new Promise((_, reject) => init.signal!.addEventListener("abort", () => reject(init.signal!.reason)));
      }
      return new Response(null, { status: 200 });
    }) as unknown as typeof fetch;
    const lines: Logged[] = [];
    const w = new AlertWebhook({ url: "http://x/hook", logger: logger(lines), fetch: fn, backoff: fast, timeoutMs: 50 });
    w.send({ a: 1 });
    await waitFor(() => w.stats.delivered === 1, 5_000);
    expect(n).toBe(2);
    expect(lines[0]!.text).toMatch(/^Alert webhook http:\/\/x\/… failed: no answer within 50 ms; retrying with backoff/);
  });

  it("logs a failing receiver once per burst, then once when it delivers again with what was lost", async () => {
    const script: Array<number | "reset"> = ["reset", "reset", "reset", "reset", 503, 503, 200];
    const { fn } = scriptedFetch(script);
    const lines: Logged[] = [];
    const w = new AlertWebhook({ url: "http://x/hook", logger: logger(lines), fetch: fn, backoff: fast, attempts: 2 });
    for (let i = 0; i < 4; i++) w.send({ i });
    await waitFor(() => w.stats.delivered === 1 && w.stats.failed === 3, 5_000);
    expect(lines.map((l) => l.level)).toEqual(["warn", "info"]);
    expect(lines[0]!.text).toBe("Alert webhook http://x/… failed: ECONNRESET; retrying with backoff, up to 2 attempts an alert (further failures are not logged until a delivery succeeds)");
    expect(lines[1]!.text).toBe("Alert webhook http://x/… delivers again (3 alert(s) failed and 0 were dropped while it failed)");
  });

  it("send never waits: past its capacity the queue drops the oldest, said once", async () => {
    let release!: (status: number) => void;
    const held = new Promise<number>((resolve) => (release = resolve));
    const { fn, calls } = scriptedFetch([held, 200]);
    const lines: Logged[] = [];
    const w = new AlertWebhook({ url: "http://x/hook", logger: logger(lines), fetch: fn, capacity: 2 });
    const started = Date.now();
    for (let i = 0; i < 6; i++) w.send({ i });
    expect(Date.now() - started).toBeLessThan(50);
    // One in flight, two waiting: three of the six were dropped, the oldest waiting ones.
    expect(w.queued).toBe(2);
    expect(w.stats.dropped).toBe(3);
    expect(lines.filter((l) => /slower than the alerts/.test(l.text))).toHaveLength(1);
    release(200);
    await waitFor(() => w.stats.delivered === 3, 5_000);
    expect(calls.map((c) => JSON.parse(String(c.init.body)) as { i: number }).map((b) => b.i)).toEqual([0, 4, 5]);
  });

  it("close gives the queue a grace period (no more waiting between retries), then drops the rest", async () => {
    const { fn, calls } = scriptedFetch([503]);
    const lines: Logged[] = [];
    const w = new AlertWebhook({ url: "http://x/hook", logger: logger(lines), fetch: fn, backoff: { initialMs: 60_000, maxMs: 60_000, factor: 1 } });
    w.send({ i: 1 });
    w.send({ i: 2 });
    await waitFor(() => calls.length === 1);
    const started = Date.now();
    await w.close(1_000);
    // The minute-long backoff wait was cut short, and what was still queued had its one attempt.
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(calls).toHaveLength(2);
    expect(w.stats.failed).toBe(2);
    w.send({ i: 3 });
    expect(w.queued).toBe(0);
  });
});
