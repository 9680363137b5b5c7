import { randomBytes } from "node:crypto";
import { matchesDigest, sha256Hex } from "./secret-digest";

/**
 * An API key reads `core_<id>_<secret>`: the id (16 hex characters) is public
 * and finds the row, the secret (32 random bytes, base64url) is what proves
 * possession. Only the SHA-256 of the whole key is stored. The fixed prefix
 * makes a leaked key easy to recognise (secret scanners, logs).
 */
export const API_KEY_PREFIX = "core_";

const ID_BYTES = 8;
const SECRET_BYTES = 32;
const KEY_PATTERN = /^core_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;
/** Exact length of a well-formed key: longer input is refused before any work. */
export const API_KEY_LENGTH = API_KEY_PREFIX.length + ID_BYTES * 2 + 1 + 43;

export interface GeneratedApiKey {
  /** The public id (the row's primary key). */
  id: string;
  /** The whole key: shown once, never stored. */
  key: string;
  /** SHA-256 hex of `key`: what is stored. */
  hash: string;
}

export interface ParsedApiKey {
  id: string;
  key: string;
}

export function generateApiKey(): GeneratedApiKey {
  const id = randomBytes(ID_BYTES).toString("hex");
  const key = `${API_KEY_PREFIX}${id}_${randomBytes(SECRET_BYTES).toString("base64url")}`;
  return { id, key, hash: hashApiKey(key) };
}

/** True for anything that claims to be an API key (so a `Bearer` value can be routed to key checking). */
export function looksLikeApiKey(value: string): boolean {
  return value.startsWith(API_KEY_PREFIX);
}

/** The id of a well-formed key, or undefined: malformed keys are refused without touching the database. */
export function parseApiKey(value: string): ParsedApiKey | undefined {
  if (typeof value !== "string" || value.length !== API_KEY_LENGTH) return undefined;
  const m = KEY_PATTERN.exec(value);
  return m ? { id: m[1]!, key: value } : undefined;
}

export function hashApiKey(key: string): string {
  return sha256Hex(key);
}

/** Constant-time check of a presented key against the stored hash. */
export function apiKeyMatches(key: string, storedHash: string): boolean {
  return matchesDigest(key, storedHash);
}
