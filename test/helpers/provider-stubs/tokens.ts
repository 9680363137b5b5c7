/**
 * The stubs' tokenizer: one token per whitespace-separated word. Real
 * providers count differently; what matters is that the usage each stub
 * reports is known to the test, which counts with the same function.
 */
export function countTokens(text: string): number {
  const words = text.trim().split(/\s+/);
  return words[0] === "" ? 0 : words.length;
}

/** The text cut to its first `max` words, whitespace kept as it was. */
export function firstWords(text: string, max: number): string {
  const pieces = textPieces(text);
  return pieces.slice(0, max).join("").trimEnd();
}

/** Stream chunks: one word each, with the whitespace before it, so they join back to the text. */
export function textPieces(text: string): string[] {
  const pieces = text.match(/\s*\S+/g) ?? [];
  const tail = text.slice(pieces.join("").length);
  if (tail && pieces.length > 0) pieces[pieces.length - 1] += tail;
  return pieces;
}
