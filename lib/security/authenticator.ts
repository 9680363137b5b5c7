import { randomUUID } from "node:crypto";
import { LRUCache } from "lru-cache";
import {
  AccountDisabledError,
  ApiKeyExpiredError,
  ApiKeyRevokedError,
  AuthRequiredError,
  InvalidApiKeyError,
  InvalidCredentialsError,
  InvalidRefreshTokenError,
  RefreshTokenReusedError,
  ValidationError,
  type FieldIssue,
} from "../errors";
import type { Store } from "../store/store";
import { AccessTokens, type AccessTokenOptions } from "./access-tokens";
import { apiKeyMatches, looksLikeApiKey, parseApiKey } from "./api-keys";
import { IdentityStore, type ApiKeyInfo, type ApiKeyRecord, type CreatedApiKey, type User } from "./identity-store";
import { PasswordHasher } from "./password-hasher";
import type { AuthenticatedPrincipal } from "./principal";
import { generateRefreshToken, hashRefreshToken, isWellFormedRefreshToken } from "./refresh-token";

export const DEFAULT_REFRESH_TTL_SEC = 30 * 24 * 3600;

export interface AuthenticatorOptions {
  store: Store;
  /** The HS256 key for access tokens (CORE_JWT_SECRET); check it with `weakSecretReason` first. */
  secret: string;
  /** `iss` of the access tokens; "core". */
  issuer?: string;
  /** `aud` of the access tokens; "core-api". */
  audience?: string;
  /** Access-token lifetime; 15 minutes. */
  accessTtlSec?: number;
  /** Lifetime of each refresh token (each rotation starts a new one); 30 days. */
  refreshTtlSec?: number;
  /** Slack for clocks between nodes when checking `exp`/`nbf`; 5 s. */
  clockToleranceSec?: number;
  /** Milliseconds since the epoch; tests move it. */
  now?: () => number;
  /** The password hasher (scrypt); tests pass a cheap one. */
  hasher?: PasswordHasher;
  /** The configured role names: a user or key with another role is refused (422). Unchecked when absent. */
  roles?: readonly string[];
  /** `last_used_at` of a key is written at most this often per key and process; 60 s. */
  apiKeyTouchIntervalMs?: number;
  /**
   * How long a key's row may be reused from memory; 0 (the default) reads it
   * on every request, so a revocation on any node holds at once. A few
   * seconds spare the database under load at the price of that delay.
   */
  apiKeyCacheMs?: number;
  /** Told when a spent refresh token came back and its family was revoked (for the audit log). */
  onRefreshReuse?: (event: { userId: string; familyId: string }) => void;
  /** Told about failures of best-effort writes (last use, rehash) that do not fail the request. */
  onBackgroundError?: (err: unknown, what: string) => void;
}

/** What login and refresh hand to the client. */
export interface TokenPair {
  accessToken: string;
  tokenType: "Bearer";
  /** Seconds until the access token expires. */
  expiresIn: number;
  refreshToken: string;
  /** Seconds until the refresh token expires. */
  refreshExpiresIn: number;
}

export interface SignedIn {
  tokens: TokenPair;
  principal: AuthenticatedPrincipal;
}

export interface NewUserInput {
  email: string;
  password: string;
  role: string;
}

export interface NewApiKeyInput {
  name: string;
  role: string;
  scopes?: readonly string[];
  expiresAt?: Date;
  /** The creating principal's id, or e.g. `cli`. */
  createdBy: string;
}

const EMAIL = /^[^\s@]+@[^\s@]+$/;
const MAX_EMAIL = 254;

const BEARER = /^Bearer\s+(\S+)$/i;
const SPACE = /\s/;

/**
 * The token of `Bearer <token>` (the scheme in any case, then white space), or undefined. In the
 * usual spelling (`Bearer ` and a token that starts right after it) the rest is not scanned for white
 * space (a third of a microsecond for a 340-character token, on every request): a token with white
 * space inside is refused later anyway, as no access token or API key holds any.
 */
export function bearerToken(value: string): string | undefined {
  if (value.length > 7 && value.startsWith("Bearer ") && !SPACE.test(value[7]!)) return value.slice(7);
  return BEARER.exec(value)?.[1];
}

/**
 * The credential a request carries: the `Authorization` header when present
 * (`Bearer <access token>` or `Bearer core_…`), else `X-Api-Key` (`core_…`).
 * Header names are matched without regard to case, as HTTP has them.
 */
export function credentialFromHeaders(headers: Readonly<Record<string, string | readonly string[] | undefined>>): string | undefined {
  let authorization: string | undefined;
  let apiKey: string | undefined;
  for (const name in headers) {
    // Only names of the right length are lower-cased and compared: a request carries a dozen headers or more.
    const lower = name.length === 13 || name.length === 9 ? name.toLowerCase() : undefined;
    if (lower !== "authorization" && lower !== "x-api-key") continue;
    const raw = headers[name];
    const value = Array.isArray(raw) ? raw.join(", ") : (raw as string | undefined);
    if (lower === "authorization") authorization = value;
    else apiKey = value;
  }
  return authorization?.trim() || apiKey?.trim() || undefined;
}

/**
 * Identity use cases over the store: users log in with a password and get a
 * short-lived access token plus a rotating refresh token; machines use API
 * keys. `authenticate` turns whatever a request carries into a principal.
 *
 * Accepted credentials: `Bearer <JWT>`, `Bearer core_<id>_<secret>` and a bare
 * `core_<id>_<secret>` (the value of an `X-Api-Key` header); see
 * `credentialFromHeaders`.
 */
export class Authenticator {
  readonly identities: IdentityStore;
  readonly tokens: AccessTokens;
  readonly hasher: PasswordHasher;
  private readonly now: () => number;
  private readonly refreshTtlSec: number;
  private readonly roles: ReadonlySet<string> | undefined;
  private readonly keyCache: LRUCache<string, { record: ApiKeyRecord; at: number }> | undefined;
  private dummyHash: Promise<string> | undefined;

  constructor(private readonly options: AuthenticatorOptions) {
    this.now = options.now ?? Date.now;
    this.identities = new IdentityStore(options.store, { now: this.now, touchIntervalMs: options.apiKeyTouchIntervalMs });
    const tokenOptions: AccessTokenOptions = {
      secret: options.secret,
      issuer: options.issuer,
      audience: options.audience,
      ttlSec: options.accessTtlSec,
      clockToleranceSec: options.clockToleranceSec,
      now: this.now,
    };
    this.tokens = new AccessTokens(tokenOptions);
    this.hasher = options.hasher ?? new PasswordHasher();
    this.refreshTtlSec = options.refreshTtlSec ?? DEFAULT_REFRESH_TTL_SEC;
    this.roles = options.roles ? new Set(options.roles) : undefined;
    this.keyCache = options.apiKeyCacheMs ? new LRUCache({ max: 10_000 }) : undefined;
  }

  // Users and sessions

  /** Validates (email, role, password policy: all issues at once, 422), hashes and stores a user; a taken email is a ConflictError (409). */
  async createUser(input: NewUserInput): Promise<User> {
    const email = typeof input.email === "string" ? input.email.trim() : "";
    const issues: FieldIssue[] = [];
    if (!EMAIL.test(email) || email.length > MAX_EMAIL) issues.push({ field: "email", message: "Give an email address such as alice@example.com." });
    const roleIssue = this.roleProblem(input.role);
    if (roleIssue) issues.push(roleIssue);
    const passwordIssue = this.hasher.problem(input.password);
    if (passwordIssue) issues.push({ field: "password", message: passwordIssue });
    if (issues.length) throw new ValidationError(issues.map((i) => i.message).join(" "), { issues });
    return this.identities.createUser({ email, passwordHash: await this.hasher.hash(input.password), role: input.role });
  }

  /**
   * Email and password → a token pair. An unknown email and a wrong password
   * give the same InvalidCredentialsError and cost the same scrypt work, so
   * neither the answer nor its timing tells which emails exist.
   */
  async login(email: string, password: string): Promise<SignedIn> {
    const wanted = typeof email === "string" ? email.trim() : "";
    const user = wanted && wanted.length <= MAX_EMAIL ? await this.identities.findUserByEmail(wanted) : undefined;
    const ok = await this.hasher.verify(typeof password === "string" ? password : "", user?.passwordHash ?? (await this.dummy()));
    if (!user || !ok) throw new InvalidCredentialsError("The email or the password is not correct.");
    // Said only to whoever knows the password.
    if (user.disabledAt) throw new AccountDisabledError("This account is disabled; ask an administrator to enable it.");
    if (this.hasher.needsRehash(user.passwordHash)) {
      try {
        await this.identities.setPasswordHash(user.id, await this.hasher.rehash(password));
      } catch (err) {
        this.options.onBackgroundError?.(err, "rehash password");
      }
    }
    const first = this.newRefreshToken();
    await this.identities.insertRefreshToken({ familyId: randomUUID(), userId: user.id, tokenHash: first.hash, expiresAt: first.expiresAt });
    return this.signedIn(user, first.token);
  }

  /**
   * Spends a refresh token and issues a new pair in the same family. A token
   * that was already spent means it leaked (or the client raced itself):
   * the whole family is revoked, so whoever holds its newest token is logged
   * out too, and the answer is RefreshTokenReusedError. Expired, revoked or
   * unknown tokens are InvalidRefreshTokenError.
   */
  async refresh(refreshToken: string): Promise<SignedIn> {
    if (!isWellFormedRefreshToken(refreshToken)) throw invalidRefresh("unknown");
    const hash = hashRefreshToken(refreshToken);
    // Spending and issuing the successor commit together: a concurrent reuse sees either neither or both, and revokes both.
    const rotated = await this.identities.transaction(async (tx) => {
      const spent = await tx.spendRefreshToken(hash);
      if (!spent) return undefined;
      const user = await tx.findUserById(spent.userId);
      // Disabling a user revokes its tokens; this only guards a race with that.
      if (!user || user.disabledAt) throw new AccountDisabledError("This account is disabled; ask an administrator to enable it.");
      const next = this.newRefreshToken();
      await tx.insertRefreshToken({ familyId: spent.familyId, userId: user.id, tokenHash: next.hash, expiresAt: next.expiresAt });
      return { user, token: next.token };
    });
    if (rotated) return this.signedIn(rotated.user, rotated.token);

    const row = await this.identities.findRefreshToken(hash);
    if (!row) throw invalidRefresh("unknown");
    if (row.spentAt) {
      await this.identities.revokeFamily(row.familyId);
      this.options.onRefreshReuse?.({ userId: row.userId, familyId: row.familyId });
      throw new RefreshTokenReusedError("This refresh token was already used; every session it belongs to is now logged out. Log in again.", {
        data: { familyRevoked: true },
      });
    }
    throw invalidRefresh(row.revokedAt ? "revoked" : "expired");
  }

  /** Revokes the family of a refresh token (every token of that login). Idempotent; false when the token is unknown. */
  async logout(refreshToken: string): Promise<boolean> {
    if (!isWellFormedRefreshToken(refreshToken)) return false;
    const row = await this.identities.findRefreshToken(hashRefreshToken(refreshToken));
    if (!row) return false;
    await this.identities.revokeFamily(row.familyId);
    return true;
  }

  // Requests

  /**
   * The principal behind a credential (see `credentialFromHeaders`): an access
   * token is checked without the database; an API key costs one read (and a
   * write of its last use at most once a minute). Missing → AuthRequiredError;
   * otherwise every failure is one of the 401 errors of lib/errors/auth-errors.
   */
  async authenticate(credential: string | undefined): Promise<AuthenticatedPrincipal> {
    const value = typeof credential === "string" ? credential.trim() : "";
    if (!value) throw new AuthRequiredError("Authentication required: send `Authorization: Bearer <access token>` or `X-Api-Key: <API key>`.");
    const presented = bearerToken(value) ?? value;
    if (looksLikeApiKey(presented)) return this.authenticateApiKey(presented);
    return this.verifyAccessToken(presented);
  }

  /** The principal of an access token (no `Bearer`), for entry points that carry the token alone. */
  verifyAccessToken(token: string): AuthenticatedPrincipal {
    const claims = this.tokens.verify(token);
    return { id: claims.sub, kind: "user", roles: claims.roles };
  }

  /** The principal of an API key (`core_<id>_<secret>`). */
  async authenticateApiKey(key: string): Promise<AuthenticatedPrincipal> {
    const parsed = parseApiKey(key);
    if (!parsed) throw invalidKey();
    const record = await this.apiKeyRecord(parsed.id);
    if (!record || !apiKeyMatches(parsed.key, record.keyHash)) throw invalidKey();
    // From here the caller holds the genuine key, so it may learn why it no longer works.
    if (record.revokedAt) throw new ApiKeyRevokedError("This API key was revoked; ask for a new one.", { data: { keyId: record.id } });
    if (record.expiresAt && Date.parse(record.expiresAt) <= this.now()) {
      throw new ApiKeyExpiredError("This API key has expired; ask for a new one.", { data: { keyId: record.id, expiredAt: record.expiresAt } });
    }
    try {
      await this.identities.touchApiKey(record.id);
    } catch (err) {
      this.options.onBackgroundError?.(err, "record API key use");
    }
    return { id: record.id, kind: "key", roles: [record.role], scopes: record.scopes };
  }

  // API keys

  /** Validates and creates a key; the result's `key` is the plaintext, to be shown once. */
  async createApiKey(input: NewApiKeyInput): Promise<CreatedApiKey> {
    const issues: FieldIssue[] = [];
    const name = typeof input.name === "string" ? input.name.trim() : "";
    if (!name || name.length > 100) issues.push({ field: "name", message: "Give the key a name of 1 to 100 characters that says who or what uses it." });
    const roleIssue = this.roleProblem(input.role);
    if (roleIssue) issues.push(roleIssue);
    const scopes = input.scopes ?? [];
    if (!Array.isArray(scopes) || scopes.length > 100 || !scopes.every((s) => typeof s === "string" && s.length > 0 && s.length <= 200)) {
      issues.push({ field: "scopes", message: "Scopes are a list of up to 100 permission names such as consult:run." });
    }
    if (input.expiresAt !== undefined && (!(input.expiresAt instanceof Date) || !(input.expiresAt.getTime() > this.now()))) {
      issues.push({ field: "expiresAt", message: "The expiry must be a time in the future." });
    }
    if (typeof input.createdBy !== "string" || !input.createdBy) issues.push({ field: "createdBy", message: "Say who creates the key." });
    if (issues.length) throw new ValidationError(issues.map((i) => i.message).join(" "), { issues });
    return this.identities.createApiKey({ name, role: input.role, scopes, createdBy: input.createdBy, ...(input.expiresAt ? { expiresAt: input.expiresAt } : {}) });
  }

  listApiKeys(options?: { includeRevoked?: boolean }): Promise<ApiKeyInfo[]> {
    return this.identities.listApiKeys(options);
  }

  /** Revokes a key (unknown → NotFoundError); this node forgets any cached copy at once. */
  async revokeApiKey(id: string): Promise<ApiKeyInfo> {
    const info = await this.identities.revokeApiKey(id);
    this.keyCache?.delete(id);
    return info;
  }

  /** Drops this node's cached copy of a key's row (another node revoked it: the `apiKeys.revoked` broadcast). */
  forgetApiKey(id: string): void {
    this.keyCache?.delete(id);
  }

  // Internals

  private async apiKeyRecord(id: string): Promise<ApiKeyRecord | undefined> {
    const ttl = this.options.apiKeyCacheMs ?? 0;
    const cached = this.keyCache?.get(id);
    if (cached && this.now() - cached.at < ttl) return cached.record;
    const record = await this.identities.findApiKey(id);
    if (record && this.keyCache) this.keyCache.set(id, { record, at: this.now() });
    return record;
  }

  private roleProblem(role: unknown): FieldIssue | undefined {
    if (typeof role !== "string" || !role) return { field: "role", message: "A role is required." };
    if (this.roles && !this.roles.has(role)) return { field: "role", message: `Unknown role ${role}; the configured roles are ${[...this.roles].join(", ")}.` };
    return undefined;
  }

  private dummy(): Promise<string> {
    this.dummyHash ??= this.hasher.dummyHash();
    return this.dummyHash;
  }

  private newRefreshToken(): { token: string; hash: string; expiresAt: Date } {
    return { ...generateRefreshToken(), expiresAt: new Date(this.now() + this.refreshTtlSec * 1000) };
  }

  private signedIn(user: User, refreshToken: string): SignedIn {
    const principal: AuthenticatedPrincipal = { id: user.id, kind: "user", roles: [user.role] };
    const access = this.tokens.issue(principal);
    return {
      tokens: { accessToken: access.token, tokenType: "Bearer", expiresIn: access.expiresIn, refreshToken, refreshExpiresIn: this.refreshTtlSec },
      principal,
    };
  }
}

function invalidRefresh(reason: "unknown" | "expired" | "revoked"): InvalidRefreshTokenError {
  const why = { unknown: "is not known", expired: "has expired", revoked: "was revoked" }[reason];
  return new InvalidRefreshTokenError(`The refresh token ${why}; log in again.`, { data: { reason } });
}

function invalidKey(): InvalidApiKeyError {
  return new InvalidApiKeyError("The API key is not valid.");
}
