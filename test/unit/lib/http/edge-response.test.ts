import { createServer, request, type IncomingHttpHeaders, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { EdgeResponse, queueHeader, queueHeaders } from "../../../../lib/http/edge-response";

type Handler = (res: EdgeResponse) => void;

let server: Server;
let handler: Handler;

beforeAll(async () => {
  server = createServer({ ServerResponse: EdgeResponse }, (_req, res) => {
    try {
      handler(res as EdgeResponse);
    } catch (err) {
      if (!res.headersSent) res.statusCode = 599;
      res.end(`${(err as { code?: string }).code ?? ""} ${(err as Error).message}`);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

/** Serves one request with `h`; the status, the raw header lines in order, the parsed headers and the body. */
function serve(h: Handler): Promise<{ status: number; raw: string[][]; headers: IncomingHttpHeaders; body: string }> {
  handler = h;
  return new Promise((resolve, reject) => {
    const req = request({ port: (server.address() as AddressInfo).port, host: "127.0.0.1", path: "/" }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (body += chunk));
      res.on("end", () => {
        const raw: string[][] = [];
        for (let i = 0; i < res.rawHeaders.length; i += 2) raw.push([res.rawHeaders[i]!, res.rawHeaders[i + 1]!]);
        resolve({ status: res.statusCode!, raw: raw.filter(([name]) => !/^(date|connection|keep-alive)$/i.test(name!)), headers: res.headers, body });
      });
    });
    req.on("error", reject);
    req.end();
  });
}

describe("EdgeResponse", () => {
  it("writes queued and set headers with the status line, in order, with the body's length", async () => {
    const res = await serve((r) => {
      queueHeaders(r, { "X-Content-Type-Options": "nosniff", "Cache-Control": "no-store" });
      r.setHeader("Content-Type", "application/json; charset=utf-8");
      queueHeader(r, "X-Request-Id", "abc");
      r.statusCode = 202;
      r.end('{"ok":true}');
    });
    expect(res.status).toBe(202);
    expect(res.raw).toEqual([
      ["X-Content-Type-Options", "nosniff"],
      ["Cache-Control", "no-store"],
      ["Content-Type", "application/json; charset=utf-8"],
      ["X-Request-Id", "abc"],
      ["Content-Length", "11"],
    ]);
    expect(res.body).toBe('{"ok":true}');
  });

  it("replaces a header set again, whatever the case of its name, as Node does", async () => {
    const res = await serve((r) => {
      r.setHeader("X-Request-ID", "moleculer-id");
      queueHeader(r, "X-Request-Id", "client-id");
      r.setHeader("cache-control", "no-cache");
      queueHeader(r, "Cache-Control", "no-store");
      r.end();
    });
    expect(res.raw).toEqual([
      ["X-Request-Id", "client-id"],
      ["Cache-Control", "no-store"],
      ["Content-Length", "0"],
    ]);
  });

  it("validates a set header at once and throws Node's errors", async () => {
    const res = await serve((r) => {
      r.setHeader("X-Bad", "line\r\nInjected: yes");
    });
    expect(res.status).toBe(599);
    expect(res.body).toMatch(/^ERR_INVALID_CHAR /);
    expect(res.headers.injected).toBeUndefined();
    const name = await serve((r) => {
      r.setHeader("Bad Name", "x");
    });
    expect(name.body).toMatch(/^ERR_INVALID_HTTP_TOKEN /);
  });

  it("reads, lists and removes the headers it holds", async () => {
    const seen: unknown[] = [];
    const res = await serve((r) => {
      queueHeader(r, "X-Trace-Id", "t1");
      r.setHeader("Content-Type", "text/plain");
      seen.push(r.getHeader("x-trace-id"), r.hasHeader("CONTENT-TYPE"), r.hasHeader("etag"), r.getHeader("ETag"));
      r.removeHeader("Content-Type");
      seen.push(r.hasHeader("content-type"), r.getHeaderNames(), r.getHeaders());
      r.setHeader("X-After", "1");
      r.end("x");
    });
    expect(seen).toEqual(["t1", true, false, undefined, false, ["x-trace-id"], { "x-trace-id": "t1" }]);
    expect(res.raw).toEqual([
      ["X-Trace-Id", "t1"],
      ["X-After", "1"],
      ["Content-Length", "1"],
    ]);
  });

  it("takes values it does not hold itself (numbers, lists) through Node's store, keeping the earlier headers", async () => {
    const res = await serve((r) => {
      queueHeader(r, "X-Request-Id", "abc");
      r.setHeader("Content-Length", 2);
      r.setHeader("Set-Cookie", ["a=1", "b=2"]);
      queueHeader(r, "X-Trace-Id", "t1");
      r.appendHeader("Set-Cookie", "c=3");
      r.end("ok");
    });
    expect(res.raw).toEqual([
      ["X-Request-Id", "abc"],
      ["Content-Length", "2"],
      ["Set-Cookie", "a=1"],
      ["Set-Cookie", "b=2"],
      ["Set-Cookie", "c=3"],
      ["X-Trace-Id", "t1"],
    ]);
    expect(res.body).toBe("ok");
  });

  it("lets headers passed to writeHead win over earlier ones, and keeps a reason phrase", async () => {
    const res = await serve((r) => {
      queueHeaders(r, { "Cache-Control": "no-store", "X-Frame-Options": "DENY" });
      r.writeHead(200, "Fine", { "Content-Type": "text/event-stream", "Cache-Control": "no-cache" });
      r.end("data: 1\n\n");
    });
    expect(res.headers["cache-control"]).toBe("no-cache");
    expect(res.headers["x-frame-options"]).toBe("DENY");
    expect(res.headers["content-type"]).toBe("text/event-stream");
    const plain = await serve((r) => {
      queueHeader(r, "X-Frame-Options", "DENY");
      r.writeHead(204, "Nothing");
      r.end();
    });
    expect(plain.status).toBe(204);
    expect(plain.raw).toEqual([["X-Frame-Options", "DENY"]]);
  });

  it("refuses headers once the head is written, as Node does", async () => {
    const errors: string[] = [];
    await serve((r) => {
      queueHeader(r, "X-Request-Id", "abc");
      r.write("partial");
      for (const attempt of [() => r.setHeader("X-Late", "1"), () => r.queue("X-Late", "1"), () => r.removeHeader("X-Request-Id")]) {
        try {
          attempt();
        } catch (err) {
          errors.push((err as { code: string }).code);
        }
      }
      r.end();
    });
    expect(errors).toEqual(["ERR_HTTP_HEADERS_SENT", "ERR_HTTP_HEADERS_SENT", "ERR_HTTP_HEADERS_SENT"]);
  });

  it("queueHeader sets the header on any other response", () => {
    const set: Array<[string, string]> = [];
    const other = { setHeader: (name: string, value: string) => set.push([name, value]) } as unknown as ServerResponse;
    queueHeaders(other, { "X-Frame-Options": "DENY" });
    queueHeader(other, "X-Request-Id", "abc");
    expect(set).toEqual([
      ["X-Frame-Options", "DENY"],
      ["X-Request-Id", "abc"],
    ]);
  });
});
