import { ProviderResponseError } from "../errors/errors";
import type { Completion, CompletionChunk } from "./types";

/** Reads a stream to its end: the completion its chunks add up to. */
export async function collectStream(stream: AsyncIterable<CompletionChunk>): Promise<Completion> {
  let text = "";
  for await (const chunk of stream) {
    if (chunk.type === "delta") {
      text += chunk.text;
    } else {
      const { type: _type, ...end } = chunk;
      return { text, ...end };
    }
  }
  // The clients always end with `done` or throw; a stream that does neither is someone else's.
  throw new ProviderResponseError("the stream ended without its final chunk");
}
