import { createHmac, randomUUID, timingSafeEqual } from "node:crypto";
import type { Logger } from "../logger";
import { retryAfterSec } from "../providers/retry-after";
import { backoffDelay, type BackoffPolicy } from "../resilience/backoff";

/** `sha256=<hex HMAC-SHA256 of the raw body>`, keyed by CORE_ALERT_WEBHOOK_SECRET. */
export const ALERT_SIGNATURE_HEADER = "x-core-signature";
/** One id per alert, the same on every attempt: receivers drop a delivery they already have. */
export const ALERT_DELIVERY_HEADER = "x-core-delivery";

/** The signature header's value for `body` (the exact bytes sent). */
export function signAlertBody(secret: string, body: string): string {
  return `sha256=${createHmac("sha256", secret).update(body, "utf8").digest("hex")}`;
}

/** What a receiver runs: whether `signature` is the one `secret` gives `body` (constant time). */
export function verifyAlertSignature(secret: string, body: string, signature: string | undefined): boolean {
  if (!signature) return false;
  const expected = Buffer.from(signAlertBody(secret, body));
  const given = Buffer.from(signature);
  return expected.length === given.length && timingSafeEqual(expected, given);
}

export interface AlertWebhookOptions {
  url: string;
  /** Signs every body (ALERT_SIGNATURE_HEADER) when set. */
  secret?: string | undefined;
  logger: Logger;
  /** One attempt's deadline; default 5 s. */
  timeoutMs?: number;
  /** Attempts per alert, the first included; default 4. */
  attempts?: number;
  backoff?: BackoffPolicy;
  /** Alerts waiting at most; past it the oldest is dropped (the newest says more about now). Default 256. */
  capacity?: number;
  /** Told of each alert's fate (metrics). */
  onOutcome?: (outcome: "delivered" | "failed" | "dropped") => void;
  fetch?: typeof fetch;
  random?: () => number;
}

export const DEFAULT_WEBHOOK_BACKOFF: BackoffPolicy = { initialMs: 500, maxMs: 15_000, factor: 2 };

interface Item {
  id: string;
  body: string;
}

type Attempt = { ok: true } | { ok: false; retryable: boolean; reason: string; retryAfterMs?: number };

/** The URL as logs may show it: webhook URLs often carry their secret in the path or query (Slack's do). */
export function describeWebhookUrl(url: string): string {
  try {
    const u = new URL(url);
    return u.pathname === "/" && !u.search ? u.origin : `${u.origin}/…`;
  } catch {
    return "(invalid URL)";
  }
}

/**
 * POSTs alerts as JSON to one webhook, one at a time and in order, from a
 * bounded queue: `send` never waits and never throws, so a slow or dead
 * receiver cannot block or crash the node. Network errors, timeouts, 408, 429
 * and 5xx are retried with jittered exponential backoff (honouring
 * Retry-After); any other answer is final. A failing receiver is logged once
 * when it starts failing and once when it delivers again, with what was lost
 * in between, not once per alert.
 */
export class AlertWebhook {
  private readonly queue: Item[] = [];
  /** Aborts attempts in flight: the grace after close is over. */
  private readonly aborter = new AbortController();
  /** Wakes retries waiting out a backoff: closing, what is left gets one attempt each at once. */
  private readonly closingAborter = new AbortController();
  private readonly fetch: typeof fetch;
  private readonly where: string;
  private worker: Promise<void> | undefined;
  private running = false;
  private closing = false;
  /** Within a burst of failures: what was lost, told when it ends. */
  private failing: { failed: number; dropped: number } | undefined;
  private droppingLogged = false;
  readonly stats = { delivered: 0, failed: 0, dropped: 0 };

  constructor(private readonly options: AlertWebhookOptions) {
    this.fetch = options.fetch ?? fetch;
    this.where = describeWebhookUrl(options.url);
  }

  get queued(): number {
    return this.queue.length;
  }

  /** Queues `payload` for delivery. */
  send(payload: unknown): void {
    if (this.closing) return;
    const capacity = this.options.capacity ?? 256;
    if (this.queue.length >= capacity) {
      this.queue.shift();
      this.stats.dropped++;
      this.options.onOutcome?.("dropped");
      if (this.failing) this.failing.dropped++;
      else if (!this.droppingLogged) {
        this.droppingLogged = true;
        this.options.logger.warn(`Alert webhook ${this.where} is slower than the alerts: ${capacity} are waiting, so the oldest are dropped`);
      }
    }
    this.queue.push({ id: randomUUID(), body: JSON.stringify(payload) });
    if (!this.running) {
      this.running = true;
      this.worker = this.drain();
    }
  }

  /**
   * Stops taking alerts and gives what is queued `graceMs` to go out (one
   * attempt each, no waiting between them); then aborts and drops the rest.
   */
  async close(graceMs = 3_000): Promise<void> {
    this.closing = true;
    this.closingAborter.abort();
    if (!this.running) return;
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)));
    await Promise.race([this.worker, grace]);
    clearTimeout(timer);
    this.aborter.abort();
    await this.worker;
    if (this.queue.length > 0) {
      this.options.logger.warn(`Alert webhook ${this.where}: ${this.queue.length} alert(s) not delivered before the node stopped`);
      this.queue.length = 0;
    }
  }

  private async drain(): Promise<void> {
    try {
      await this.drainQueue();
    } finally {
      // Set in the same turn the loop saw the queue empty: a later send starts a new worker.
      this.running = false;
      this.droppingLogged = false;
    }
  }

  private async drainQueue(): Promise<void> {
    while (this.queue.length > 0 && !this.aborter.signal.aborted) {
      const item = this.queue.shift()!;
      if (await this.deliver(item)) {
        this.stats.delivered++;
        this.options.onOutcome?.("delivered");
        if (this.failing) {
          const { failed, dropped } = this.failing;
          this.options.logger.info(`Alert webhook ${this.where} delivers again (${failed} alert(s) failed and ${dropped} were dropped while it failed)`);
          this.failing = undefined;
        }
      } else {
        this.stats.failed++;
        this.options.onOutcome?.("failed");
        if (this.failing) this.failing.failed++;
      }
    }
  }

  /** Delivers one alert, retrying what is worth it; false when it gave up. */
  private async deliver(item: Item): Promise<boolean> {
    const attempts = this.options.attempts ?? 4;
    for (let attempt = 1; ; attempt++) {
      const result = await this.attempt(item);
      if (result.ok) return true;
      if (!this.failing) {
        this.failing = { failed: 0, dropped: 0 };
        const next = result.retryable ? `retrying with backoff, up to ${attempts} attempts an alert` : "not retried: the receiver refused the request itself";
        this.options.logger.warn(`Alert webhook ${this.where} failed: ${result.reason}; ${next} (further failures are not logged until a delivery succeeds)`);
      }
      // Closing: one attempt each for what is left, no waiting.
      if (!result.retryable || attempt >= attempts || this.closing) return false;
      const backoff = this.options.backoff ?? DEFAULT_WEBHOOK_BACKOFF;
      const delay = Math.max(backoffDelay(attempt, backoff, this.options.random), Math.min(result.retryAfterMs ?? 0, backoff.maxMs));
      if (!(await this.sleep(delay))) return false;
    }
  }

  private async attempt(item: Item): Promise<Attempt> {
    const timeoutMs = this.options.timeoutMs ?? 5_000;
    const headers: Record<string, string> = { "content-type": "application/json", "user-agent": "core-alerts", [ALERT_DELIVERY_HEADER]: item.id };
    if (this.options.secret) headers[ALERT_SIGNATURE_HEADER] = signAlertBody(this.options.secret, item.body);
    try {
      const res = await this.fetch(this.options.url, {
        method: "POST",
        headers,
        body: item.body,
        // A redirected POST turns into a GET elsewhere: say so rather than follow.
        redirect: "manual",
        signal: AbortSignal.any([AbortSignal.timeout(timeoutMs), this.aborter.signal]),
      });
      await res.body?.cancel().catch(() => undefined);
      if (res.status >= 200 && res.status < 300) return { ok: true };
      const retryable = res.status === 408 || res.status === 429 || res.status >= 500;
      const after = retryAfterSec(res.headers);
      const reason =
        res.status >= 300 && res.status < 400
          ? `HTTP ${res.status} (redirected to ${res.headers.get("location") ?? "?"}; set CORE_ALERT_WEBHOOK_URL to the final URL)`
          : `HTTP ${res.status}`;
      return { ok: false, retryable, reason, ...(after !== undefined ? { retryAfterMs: after * 1000 } : {}) };
    } catch (err) {
      const e = err as Error & { cause?: { code?: string; message?: string } };
      const reason = e.name === "TimeoutError" ? `no answer within ${timeoutMs} ms` : (e.cause?.code ?? e.cause?.message ?? e.message);
      return { ok: false, retryable: true, reason };
    }
  }

  /** Resolves true after `ms`, false at once when the webhook is closed meanwhile. */
  private sleep(ms: number): Promise<boolean> {
    const signal = this.closingAborter.signal;
    if (signal.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        signal.removeEventListener("abort", onAbort);
        resolve(true);
      }, ms);
      const onAbort = () => {
        clearTimeout(timer);
        resolve(false);
      };
      signal.addEventListener("abort", onAbort, { once: true });
    });
  }
}
