import { ServerResponse, validateHeaderName, validateHeaderValue, type IncomingMessage, type OutgoingHttpHeader, type OutgoingHttpHeaders } from "node:http";

type HeaderList = OutgoingHttpHeaders | OutgoingHttpHeader[];

/** ASCII case-insensitive equality of header names (which are ASCII tokens), without lower-cased copies. */
function sameName(a: string, b: string): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x >= 65 && x <= 90) x += 32;
    if (y >= 65 && y <= 90) y += 32;
    if (x !== y) return false;
  }
  return true;
}

/** The index of `name` in a name, value, name, value… list, or -1. */
function indexOfName(list: readonly string[], name: string): number {
  for (let i = 0; i < list.length; i += 2) if (sameName(list[i]!, name)) return i;
  return -1;
}

/** Sets `name` in the list: replaces the entry of the same name (and its spelling), or appends one. */
function putHeader(list: string[], name: string, value: string): void {
  const at = indexOfName(list, name);
  if (at < 0) list.push(name, value);
  else {
    list[at] = name;
    list[at + 1] = value;
  }
}

/**
 * The responses of the edge's HTTP server (`http.createServer({ ServerResponse: EdgeResponse })`):
 * headers set before the head is written are kept in one list and handed to
 * `writeHead` with the status line, rather than filed one by one in Node's
 * own header store.
 *
 * Why: Node's `setHeader` lower-cases each name and files the pair in an
 * object that the head's writing then walks again; for the dozen headers of
 * a CORE answer (security headers, request and trace ids, rate-limit state,
 * content type) that was ~3 µs of CPU a request, about a tenth of what the
 * gateway spends on one (benchmarks/edge-headers: 7.1 µs a head on Node's
 * response, 4.2 on this one).
 *
 * Nothing else changes for code that uses the response: `setHeader` still
 * validates at once and throws as Node's does, a header set again replaces
 * the earlier one whatever the case of its name, `getHeader`/`hasHeader`
 * read the list. Anything the list does not model (a number or an array as
 * a value, `appendHeader`, `removeHeader`, listing the headers) first moves
 * the list into Node's store, which then serves as usual; so do headers
 * passed to `writeHead` itself, which win over the earlier ones as in Node.
 * Every way a head gets written goes through `writeHead` (`end`, `write` and
 * `flushHeaders` call it when it was not called). Once written, the listed
 * headers are in the head only, as headers passed to `writeHead` are in Node:
 * `getHeader` no longer finds them.
 */
export class EdgeResponse<Request extends IncomingMessage = IncomingMessage> extends ServerResponse<Request> {
  /** Name, value, name, value… (the form `writeHead` takes as it is); undefined once moved to Node's store. */
  private pending: string[] | undefined = [];

  /**
   * A header the edge itself adds (a constant, or a value it made): valid by construction, so validated
   * once, when the head is written, rather than here as well.
   */
  queue(name: string, value: string): void {
    if (this.pending === undefined) super.setHeader(name, value);
    else putHeader(this.pending, name, value);
  }

  override setHeader(name: string, value: number | string | readonly string[]): this {
    if (this.pending === undefined || typeof value !== "string") {
      this.toNodeStore();
      return super.setHeader(name, value);
    }
    validateHeaderName(name);
    validateHeaderValue(name, value);
    putHeader(this.pending, name, value);
    return this;
  }

  override getHeader(name: string): number | string | string[] | undefined {
    if (this.pending === undefined) return super.getHeader(name);
    const at = indexOfName(this.pending, name);
    return at < 0 ? undefined : this.pending[at + 1];
  }

  override hasHeader(name: string): boolean {
    return this.pending === undefined ? super.hasHeader(name) : indexOfName(this.pending, name) >= 0;
  }

  override removeHeader(name: string): void {
    this.toNodeStore();
    super.removeHeader(name);
  }

  override appendHeader(name: string, value: string | readonly string[]): this {
    this.toNodeStore();
    return super.appendHeader(name, value);
  }

  override getHeaderNames(): string[] {
    this.toNodeStore();
    return super.getHeaderNames();
  }

  // Node's, missing from its typings.
  getRawHeaderNames(): string[] {
    this.toNodeStore();
    return (ServerResponse.prototype as unknown as { getRawHeaderNames(this: ServerResponse): string[] }).getRawHeaderNames.call(this);
  }

  override getHeaders(): OutgoingHttpHeaders {
    this.toNodeStore();
    return super.getHeaders();
  }

  override writeHead(statusCode: number, reasonOrHeaders?: string | HeaderList, headers?: HeaderList): this {
    const pending = this.pending;
    const given = typeof reasonOrHeaders === "string" ? headers : reasonOrHeaders;
    if (pending === undefined || given !== undefined) {
      this.toNodeStore();
      return super.writeHead(statusCode, reasonOrHeaders as string, headers);
    }
    this.pending = undefined;
    return typeof reasonOrHeaders === "string" ? super.writeHead(statusCode, reasonOrHeaders, pending) : super.writeHead(statusCode, pending);
  }

  /** Hands the listed headers to Node's store, which keeps every header from then on. */
  private toNodeStore(): void {
    const pending = this.pending;
    if (pending === undefined) return;
    this.pending = undefined;
    for (let i = 0; i < pending.length; i += 2) super.setHeader(pending[i]!, pending[i + 1]!);
  }
}

/** `EdgeResponse.queue` on the edge's responses; `setHeader` on any other (a test's, another server's). */
export function queueHeader(res: ServerResponse, name: string, value: string): void {
  if (res instanceof EdgeResponse) res.queue(name, value);
  else res.setHeader(name, value);
}

/** `queueHeader` for each of `headers` (plain objects: no inherited keys). */
export function queueHeaders(res: ServerResponse, headers: Readonly<Record<string, string>>): void {
  // for…in rather than Object.entries: no array per header on every answer.
  for (const name in headers) queueHeader(res, name, headers[name]!);
}
