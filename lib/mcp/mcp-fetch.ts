import type { FetchLike } from "@modelcontextprotocol/sdk/shared/transport.js";
import { request as undiciRequest } from "undici";

/** Statuses whose Response may have no body. */
const NULL_BODY_STATUSES = new Set([101, 204, 205, 304]);

function headerRecord(headers: RequestInit["headers"]): Record<string, string> {
  if (!headers) return {};
  if (headers instanceof Headers) return Object.fromEntries(headers.entries());
  if (Array.isArray(headers)) return Object.fromEntries(headers);
  return { ...headers } as Record<string, string>;
}

function responseHeaders(received: Record<string, string | string[] | undefined>, contentType?: string): Headers {
  const headers = new Headers();
  for (const name in received) {
    const value = received[name];
    if (Array.isArray(value)) for (const v of value) headers.append(name, v);
    else if (value !== undefined) headers.append(name, value);
  }
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

/**
 * The fetch of CORE's Streamable HTTP clients. A POST whose message asks for
 * no progress goes over undici's `request` (its keep-alive pool per origin,
 * shared by every client of the process) and its answer is read whole: an
 * SSE answer that holds the response is handed to the SDK as the
 * `application/json` array of its messages, in order (what a server may
 * answer anyway), so the SDK's web-stream SSE parser and a streaming fetch
 * are not in the path of every call. Anything else (the GET stream, a
 * request with a progress token, whose notifications must arrive as they are
 * sent) goes to the global fetch, streaming.
 */
export function createMcpFetch(): FetchLike {
  // Node's fetch goes through HTTP(S)_PROXY when told to; undici's request only if its global dispatcher does: then fetch does all.
  const envProxy = process.env.NODE_USE_ENV_PROXY === "1" || process.execArgv.includes("--use-env-proxy");
  return (input, init) => {
    const body = init?.body;
    if (envProxy || init?.method !== "POST" || typeof body !== "string" || body.includes('"progressToken"')) return fetch(input, init);
    const url = typeof input === "string" ? new URL(input) : input;
    if (url.protocol !== "https:" && url.protocol !== "http:") return fetch(input, init);
    return postWhole(url, headerRecord(init.headers), body, init.signal ?? undefined);
  };
}

async function postWhole(url: URL, headers: Record<string, string>, body: string, signal: AbortSignal | undefined): Promise<Response> {
  // Rejects when the answer is cut off before its end (the request aborted, the server gone): no partial answer.
  const res = await undiciRequest(url, { method: "POST", headers, body, ...(signal ? { signal } : {}) });
  const init = { status: res.statusCode, statusText: "" };
  if (NULL_BODY_STATUSES.has(res.statusCode)) {
    await res.body.dump();
    return new Response(null, { ...init, headers: responseHeaders(res.headers) });
  }
  const raw = Buffer.from(await res.body.arrayBuffer());
  const type = String(res.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase();
  const messages = res.statusCode === 200 && type === "text/event-stream" ? sseMessages(raw.toString("utf8")) : undefined;
  if (messages) return new Response(JSON.stringify(messages.length === 1 ? messages[0] : messages), { ...init, headers: responseHeaders(res.headers, "application/json") });
  return new Response(raw, { ...init, headers: responseHeaders(res.headers) });
}
