import { createHash } from "node:crypto";
import { API_KEY_LENGTH, apiKeyMatches, generateApiKey, hashApiKey, looksLikeApiKey, parseApiKey } from "../../../../lib/security/api-keys";
import { generateRefreshToken, isWellFormedRefreshToken } from "../../../../lib/security/refresh-token";
import { matchesDigest, sha256Hex } from "../../../../lib/security/secret-digest";

describe("API keys", () => {
  it("generate as core_<16 hex id>_<43 base64url secret>, with the SHA-256 hex of the whole key", () => {
    const { id, key, hash } = generateApiKey();
    expect(key).toMatch(/^core_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    expect(key).toHaveLength(API_KEY_LENGTH);
    expect(key.startsWith(`core_${id}_`)).toBe(true);
    expect(hash).toBe(createHash("sha256").update(key).digest("hex"));
    expect(hashApiKey(key)).toBe(hash);
    expect(generateApiKey().key).not.toBe(key);
  });

  it("parse a well-formed key to its id, even when the secret holds underscores", () => {
    const id = "0123456789abcdef";
    const key = `core_${id}_${"_".repeat(10)}${"a".repeat(33)}`;
    expect(parseApiKey(key)).toEqual({ id, key });
  });

  it("refuse malformed keys without any lookup", () => {
    const { key } = generateApiKey();
    for (const bad of [
      "",
      "core_",
      key.slice(0, -1),
      `${key}x`,
      key.replace("core_", "cora_"),
      key.replace(/^core_[0-9a-f]/, "core_G"),
      key.replace(/_([^_]*)$/, "=$1"),
      `${key.slice(0, -1)}=`,
      ` ${key.slice(1)}`,
      // White space inside (authenticate hands over whatever follows `Bearer `).
      `${key.slice(0, 30)} ${key.slice(31)}`,
      `${key.slice(0, 30)}\u00a0${key.slice(31)}`,
      "x".repeat(10_000),
    ]) {
      expect(parseApiKey(bad)).toBeUndefined();
    }
    expect(parseApiKey(undefined as unknown as string)).toBeUndefined();
  });

  it("match only the key they were made from, and nothing against a stored value that is not a SHA-256", () => {
    const { key, hash } = generateApiKey();
    expect(apiKeyMatches(key, hash)).toBe(true);
    const tampered = `${key.slice(0, -1)}${key.endsWith("A") ? "B" : "A"}`;
    expect(apiKeyMatches(tampered, hash)).toBe(false);
    expect(apiKeyMatches(key, hash.slice(0, 10))).toBe(false);
    expect(apiKeyMatches(key, "")).toBe(false);
    expect(apiKeyMatches(key, "zz".repeat(32))).toBe(false);
  });

  it("are recognised by their prefix", () => {
    expect(looksLikeApiKey(generateApiKey().key)).toBe(true);
    expect(looksLikeApiKey("eyJhbGciOiJIUzI1NiJ9.e30.x")).toBe(false);
  });
});

describe("refresh tokens and digests", () => {
  it("generate 43-character opaque tokens with their SHA-256", () => {
    const { token, hash } = generateRefreshToken();
    expect(isWellFormedRefreshToken(token)).toBe(true);
    expect(hash).toBe(sha256Hex(token));
    expect(matchesDigest(token, hash)).toBe(true);
    expect(matchesDigest(`${token}x`, hash)).toBe(false);
    for (const bad of ["", token.slice(1), `${token}=`, 42, undefined]) expect(isWellFormedRefreshToken(bad)).toBe(false);
  });
});
