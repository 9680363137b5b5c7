import { randomBytes } from "node:crypto";
import { sha256Hex } from "./secret-digest";

/**
 * Refresh tokens are opaque: 32 random bytes, base64url (43 characters). The
 * database keeps only their SHA-256; what a token means (user, family, expiry)
 * lives in its row, so it can be revoked.
 */
const PATTERN = /^[A-Za-z0-9_-]{43}$/;

export interface GeneratedRefreshToken {
  token: string;
  hash: string;
}

export function generateRefreshToken(): GeneratedRefreshToken {
  const token = randomBytes(32).toString("base64url");
  return { token, hash: sha256Hex(token) };
}

/** False for anything that cannot be one of ours: refused without a database round trip. */
export function isWellFormedRefreshToken(value: unknown): value is string {
  return typeof value === "string" && PATTERN.test(value);
}

export function hashRefreshToken(token: string): string {
  return sha256Hex(token);
}
