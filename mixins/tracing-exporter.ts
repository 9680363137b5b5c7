import { TracerExporters, type Span } from "moleculer";
import { zipkinSpanId, zipkinTraceId } from "../lib/tracing/trace-id";
import { zipkinSpansUrl } from "../lib/tracing/zipkin-endpoint";

export interface CoreZipkinExporterOptions {
  /** CORE_TRACING_URL: the collector's base URL or its /api/v2/spans endpoint. */
  url: string;
  /** CORE_TRACING_FLUSH_MS: how often finished spans are sent. */
  flushMs: number;
  /** Spans sent in one POST at most; a fuller queue is sent at once. */
  batchSize?: number;
  /** POSTs under way at most; a batch past them is dropped (and counted) rather than piled up in memory. */
  maxInFlight?: number;
  /** How long one POST may take. */
  postTimeoutMs?: number;
}

/** A span whose type is this is a call out of the node (store, provider): Zipkin kind CLIENT. */
export const CLIENT_SPAN = "client";
/** The tag naming what a CLIENT span calls (`postgres`, `anthropic`): Zipkin's remote endpoint, Jaeger's dependency graph. */
export const PEER_SERVICE_TAG = "peer.service";

type ZipkinSpan = Record<string, unknown> & { tags: Record<string, unknown> };

/**
 * Moleculer's Zipkin exporter (v2 JSON to Jaeger's or Zipkin's collector),
 * with what CORE needs of it:
 * - the whole 128-bit trace id (Moleculer's cuts ids to 64 bits, so the id a
 *   client reads in X-Trace-Id would not be the one Jaeger shows);
 * - CLIENT spans for calls out of the node, with the peer they call;
 * - the flush interval in milliseconds, a bounded queue (sent early when a
 *   batch is full, dropped past a few POSTs in flight), one warning when the
 *   collector stops answering and one line when it is back, not one a flush;
 * - the spans still queued are sent when the broker stops.
 */
export class CoreZipkinExporter extends TracerExporters.Zipkin {
  private readonly spansUrl: string;
  private readonly batchSize: number;
  private readonly maxInFlight: number;
  private readonly postTimeoutMs: number;
  private inFlight = new Set<Promise<void>>();
  private failing = false;
  /** Spans dropped since the last warning (collector down or too slow). */
  private dropped = 0;

  constructor(options: CoreZipkinExporterOptions) {
    super({ baseURL: options.url, interval: options.flushMs / 1000 });
    this.spansUrl = zipkinSpansUrl(options.url);
    this.batchSize = options.batchSize ?? 1_000;
    this.maxInFlight = options.maxInFlight ?? 4;
    this.postTimeoutMs = options.postTimeoutMs ?? 10_000;
  }

  override init(tracer: Parameters<InstanceType<typeof TracerExporters.Zipkin>["init"]>[0]): void {
    super.init(tracer);
    this.logger.info(`Tracing: spans go to ${this.spansUrl} (Zipkin v2 JSON) every ${this.opts.interval! * 1000} ms`);
  }

  override spanFinished(span: Span): void {
    this.queue.push(span);
    if (this.queue.length >= this.batchSize) void this.flush();
  }

  override makePayload(span: Span): ZipkinSpan {
    const payload = super.makePayload(span) as ZipkinSpan;
    payload.traceId = zipkinTraceId(span.traceID);
    payload.id = zipkinSpanId(span.id);
    if (span.parentID) payload.parentId = zipkinSpanId(span.parentID);
    else delete payload.parentId;
    if (span.type === CLIENT_SPAN) {
      payload.kind = "CLIENT";
      const peer = span.tags[PEER_SERVICE_TAG];
      if (typeof peer === "string") payload.remoteEndpoint = { serviceName: peer };
      else delete payload.remoteEndpoint;
    }
    return payload;
  }

  /** Sends what is queued; resolves when the collector answered (or the POST failed, which is logged, never thrown). */
  override flush(): Promise<void> {
    if (this.queue.length === 0) return Promise.resolve();
    const spans = this.queue.splice(0, this.queue.length);
    if (this.inFlight.size >= this.maxInFlight) {
      this.dropped += spans.length;
      this.warnOnce(`${this.maxInFlight} POSTs are still waiting for an answer`);
      return Promise.resolve();
    }
    const body = JSON.stringify(spans.map((s) => this.makePayload(s)));
    const post = fetch(this.spansUrl, { method: "POST", body, headers: { "Content-Type": "application/json" }, signal: AbortSignal.timeout(this.postTimeoutMs) })
      .then(async (res) => {
        await res.body?.cancel();
        if (res.status >= 400) {
          this.dropped += spans.length;
          this.warnOnce(`it answered ${res.status} ${res.statusText}`);
        } else {
          this.recovered();
          this.logger.debug(`Tracing: ${spans.length} span(s) sent to ${this.spansUrl}`);
        }
      })
      .catch((err: unknown) => {
        this.dropped += spans.length;
        // fetch says only "fetch failed"; the cause says why (ECONNREFUSED, a timeout, …).
        const e = err as { cause?: { code?: string; message?: string }; message?: string };
        this.warnOnce(e.cause?.code ?? e.cause?.message ?? e.message ?? String(err));
      })
      .finally(() => this.inFlight.delete(post));
    this.inFlight.add(post);
    return post;
  }

  /** Stops the timer, then sends what is still queued and waits for the POSTs under way. */
  override stop(): Promise<void> {
    void super.stop();
    void this.flush();
    return Promise.all([...this.inFlight]).then(() => undefined);
  }

  private warnOnce(reason: string): void {
    if (this.failing) return;
    this.failing = true;
    this.logger.warn(`Tracing: spans could not be sent to ${this.spansUrl} (${reason}); they are dropped until it answers`);
  }

  private recovered(): void {
    if (!this.failing) return;
    this.failing = false;
    this.logger.info(`Tracing: ${this.spansUrl} takes spans again (${this.dropped} span(s) were dropped meanwhile)`);
    this.dropped = 0;
  }
}
