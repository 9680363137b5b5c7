/** One server-sent event (https://html.spec.whatwg.org/multipage/server-sent-events.html). */
export interface SseEvent {
  /** The `event:` field, `message` when absent. */
  event: string;
  /** The `data:` lines joined with "\n". */
  data: string;
}

/**
 * Server-sent events from text lines: fields accumulate until a blank line
 * dispatches them; comments (`:`) and `id`/`retry` fields are ignored. Unlike
 * a browser, an event still pending when the stream ends is dispatched: a
 * server that omits the last blank line still delivers its final chunk.
 */
export async function* readSse(lines: AsyncIterable<string>): AsyncGenerator<SseEvent> {
  let event = "";
  let data: string[] = [];
  for await (const line of lines) {
    if (line === "") {
      if (data.length > 0) yield { event: event || "message", data: data.join("\n") };
      event = "";
      data = [];
      continue;
    }
    if (line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") event = value;
    else if (field === "data") data.push(value);
  }
  if (data.length > 0) yield { event: event || "message", data: data.join("\n") };
}
