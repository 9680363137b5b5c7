import { createServer, type IncomingHttpHeaders, type OutgoingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { Pool } from "undici";

/**
 * The floor of what a Node gateway can cost (benchmarks/compare): node:http in
 * front, an undici keep-alive Pool behind, nothing in between (no parsing, no
 * auth, no logging). Each request is streamed to the upstream named by its
 * `x-upstream` header (an index into the origins given as arguments; 0 when
 * absent) and the answer streamed back.
 *
 * `node bare-proxy.js http://127.0.0.1:4001 http://127.0.0.1:4002` prints
 * `ready {"url":…}` once listening; stops on SIGTERM.
 */

/** Hop-by-hop headers (RFC 9110 §7.6.1): they describe one connection, not the message. */
const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te", "trailer", "host", "x-upstream"]);

function endToEnd(headers: IncomingHttpHeaders | Record<string, string | string[] | undefined>): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value;
  return out;
}

function main(): void {
  const origins = process.argv.slice(2);
  if (origins.length === 0) throw new Error("usage: bare-proxy <upstream origin>…");
  // More connections than the benchmark's 50 in flight, so none waits for a free one.
  const pools = origins.map((origin) => new Pool(origin, { connections: 128, keepAliveTimeout: 60_000 }));
  const server = createServer((req, res) => {
    const pool = pools[Number(req.headers["x-upstream"] ?? 0)];
    if (!pool) {
      res.writeHead(400, { "content-type": "text/plain" }).end(`x-upstream: an index below ${pools.length}\n`);
      return;
    }
    const hasBody = req.method !== "GET" && req.method !== "HEAD";
    pool
      .request({ path: req.url ?? "/", method: (req.method ?? "GET") as "GET", headers: endToEnd(req.headers) as Record<string, string>, body: hasBody ? req : null })
      .then(({ statusCode, headers, body }) => {
        res.writeHead(statusCode, endToEnd(headers));
        body.pipe(res);
      })
      .catch((err: unknown) => {
        if (!res.headersSent) res.writeHead(502, { "content-type": "text/plain" }).end(`upstream: ${(err as Error).message}\n`);
        else res.destroy();
      });
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, "127.0.0.1", () => {
    console.log(`ready ${JSON.stringify({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` })}`);
  });
  process.on("SIGTERM", () => {
    server.closeAllConnections();
    void Promise.all(pools.map((p) => p.close())).finally(() => process.exit(0));
  });
}

if (require.main === module) main();
