import { randomUUID } from "node:crypto";

export type Json = Record<string, unknown>;

export function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A provider-style id: `msg_01…`, `chatcmpl-…`. */
export function stubId(prefix: string): string {
  return `${prefix}${randomUUID().replace(/-/g, "").slice(0, 24)}`;
}

/** Text of a message content: a string, or an array of `{type: "text", text}` parts. */
export function contentText(content: unknown): string {
  if (typeof content === "string") return content;
  if (Array.isArray(content)) {
    return content
      .map((part) => (isObject(part) && typeof part.text === "string" ? part.text : ""))
      .filter(Boolean)
      .join(" ");
  }
  return "";
}

/** The key as OpenAI echoes it in its 401: first and last characters, stars between. */
export function maskKey(key: string): string {
  return key.length <= 8 ? "****" : `${key.slice(0, 5)}****${key.slice(-4)}`;
}
