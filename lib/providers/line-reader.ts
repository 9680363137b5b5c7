/**
 * A byte stream as text lines (LF or CRLF), decoded as UTF-8 across chunk
 * boundaries: a character or a line split between two network reads comes
 * out whole. The last line is yielded even without a final newline.
 */
export async function* readLines(body: AsyncIterable<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let pending = "";
  for await (const bytes of body) {
    pending += decoder.decode(bytes, { stream: true });
    let newline = pending.indexOf("\n");
    while (newline !== -1) {
      const line = pending.slice(0, newline);
      yield line.endsWith("\r") ? line.slice(0, -1) : line;
      pending = pending.slice(newline + 1);
      newline = pending.indexOf("\n");
    }
  }
  pending += decoder.decode();
  if (pending.length > 0) yield pending.endsWith("\r") ? pending.slice(0, -1) : pending;
}
