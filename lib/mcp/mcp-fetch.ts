import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import type { FetchLike } from "@modelcontextprotocol/sdk/shared/transport.js";

/** Statuses whose Response may have no body. */
const NULL_BODY_STATUSES = new Set([101, 204, 205, 304]);

function headerRecord(headers: RequestInit["headers"]): Record<string, string> {
  if (!headers) return {};
  if (headers instanceof Headers) return Object.fromEntries(headers.entries());
  if (Array.isArray(headers)) return Object.fromEntries(headers);
  return { ...headers } as Record<string, string>;
}

function responseHeaders(res: IncomingMessage, contentType?: string): Headers {
  const headers = new Headers();
  const raw = res.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) headers.append(raw[i]!, raw[i + 1]!);
  if (contentType !== undefined) headers.set("content-type", contentType);
  return headers;
}

/**
 * The JSON-RPC messages of a whole SSE body (`message` events, or events
 * without a type; priming events without data skipped), or undefined when it
 * holds no response, or anything but JSON in its data: then the SDK reads the
 * stream itself, as it would have (resuming it if it ended early).
 */
export function sseMessages(text: string): unknown[] | undefined {
  const messages: unknown[] = [];
  let answered = false;
  let event = "";
  let data: string[] = [];
  // A trailing blank line dispatches the last event, as the end of a stream does not.
  for (const line of `${text}\n\n`.split(/\r\n|\n|\r/)) {
    if (line !== "") {
      if (line.startsWith("data:")) data.push(line.slice(line[5] === " " ? 6 : 5));
      else if (line.startsWith("event:")) event = line.slice(line[6] === " " ? 7 : 6);
      continue;
    }
    const joined = data.join("\n");
    const type = event;
    event = "";
    data = [];
    if (joined === "" || (type !== "" && type !== "message")) continue;
    let message: unknown;
    try {
      message = JSON.parse(joined);
    } catch {
      return undefined;
    }
    if (message !== null && typeof message === "object" && "id" in message && ("result" in message || "error" in message)) answered = true;
    messages.push(message);
  }
  return answered ? messages : undefined;
}

/** Shared by every client of the process: connections to one server are reused across its sessions. */
const agents = { http: new HttpAgent({ keepAlive: true }), https: new HttpsAgent({ keepAlive: true }) };

/**
 * The fetch of CORE's Streamable HTTP clients. A POST whose message asks for
 * no progress goes over node:http with a keep-alive agent and its answer is
 * read whole: an SSE answer that holds the response is handed to the SDK as
 * the `application/json` array of its messages, in order (what a server may
 * answer anyway), so the SDK's web-stream SSE parser and undici's fetch are
 * not in the path of every call. Anything else (the GET stream, a request
 * with a progress token, whose notifications must arrive as they are sent)
 * goes to the global fetch, streaming.
 */
export function createMcpFetch(): FetchLike {
  // Node's fetch goes through HTTP(S)_PROXY when told to; node:http with an agent of its own would not: then fetch does all.
  const envProxy = process.env.NODE_USE_ENV_PROXY === "1" || process.execArgv.includes("--use-env-proxy");
  return (input, init) => {
    const body = init?.body;
    if (envProxy || init?.method !== "POST" || typeof body !== "string" || body.includes('"progressToken"')) return fetch(input, init);
    const url = typeof input === "string" ? new URL(input) : input;
    const https = url.protocol === "https:";
    if (!https && url.protocol !== "http:") return fetch(input, init);
    return new Promise<Response>((resolve, reject) => {
      const req = (https ? httpsRequest : httpRequest)(url, {
        method: "POST",
        headers: { ...headerRecord(init.headers), "content-length": String(Buffer.byteLength(body)) },
        agent: https ? agents.https : agents.http,
        ...(init.signal ? { signal: init.signal } : {}),
      });
      req.once("error", reject);
      req.once("response", (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.once("error", reject);
        // Cut off before the end (the request aborted, the server gone): no partial answer.
        res.once("close", () => {
          if (!res.complete) reject(new Error("the MCP server's answer was cut off"));
        });
        res.once("end", () => {
          const status = res.statusCode ?? 0;
          const init = { status, statusText: res.statusMessage ?? "" };
          if (NULL_BODY_STATUSES.has(status)) return resolve(new Response(null, { ...init, headers: responseHeaders(res) }));
          const raw = Buffer.concat(chunks);
          const type = res.headers["content-type"]?.split(";")[0]?.trim().toLowerCase();
          const messages = status === 200 && type === "text/event-stream" ? sseMessages(raw.toString("utf8")) : undefined;
          if (messages) {
            resolve(new Response(JSON.stringify(messages.length === 1 ? messages[0] : messages), { ...init, headers: responseHeaders(res, "application/json") }));
          } else resolve(new Response(raw, { ...init, headers: responseHeaders(res) }));
        });
      });
      req.end(body);
    });
  };
}
