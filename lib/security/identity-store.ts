import { randomUUID } from "node:crypto";
import { LRUCache } from "lru-cache";
import { ConflictError, NotFoundError } from "../errors";
import type { Queryable, Store } from "../store/store";
import { generateApiKey } from "./api-keys";

/** A user as shown to admins: never the password hash. */
export interface User {
  id: string;
  email: string;
  role: string;
  createdAt: string;
  disabledAt?: string;
}

/** A user with the hash, for login only. */
export interface UserCredentials extends User {
  passwordHash: string;
}

export interface NewUser {
  email: string;
  passwordHash: string;
  role: string;
}

/** An API key as listed: never the hash, never the key. */
export interface ApiKeyInfo {
  id: string;
  name: string;
  role: string;
  scopes: string[];
  createdBy: string;
  createdAt: string;
  expiresAt?: string;
  lastUsedAt?: string;
  revokedAt?: string;
}

/** An API key with its stored hash, for authentication only. */
export interface ApiKeyRecord extends ApiKeyInfo {
  keyHash: string;
}

export interface NewApiKey {
  name: string;
  role: string;
  scopes?: readonly string[];
  expiresAt?: Date;
  /** The principal that created it (an id, or e.g. `cli` for the admin command). */
  createdBy: string;
}

/** A freshly created key: `key` is the plaintext, returned this once and never again. */
export interface CreatedApiKey extends ApiKeyInfo {
  key: string;
}

export interface RefreshTokenRow {
  id: string;
  familyId: string;
  userId: string;
  createdAt: string;
  expiresAt: string;
  spentAt?: string;
  revokedAt?: string;
}

export interface NewRefreshToken {
  familyId: string;
  userId: string;
  tokenHash: string;
  expiresAt: Date;
}

export interface IdentityStoreOptions {
  /** Milliseconds since the epoch; tests move it. */
  now?: () => number;
  /** `last_used_at` is written at most this often per key (per process): not one write per request. */
  touchIntervalMs?: number;
}

type Row = Record<string, unknown>;

const iso = (v: unknown): string => (v instanceof Date ? v.toISOString() : new Date(String(v)).toISOString());
const optionalIso = (v: unknown): string | undefined => (v === null || v === undefined ? undefined : iso(v));

function toUser(r: Row): User {
  const disabledAt = optionalIso(r.disabled_at);
  return { id: String(r.id), email: String(r.email), role: String(r.role), createdAt: iso(r.created_at), ...(disabledAt ? { disabledAt } : {}) };
}

function toApiKeyInfo(r: Row): ApiKeyInfo {
  const optional = { expiresAt: optionalIso(r.expires_at), lastUsedAt: optionalIso(r.last_used_at), revokedAt: optionalIso(r.revoked_at) };
  return {
    id: String(r.id),
    name: String(r.name),
    role: String(r.role),
    scopes: (r.scopes as string[] | null) ?? [],
    createdBy: String(r.created_by),
    createdAt: iso(r.created_at),
    ...Object.fromEntries(Object.entries(optional).filter(([, v]) => v !== undefined)),
  };
}

function toRefreshToken(r: Row): RefreshTokenRow {
  const spentAt = optionalIso(r.spent_at);
  const revokedAt = optionalIso(r.revoked_at);
  return {
    id: String(r.id),
    familyId: String(r.family_id),
    userId: String(r.user_id),
    createdAt: iso(r.created_at),
    expiresAt: iso(r.expires_at),
    ...(spentAt ? { spentAt } : {}),
    ...(revokedAt ? { revokedAt } : {}),
  };
}

const USER_COLUMNS = "id, email, role, created_at, disabled_at";
const KEY_COLUMNS = "id, name, role, scopes, created_by, created_at, expires_at, last_used_at, revoked_at";
const REFRESH_COLUMNS = "id, family_id, user_id, created_at, expires_at, spent_at, revoked_at";

/**
 * Users, refresh-token families and API keys in the store (migration 3).
 * Holds hashes only: hashing and checking are the caller's (Authenticator).
 */
export class IdentityStore {
  /** The store itself, or a transaction inside `transaction()`. */
  private db: Queryable;
  private readonly now: () => number;
  private readonly touchIntervalMs: number;
  /** Key id → when this process last wrote its last_used_at. */
  private readonly touched = new LRUCache<string, number>({ max: 10_000 });

  constructor(
    private readonly store: Store,
    options: IdentityStoreOptions = {},
  ) {
    this.db = store;
    this.now = options.now ?? Date.now;
    this.touchIntervalMs = options.touchIntervalMs ?? 60_000;
  }

  private at(): string {
    return new Date(this.now()).toISOString();
  }

  /** Runs `fn` with a view of this store inside one transaction (committed if it resolves, rolled back if it throws). */
  transaction<T>(fn: (tx: IdentityStore) => Promise<T>): Promise<T> {
    return this.store.transaction((tx) => {
      // The view shares everything with this store but its connection.
      const view = Object.create(this) as IdentityStore;
      view.db = tx;
      return fn(view);
    });
  }

  // Users

  /** Emails are unique without regard to case: a second `Alice@x` is a ConflictError (409). */
  async createUser(user: NewUser): Promise<User> {
    const { rows } = await this.db.query<Row>(
      `INSERT INTO users (id, email, password_hash, role, created_at) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT DO NOTHING RETURNING ${USER_COLUMNS}`,
      [randomUUID(), user.email, user.passwordHash, user.role, this.at()],
    );
    if (!rows[0]) throw new ConflictError(`A user with the email ${user.email} already exists.`, { data: { email: user.email } });
    return toUser(rows[0]);
  }

  async findUserByEmail(email: string): Promise<UserCredentials | undefined> {
    const { rows } = await this.db.query<Row>(`SELECT ${USER_COLUMNS}, password_hash FROM users WHERE lower(email) = lower($1)`, [email]);
    return rows[0] ? { ...toUser(rows[0]), passwordHash: String(rows[0].password_hash) } : undefined;
  }

  async findUserById(id: string): Promise<User | undefined> {
    const { rows } = await this.db.query<Row>(`SELECT ${USER_COLUMNS} FROM users WHERE id = $1`, [id]);
    return rows[0] ? toUser(rows[0]) : undefined;
  }

  async listUsers(): Promise<User[]> {
    const { rows } = await this.db.query<Row>(`SELECT ${USER_COLUMNS} FROM users ORDER BY created_at, email`);
    return rows.map(toUser);
  }

  async setPasswordHash(userId: string, passwordHash: string): Promise<void> {
    await this.db.query(`UPDATE users SET password_hash = $2 WHERE id = $1`, [userId, passwordHash]);
  }

  /** Disables a user and revokes every refresh token it holds (access tokens run out within their TTL). Unknown → NotFoundError. */
  async disableUser(userId: string): Promise<User> {
    const at = this.at();
    const { rows } = await this.db.query<Row>(
      `WITH revoked AS (UPDATE refresh_tokens SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL)
       UPDATE users SET disabled_at = COALESCE(disabled_at, $2) WHERE id = $1 RETURNING ${USER_COLUMNS}`,
      [userId, at],
    );
    if (!rows[0]) throw new NotFoundError(`No user has the id ${userId}.`, { data: { userId } });
    return toUser(rows[0]);
  }

  // Refresh tokens

  async insertRefreshToken(token: NewRefreshToken): Promise<RefreshTokenRow> {
    const { rows } = await this.db.query<Row>(
      `INSERT INTO refresh_tokens (id, family_id, user_id, token_hash, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING ${REFRESH_COLUMNS}`,
      [randomUUID(), token.familyId, token.userId, token.tokenHash, this.at(), token.expiresAt.toISOString()],
    );
    return toRefreshToken(rows[0]!);
  }

  /**
   * Spends a live token (unspent, unrevoked, unexpired) in one conditional
   * UPDATE: of two concurrent calls for the same token exactly one gets the
   * row, the other undefined. Undefined also for dead or unknown tokens;
   * `findRefreshToken` tells which.
   */
  async spendRefreshToken(tokenHash: string): Promise<RefreshTokenRow | undefined> {
    const at = this.at();
    const { rows } = await this.db.query<Row>(
      `UPDATE refresh_tokens SET spent_at = $2
        WHERE token_hash = $1 AND spent_at IS NULL AND revoked_at IS NULL AND expires_at > $2
        RETURNING ${REFRESH_COLUMNS}`,
      [tokenHash, at],
    );
    return rows[0] ? toRefreshToken(rows[0]) : undefined;
  }

  async findRefreshToken(tokenHash: string): Promise<RefreshTokenRow | undefined> {
    const { rows } = await this.db.query<Row>(`SELECT ${REFRESH_COLUMNS} FROM refresh_tokens WHERE token_hash = $1`, [tokenHash]);
    return rows[0] ? toRefreshToken(rows[0]) : undefined;
  }

  /** Revokes every token of a family that is not revoked yet; returns how many. */
  async revokeFamily(familyId: string): Promise<number> {
    const { rowCount } = await this.db.query(`UPDATE refresh_tokens SET revoked_at = $2 WHERE family_id = $1 AND revoked_at IS NULL`, [familyId, this.at()]);
    return rowCount;
  }

  /** Revokes one token by its hash; returns its row (undefined when unknown). */
  async revokeByHash(tokenHash: string): Promise<RefreshTokenRow | undefined> {
    const { rows } = await this.db.query<Row>(
      `UPDATE refresh_tokens SET revoked_at = COALESCE(revoked_at, $2) WHERE token_hash = $1 RETURNING ${REFRESH_COLUMNS}`,
      [tokenHash, this.at()],
    );
    return rows[0] ? toRefreshToken(rows[0]) : undefined;
  }

  /** Deletes tokens that expired before `before` (housekeeping; spent and revoked rows are only needed until then). */
  async deleteExpiredRefreshTokens(before: Date): Promise<number> {
    const { rowCount } = await this.db.query(`DELETE FROM refresh_tokens WHERE expires_at < $1`, [before.toISOString()]);
    return rowCount;
  }

  // API keys

  /** Creates a key and returns it with its plaintext: the only time the plaintext exists outside the caller. */
  async createApiKey(input: NewApiKey): Promise<CreatedApiKey> {
    const generated = generateApiKey();
    const { rows } = await this.db.query<Row>(
      `INSERT INTO api_keys (id, name, key_hash, role, scopes, created_by, created_at, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING ${KEY_COLUMNS}`,
      [generated.id, input.name, generated.hash, input.role, [...(input.scopes ?? [])], input.createdBy, this.at(), input.expiresAt?.toISOString() ?? null],
    );
    return { ...toApiKeyInfo(rows[0]!), key: generated.key };
  }

  /** Every key (revoked ones too, unless asked not to), newest first. */
  async listApiKeys(options: { includeRevoked?: boolean } = {}): Promise<ApiKeyInfo[]> {
    const where = options.includeRevoked === false ? "WHERE revoked_at IS NULL" : "";
    const { rows } = await this.db.query<Row>(`SELECT ${KEY_COLUMNS} FROM api_keys ${where} ORDER BY created_at DESC, id`);
    return rows.map(toApiKeyInfo);
  }

  async findApiKey(id: string): Promise<ApiKeyRecord | undefined> {
    const { rows } = await this.db.query<Row>(`SELECT ${KEY_COLUMNS}, key_hash FROM api_keys WHERE id = $1`, [id]);
    return rows[0] ? { ...toApiKeyInfo(rows[0]), keyHash: String(rows[0].key_hash) } : undefined;
  }

  /** Revokes a key (idempotent: a second call keeps the first time). Unknown id → NotFoundError (404). */
  async revokeApiKey(id: string): Promise<ApiKeyInfo> {
    const { rows } = await this.db.query<Row>(
      `UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1 RETURNING ${KEY_COLUMNS}`,
      [id, this.at()],
    );
    if (!rows[0]) throw new NotFoundError(`No API key has the id ${id}.`, { data: { id } });
    return toApiKeyInfo(rows[0]);
  }

  /**
   * Records that a key was used now, at most once per `touchIntervalMs` per key
   * in this process (so `last_used_at` is accurate to about that). Returns
   * whether it wrote.
   */
  async touchApiKey(id: string): Promise<boolean> {
    const t = this.now();
    const last = this.touched.get(id);
    if (last !== undefined && t - last < this.touchIntervalMs) return false;
    this.touched.set(id, t);
    try {
      // Never moves backwards: another node may have written a later time.
      await this.db.query(`UPDATE api_keys SET last_used_at = $2 WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $2)`, [id, new Date(t).toISOString()]);
    } catch (err) {
      // Let the next request try again rather than lose the mark for a whole interval.
      this.touched.delete(id);
      throw err;
    }
    return true;
  }
}
