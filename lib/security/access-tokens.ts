import { createSecretKey, randomUUID, type KeyObject } from "node:crypto";
import jwt from "jsonwebtoken";
import { setBounded } from "../bounded-map";
import { AccessTokenExpiredError, InvalidAccessTokenError } from "../errors";

export const DEFAULT_ISSUER = "core";
export const DEFAULT_AUDIENCE = "core-api";
export const DEFAULT_ACCESS_TTL_SEC = 15 * 60;
export const DEFAULT_CLOCK_TOLERANCE_SEC = 5;
/** How many verified access tokens a node remembers (a few MB at most). */
const VERIFIED_TOKENS_KEPT = 10_000;
/** HS256 wants a key at least as long as its output (RFC 7518 §3.2). */
export const MIN_JWT_SECRET_BYTES = 32;
/** A JWT longer than this is not one of ours: refused before any parsing. */
const MAX_TOKEN_LENGTH = 8 * 1024;

export interface AccessTokenOptions {
  /** The HS256 key (CORE_JWT_SECRET). */
  secret: string;
  issuer?: string;
  audience?: string;
  ttlSec?: number;
  /** Slack for clocks that differ between nodes, applied to `exp` and `nbf`. */
  clockToleranceSec?: number;
  /** Milliseconds since the epoch; tests move it. */
  now?: () => number;
}

/** The claims of a CORE access token, all checked on verify. */
export interface AccessTokenClaims {
  /** The principal id (a user's id). */
  sub: string;
  roles: string[];
  jti: string;
  iss: string;
  aud: string;
  iat: number;
  nbf: number;
  exp: number;
}

export interface IssuedAccessToken {
  token: string;
  /** Seconds until it expires. */
  expiresIn: number;
  claims: AccessTokenClaims;
}

/**
 * Why `secret` is unfit for signing, or undefined when it is fine. The node
 * refuses to start in production on any answer here.
 */
export function weakSecretReason(secret: string | undefined, knownDefaults: readonly string[] = []): string | undefined {
  if (!secret) return "CORE_JWT_SECRET is not set";
  if (knownDefaults.includes(secret)) return "CORE_JWT_SECRET is the published default";
  const bytes = Buffer.byteLength(secret, "utf8");
  if (bytes < MIN_JWT_SECRET_BYTES) return `CORE_JWT_SECRET is ${bytes} bytes long; it needs at least ${MIN_JWT_SECRET_BYTES} (e.g. \`openssl rand -base64 48\`)`;
  return undefined;
}

const isStringArray = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === "string");

/**
 * Short-lived JWT access tokens, HS256 only: the algorithm is pinned on
 * verify, so a token that names `none` or another algorithm fails however it
 * is signed. Every failure is a 401 whose message names the reason, never the
 * token.
 */
export class AccessTokens {
  readonly issuer: string;
  readonly audience: string;
  readonly ttlSec: number;
  private readonly key: KeyObject;
  private readonly toleranceSec: number;
  private readonly now: () => number;
  /**
   * Tokens whose signature and claims were checked (the gateway sees the same token on every request of a
   * session), by their signature: hashing its 43 characters for the lookup costs a fraction of hashing the
   * whole token; the entry keeps the whole token, compared before its claims are trusted. The oldest entry
   * goes first when full (a token forgotten is only verified again).
   */
  private readonly verified = new Map<string, { token: string; claims: AccessTokenClaims }>();

  constructor(options: AccessTokenOptions) {
    if (!options.secret) throw new RangeError("an access-token secret is required");
    this.key = createSecretKey(Buffer.from(options.secret, "utf8"));
    this.issuer = options.issuer ?? DEFAULT_ISSUER;
    this.audience = options.audience ?? DEFAULT_AUDIENCE;
    this.ttlSec = options.ttlSec ?? DEFAULT_ACCESS_TTL_SEC;
    this.toleranceSec = options.clockToleranceSec ?? DEFAULT_CLOCK_TOLERANCE_SEC;
    this.now = options.now ?? Date.now;
  }

  issue(subject: { id: string; roles: readonly string[] }): IssuedAccessToken {
    const iat = Math.floor(this.now() / 1000);
    const claims: AccessTokenClaims = {
      sub: subject.id,
      roles: [...subject.roles],
      jti: randomUUID(),
      iss: this.issuer,
      aud: this.audience,
      iat,
      nbf: iat,
      exp: iat + this.ttlSec,
    };
    const token = jwt.sign(claims, this.key, { algorithm: "HS256" });
    return { token, expiresIn: this.ttlSec, claims };
  }

  /** The token's claims, or an AccessTokenExpiredError / InvalidAccessTokenError (both 401). */
  verify(token: string): AccessTokenClaims {
    if (typeof token !== "string" || token.length === 0 || token.length > MAX_TOKEN_LENGTH) throw invalid("malformed");
    // A token verified once is the same bytes next time (signature included): only its time window needs checking again.
    const signature = token.slice(token.lastIndexOf(".") + 1);
    const known = this.verified.get(signature);
    if (known?.token === token) {
      const { claims } = known;
      const nowSec = this.now() / 1000;
      if (nowSec < claims.exp + this.toleranceSec && nowSec >= claims.nbf - this.toleranceSec) return claims;
      this.verified.delete(signature);
    }
    const claims = this.verifySignedToken(token);
    setBounded(this.verified, signature, { token, claims }, VERIFIED_TOKENS_KEPT);
    return claims;
  }

  private verifySignedToken(token: string): AccessTokenClaims {
    let payload: unknown;
    try {
      payload = jwt.verify(token, this.key, {
        algorithms: ["HS256"],
        issuer: this.issuer,
        audience: this.audience,
        clockTolerance: this.toleranceSec,
        clockTimestamp: Math.floor(this.now() / 1000),
      });
    } catch (err) {
      throw translate(err);
    }
    // jsonwebtoken checks exp and nbf only when present: CORE's tokens always carry every claim.
    const c = payload as Partial<AccessTokenClaims> | string;
    if (
      typeof c !== "object" ||
      typeof c.sub !== "string" ||
      c.sub.length === 0 ||
      !isStringArray(c.roles) ||
      typeof c.jti !== "string" ||
      typeof c.iat !== "number" ||
      typeof c.nbf !== "number" ||
      typeof c.exp !== "number"
    ) {
      throw invalid("missing claims");
    }
    return { sub: c.sub, roles: c.roles, jti: c.jti, iss: this.issuer, aud: this.audience, iat: c.iat, nbf: c.nbf, exp: c.exp };
  }
}

function invalid(reason: string, cause?: unknown): InvalidAccessTokenError {
  return new InvalidAccessTokenError(`The access token is not valid (${reason}); log in again.`, { data: { reason }, ...(cause ? { cause } : {}) });
}

/** jsonwebtoken's errors carry no token text, but their messages vary: map them to a few fixed reasons. */
function translate(err: unknown): Error {
  if (err instanceof jwt.TokenExpiredError) {
    return new AccessTokenExpiredError("The access token has expired; refresh it or log in again.", { data: { reason: "expired", expiredAt: err.expiredAt.toISOString() } });
  }
  if (err instanceof jwt.NotBeforeError) return invalid("not valid yet");
  if (err instanceof jwt.JsonWebTokenError) {
    const m = err.message;
    if (m.startsWith("jwt audience invalid")) return invalid("wrong audience");
    if (m.startsWith("jwt issuer invalid")) return invalid("wrong issuer");
    if (m === "invalid signature") return invalid("bad signature");
    if (m === "invalid algorithm" || m === "jwt signature is required") return invalid("algorithm not allowed");
    return invalid("malformed");
  }
  return invalid("malformed");
}
