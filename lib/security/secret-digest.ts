import { createHash, timingSafeEqual } from "node:crypto";

/*
 * High-entropy secrets (API keys, refresh tokens) are stored as their SHA-256:
 * they are random, so a slow password hash adds nothing, and a leaked table
 * gives nobody a usable credential.
 */

/** SHA-256 of `secret` (UTF-8), as 64 lower-case hex characters. */
export function sha256Hex(secret: string): string {
  return createHash("sha256").update(secret, "utf8").digest("hex");
}

/** True when `secret` hashes to `storedHex`, compared in constant time. */
export function matchesDigest(secret: string, storedHex: string): boolean {
  const expected = Buffer.from(storedHex, "hex");
  const actual = createHash("sha256").update(secret, "utf8").digest();
  // A stored value that is not a SHA-256 (wrong length) matches nothing; timingSafeEqual would throw on it.
  return expected.length === actual.length && timingSafeEqual(actual, expected);
}
