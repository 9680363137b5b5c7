import { createServer, type Server } from "node:http";

/** A span as Zipkin's v2 JSON API receives it (the fields the tests read). */
export interface ZipkinSpan {
  traceId: string;
  id: string;
  parentId?: string;
  name: string;
  kind?: string;
  timestamp: number;
  duration: number;
  localEndpoint?: { serviceName?: string | null };
  remoteEndpoint?: { serviceName?: string | null };
  tags: Record<string, string>;
}

/**
 * A Zipkin collector for tests: a local HTTP server that takes POST
 * /api/v2/spans (JSON, as Jaeger's Zipkin port does), records every span and
 * answers 202; `status` makes it refuse instead.
 */
export class ZipkinReceiver {
  readonly spans: ZipkinSpan[] = [];
  /** Every POST, with its span count. */
  readonly posts: Array<{ path: string; count: number }> = [];
  /** The status answered to the next POSTs (202 as Zipkin does; anything else to refuse them). */
  status = 202;

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(): Promise<ZipkinReceiver> {
    // The server's handler needs the receiver, which needs the server's port: filled in once it listens.
    const holder: { receiver?: ZipkinReceiver } = {};
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const r = holder.receiver!;
        if (req.method !== "POST" || req.url !== "/api/v2/spans") {
          res.writeHead(404).end();
          return;
        }
        if (r.status >= 400) {
          res.writeHead(r.status).end();
          return;
        }
        const spans = JSON.parse(Buffer.concat(chunks).toString("utf8")) as ZipkinSpan[];
        r.spans.push(...spans);
        r.posts.push({ path: req.url, count: spans.length });
        res.writeHead(202).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as { port: number };
    holder.receiver = new ZipkinReceiver(server, `http://127.0.0.1:${port}`);
    return holder.receiver;
  }

  /** The spans of one trace. */
  trace(traceId: string): ZipkinSpan[] {
    return this.spans.filter((s) => s.traceId === traceId);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
