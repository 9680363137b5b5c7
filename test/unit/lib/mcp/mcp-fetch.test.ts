import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { createMcpFetch, sseMessages } from "../../../../lib/mcp/mcp-fetch";

/** createMcpFetch against a server that answers as the test says, recording what it was sent. */
let http: Server;
let url: string;
let answer: (req: IncomingMessage, res: ServerResponse, body: string) => void;
const seen: Array<{ method: string | undefined; headers: IncomingMessage["headers"]; body: string }> = [];

beforeAll(async () => {
  http = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString();
      seen.push({ method: req.method, headers: req.headers, body });
      answer(req, res, body);
    });
  });
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`;
});
afterAll(async () => {
  http.closeAllConnections();
  await new Promise((resolve) => http.close(resolve));
});
beforeEach(() => {
  seen.length = 0;
});

const request = (params: object = {}) => JSON.stringify({ jsonrpc: "2.0", id: 7, method: "tools/call", params: { name: "echo", ...params } });
const post = (body: string, signal?: AbortSignal) =>
  createMcpFetch()(url, { method: "POST", headers: { "content-type": "application/json", accept: "application/json, text/event-stream", "x-extra": "1" }, body, ...(signal ? { signal } : {}) });

describe("sseMessages", () => {
  it("reads the messages of a whole SSE body that holds a response, skipping priming events", () => {
    const text = 'id: 1\ndata: \n\nevent: message\nid: 2\ndata: {"jsonrpc":"2.0","method":"notifications/message","params":{}}\n\r\ndata: {"jsonrpc":"2.0",\ndata: "id":7,"result":{}}\n\n';
    expect(sseMessages(text)).toEqual([
      { jsonrpc: "2.0", method: "notifications/message", params: {} },
      { jsonrpc: "2.0", id: 7, result: {} },
    ]);
  });

  it("gives up on a body without a response or with data that is not JSON", () => {
    expect(sseMessages('id: 1\ndata: \n\ndata: {"jsonrpc":"2.0","method":"notifications/progress","params":{}}\n\n')).toBeUndefined();
    expect(sseMessages("data: {not json\n\n")).toBeUndefined();
  });
});

describe("createMcpFetch", () => {
  it("hands a plain request's SSE answer over as JSON, with the server's headers and status", async () => {
    answer = (_req, res) => {
      res.writeHead(200, { "Content-Type": "text/event-stream", "mcp-session-id": "s-1" });
      res.write("id: a\ndata: \n\n");
      res.end('event: message\nid: b\ndata: {"jsonrpc":"2.0","id":7,"result":{"content":[]}}\n\n');
    };
    const res = await post(request());
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/json");
    expect(res.headers.get("mcp-session-id")).toBe("s-1");
    expect(await res.json()).toEqual({ jsonrpc: "2.0", id: 7, result: { content: [] } });
    expect(seen[0]!.headers["x-extra"]).toBe("1");
    expect(seen[0]!.body).toBe(request());
  });

  it("passes JSON answers, errors and 202s through as they are", async () => {
    answer = (_req, res) => {
      res.writeHead(404, { "Content-Type": "application/json" });
      res.end('{"jsonrpc":"2.0","error":{"code":-32001,"message":"Session not found"},"id":null}');
    };
    const missing = await post(request());
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ jsonrpc: "2.0", error: { code: -32001, message: "Session not found" }, id: null });
    answer = (_req, res) => {
      res.writeHead(202);
      res.end();
    };
    const accepted = await post(JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }));
    expect(accepted.status).toBe(202);
    expect(await accepted.text()).toBe("");
  });

  it("leaves an SSE answer without the response to the SDK, as it came", async () => {
    const text = "id: a\nretry: 10\ndata: \n\n";
    answer = (_req, res) => {
      res.writeHead(200, { "Content-Type": "text/event-stream" });
      res.end(text);
    };
    const res = await post(request());
    expect(res.headers.get("content-type")).toBe("text/event-stream");
    expect(await res.text()).toBe(text);
  });

  it("streams the answer to a request that asked for progress", async () => {
    let finish: (() => void) | undefined;
    answer = (_req, res) => {
      res.writeHead(200, { "Content-Type": "text/event-stream" });
      res.write('data: {"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":"p","progress":1}}\n\n');
      finish = () => res.end('data: {"jsonrpc":"2.0","id":7,"result":{}}\n\n');
    };
    const res = await post(request({ _meta: { progressToken: "p" } }));
    expect(res.headers.get("content-type")).toBe("text/event-stream");
    const reader = res.body!.getReader();
    // The progress arrives while the server still holds the answer back.
    expect(new TextDecoder().decode((await reader.read()).value)).toContain("notifications/progress");
    finish!();
    await reader.cancel();
  });

  it("is aborted by the request's signal", async () => {
    answer = () => undefined; // never answers
    const controller = new AbortController();
    const pending = post(request(), controller.signal);
    setTimeout(() => controller.abort(), 20);
    await expect(pending).rejects.toThrow();
  });
});
