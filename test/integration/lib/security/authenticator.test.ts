import {
  AccessTokenExpiredError,
  AccountDisabledError,
  ApiKeyExpiredError,
  ApiKeyRevokedError,
  AuthRequiredError,
  ConflictError,
  CoreError,
  InvalidAccessTokenError,
  InvalidApiKeyError,
  InvalidCredentialsError,
  InvalidRefreshTokenError,
  NotFoundError,
  RefreshTokenReusedError,
  ValidationError,
} from "../../../../lib/errors";
import { Authenticator, type AuthenticatorOptions } from "../../../../lib/security/authenticator";
import { PasswordHasher } from "../../../../lib/security/password-hasher";
import { MIGRATIONS, migrate, type Store } from "../../../../lib/store";
import { testStores } from "../../../helpers/test-stores";

const stores = testStores("authenticator");
afterAll(() => stores.closeAll());

const secret = "an-integration-test-secret-of-more-than-32-bytes";
const password = "correct horse battery staple";
const t0 = Date.UTC(2026, 0, 1, 12);

/** The rejection of `p`, asserted to be a 401 with `code`. */
async function refused(p: Promise<unknown>, cls: typeof CoreError): Promise<CoreError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(cls);
  expect((err as CoreError).status).toBe(401);
  return err as CoreError;
}

describe.each(stores.backends)("Authenticator on %s", (_name, open) => {
  let store: Store;
  const clock = { now: t0 };
  let auth: Authenticator;
  const reuses: { userId: string; familyId: string }[] = [];

  function authenticator(overrides: Partial<AuthenticatorOptions> = {}): Authenticator {
    return new Authenticator({
      store,
      secret,
      now: () => clock.now,
      hasher: new PasswordHasher({ params: { ln: 10, r: 8, p: 1 } }),
      roles: ["viewer", "operator", "admin"],
      onRefreshReuse: (e) => reuses.push(e),
      ...overrides,
    });
  }

  beforeAll(async () => {
    store = await open();
    await migrate(store, MIGRATIONS);
    auth = authenticator();
  });

  describe("users", () => {
    it("creates a user; every problem of the input is reported at once (422)", async () => {
      const user = await auth.createUser({ email: " ann@example.com ", password, role: "operator" });
      expect(user).toMatchObject({ email: "ann@example.com", role: "operator" });
      const err = await auth.createUser({ email: "not-an-email", password: "short", role: "root" }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ValidationError);
      expect((err as ValidationError).issues.map((i) => i.field)).toEqual(["email", "role", "password"]);
      expect((err as ValidationError).message).toMatch(/at least 12 characters/);
      expect((err as ValidationError).message).toMatch(/Unknown role root; the configured roles are viewer, operator, admin/);
    });

    it("refuses a taken email (409)", async () => {
      await expect(auth.createUser({ email: "ANN@example.com", password, role: "viewer" })).rejects.toBeInstanceOf(ConflictError);
    });
  });

  describe("login", () => {
    it("gives a token pair whose access token authenticates as the user", async () => {
      const user = await auth.createUser({ email: "login@example.com", password, role: "operator" });
      const { tokens, principal } = await auth.login("Login@Example.com", password);
      expect(principal).toEqual({ id: user.id, kind: "user", roles: ["operator"] });
      expect(tokens).toEqual({
        accessToken: expect.stringMatching(/^[\w-]+\.[\w-]+\.[\w-]+$/),
        tokenType: "Bearer",
        expiresIn: 900,
        refreshToken: expect.stringMatching(/^[\w-]{43}$/),
        refreshExpiresIn: 30 * 24 * 3600,
      });
      expect(await auth.authenticate(`Bearer ${tokens.accessToken}`)).toEqual(principal);
      expect(await auth.authenticate(`bearer   ${tokens.accessToken}`)).toEqual(principal);
      expect(auth.verifyAccessToken(tokens.accessToken)).toEqual(principal);
      // The refresh token is stored as a hash only.
      const raw = await store.query<{ token_hash: string }>("SELECT token_hash FROM refresh_tokens WHERE user_id = $1", [user.id]);
      expect(raw.rows).toHaveLength(1);
      expect(raw.rows[0]!.token_hash).toMatch(/^[0-9a-f]{64}$/);
      expect(raw.rows[0]!.token_hash).not.toBe(tokens.refreshToken);
    });

    it("answers a wrong password and an unknown email the same way, after the same scrypt work", async () => {
      await auth.createUser({ email: "same@example.com", password, role: "viewer" });
      const verify = jest.spyOn(auth.hasher, "verify");
      try {
        const wrong = await refused(auth.login("same@example.com", "wrong password, long enough"), InvalidCredentialsError);
        const unknown = await refused(auth.login("nobody@example.com", password), InvalidCredentialsError);
        const empty = await refused(auth.login("", ""), InvalidCredentialsError);
        expect(unknown.toJSON()).toEqual(wrong.toJSON());
        expect(empty.code).toBe("AUTH_INVALID_CREDENTIALS");
        expect(verify).toHaveBeenCalledTimes(3);
        // The unknown email was checked against a hash with the real parameters.
        expect(auth.hasher.needsRehash(verify.mock.calls[1]![1])).toBe(false);
      } finally {
        verify.mockRestore();
      }
    });

    it("refuses a disabled user, telling why only to whoever knows the password", async () => {
      const user = await auth.createUser({ email: "gone@example.com", password, role: "viewer" });
      const { tokens } = await auth.login("gone@example.com", password);
      await auth.identities.disableUser(user.id);
      await refused(auth.login("gone@example.com", password), AccountDisabledError);
      await refused(auth.login("gone@example.com", "wrong password, long enough"), InvalidCredentialsError);
      // Disabling revoked the sessions it had.
      const err = await refused(auth.refresh(tokens.refreshToken), InvalidRefreshTokenError);
      expect(err.data.reason).toBe("revoked");
    });

    it("rehashes a password stored with older parameters at the next login", async () => {
      await auth.createUser({ email: "old@example.com", password, role: "viewer" });
      const stronger = authenticator({ hasher: new PasswordHasher({ params: { ln: 11, r: 8, p: 1 } }) });
      await stronger.login("old@example.com", password);
      const stored = (await auth.identities.findUserByEmail("old@example.com"))!.passwordHash;
      expect(stored.startsWith("$scrypt$ln=11,")).toBe(true);
      await auth.login("old@example.com", password);
    });

    it("lets access tokens expire after their TTL", async () => {
      await auth.createUser({ email: "ttl@example.com", password, role: "viewer" });
      const { tokens } = await auth.login("ttl@example.com", password);
      clock.now += 15 * 60_000 + 10_000;
      try {
        const err = await refused(auth.authenticate(`Bearer ${tokens.accessToken}`), AccessTokenExpiredError);
        expect(err.code).toBe("AUTH_TOKEN_EXPIRED");
      } finally {
        clock.now = t0;
      }
    });
  });

  describe("refresh", () => {
    let email: string;
    let n = 0;
    beforeEach(async () => {
      email = `refresh-${++n}@example.com`;
      await auth.createUser({ email, password, role: "operator" });
    });

    it("rotates: the new pair works, the presented token is spent", async () => {
      const first = await auth.login(email, password);
      clock.now += 60_000;
      const second = await auth.refresh(first.tokens.refreshToken);
      expect(second.principal).toEqual(first.principal);
      expect(second.tokens.refreshToken).not.toBe(first.tokens.refreshToken);
      expect(second.tokens.accessToken).not.toBe(first.tokens.accessToken);
      expect(await auth.authenticate(`Bearer ${second.tokens.accessToken}`)).toEqual(first.principal);
      const third = await auth.refresh(second.tokens.refreshToken);
      expect(third.principal.id).toBe(first.principal.id);
      // All in one family.
      const families = await store.query<{ n: number }>("SELECT count(DISTINCT family_id)::int AS n FROM refresh_tokens WHERE user_id = $1", [first.principal.id]);
      expect(families.rows[0]!.n).toBe(1);
    });

    it("revokes the whole family when a spent token comes back, and leaves other logins alone", async () => {
      const stolen = await auth.login(email, password);
      const otherDevice = await auth.login(email, password);
      const legit = await auth.refresh(stolen.tokens.refreshToken);
      const newest = await auth.refresh(legit.tokens.refreshToken);
      reuses.length = 0;

      const err = await refused(auth.refresh(stolen.tokens.refreshToken), RefreshTokenReusedError);
      expect(err.code).toBe("AUTH_REFRESH_REUSED");
      expect(err.message).not.toContain(stolen.tokens.refreshToken);
      expect(reuses).toEqual([{ userId: stolen.principal.id, familyId: expect.any(String) }]);

      // The family's newest token no longer works, nor does the one in between.
      expect((await refused(auth.refresh(newest.tokens.refreshToken), InvalidRefreshTokenError)).data.reason).toBe("revoked");
      await refused(auth.refresh(legit.tokens.refreshToken), RefreshTokenReusedError);
      // Another login of the same user is another family.
      expect((await auth.refresh(otherDevice.tokens.refreshToken)).principal.id).toBe(stolen.principal.id);
    });

    it("lets exactly one of two concurrent refreshes of one token win; the loser counts as reuse", async () => {
      for (let round = 0; round < 5; round++) {
        const { tokens } = await auth.login(email, password);
        const results = await Promise.allSettled([auth.refresh(tokens.refreshToken), auth.refresh(tokens.refreshToken)]);
        const won = results.filter((r) => r.status === "fulfilled");
        const lost = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
        expect(won).toHaveLength(1);
        expect(lost).toHaveLength(1);
        expect(lost[0]!.reason).toBeInstanceOf(RefreshTokenReusedError);
        // A token presented twice may have leaked: the winner's new token is revoked with its family.
        const winner = (won[0] as PromiseFulfilledResult<Awaited<ReturnType<Authenticator["refresh"]>>>).value;
        await refused(auth.refresh(winner.tokens.refreshToken), InvalidRefreshTokenError);
      }
    });

    it("refuses an expired, unknown or malformed refresh token", async () => {
      const short = authenticator({ refreshTtlSec: 60 });
      const { tokens } = await short.login(email, password);
      clock.now += 61_000;
      try {
        expect((await refused(short.refresh(tokens.refreshToken), InvalidRefreshTokenError)).data.reason).toBe("expired");
      } finally {
        clock.now = t0;
      }
      expect((await refused(auth.refresh("A".repeat(43)), InvalidRefreshTokenError)).data.reason).toBe("unknown");
      expect((await refused(auth.refresh("not a token"), InvalidRefreshTokenError)).code).toBe("AUTH_INVALID_REFRESH_TOKEN");
      await refused(auth.refresh(undefined as unknown as string), InvalidRefreshTokenError);
    });

    it("logout revokes the family; it is idempotent and quiet about unknown tokens", async () => {
      const first = await auth.login(email, password);
      const second = await auth.refresh(first.tokens.refreshToken);
      expect(await auth.logout(second.tokens.refreshToken)).toBe(true);
      expect((await refused(auth.refresh(second.tokens.refreshToken), InvalidRefreshTokenError)).data.reason).toBe("revoked");
      expect(await auth.logout(second.tokens.refreshToken)).toBe(true);
      expect(await auth.logout("B".repeat(43))).toBe(false);
      expect(await auth.logout("garbage")).toBe(false);
    });
  });

  describe("API keys", () => {
    it("authenticate as Bearer or bare (X-Api-Key), and record the last use", async () => {
      const created = await auth.createApiKey({ name: "ci", role: "operator", scopes: ["consult:run"], createdBy: "admin-1" });
      const principal = { id: created.id, kind: "key", roles: ["operator"], scopes: ["consult:run"] };
      expect(await auth.authenticate(`Bearer ${created.key}`)).toEqual(principal);
      expect(await auth.authenticate(created.key)).toEqual(principal);
      const listed = (await auth.listApiKeys()).find((k) => k.id === created.id)!;
      expect(listed.lastUsedAt).toBe(new Date(clock.now).toISOString());
      expect(JSON.stringify(listed)).not.toContain(created.key);
    });

    it("refuse a revoked key (and say so only to its holder)", async () => {
      const created = await auth.createApiKey({ name: "revoked", role: "viewer", createdBy: "admin-1" });
      await auth.authenticate(created.key);
      await auth.revokeApiKey(created.id);
      const err = await refused(auth.authenticate(`Bearer ${created.key}`), ApiKeyRevokedError);
      expect(err.code).toBe("AUTH_KEY_REVOKED");
      expect(JSON.stringify(err.toJSON())).not.toContain(created.key.slice(22));
      await expect(auth.revokeApiKey("0123456789abcdef")).rejects.toBeInstanceOf(NotFoundError);
    });

    it("refuse an expired key", async () => {
      const created = await auth.createApiKey({ name: "expiring", role: "viewer", createdBy: "admin-1", expiresAt: new Date(clock.now + 3_600_000) });
      expect((await auth.authenticate(created.key)).id).toBe(created.id);
      clock.now += 3_600_000;
      try {
        expect((await refused(auth.authenticate(created.key), ApiKeyExpiredError)).code).toBe("AUTH_KEY_EXPIRED");
      } finally {
        clock.now = t0;
      }
    });

    it("refuse a tampered, unknown or malformed key as invalid", async () => {
      const created = await auth.createApiKey({ name: "tamper", role: "viewer", createdBy: "admin-1" });
      const last = created.key.at(-1) === "A" ? "B" : "A";
      const tampered = `${created.key.slice(0, -1)}${last}`;
      for (const bad of [tampered, created.key.replace(created.id, "0000000000000000"), "core_nope", `${created.key}x`]) {
        const err = await refused(auth.authenticate(`Bearer ${bad}`), InvalidApiKeyError);
        expect(err.code).toBe("AUTH_INVALID_KEY");
        expect(err.message).not.toContain(bad);
      }
      // The genuine key still works.
      expect((await auth.authenticate(created.key)).id).toBe(created.id);
    });

    it("validate what a new key asks for", async () => {
      const err = await auth.createApiKey({ name: " ", role: "root", scopes: [""], createdBy: "", expiresAt: new Date(clock.now - 1) }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ValidationError);
      expect((err as ValidationError).issues.map((i) => i.field)).toEqual(["name", "role", "scopes", "expiresAt", "createdBy"]);
    });

    it("with a cache, a revocation holds at once on this node and after the cache time on others", async () => {
      const here = authenticator({ apiKeyCacheMs: 5_000 });
      const there = authenticator({ apiKeyCacheMs: 5_000 });
      const created = await here.createApiKey({ name: "cached", role: "viewer", createdBy: "admin-1" });
      await here.authenticate(created.key);
      await there.authenticate(created.key);
      await here.revokeApiKey(created.id);
      await refused(here.authenticate(created.key), ApiKeyRevokedError);
      expect((await there.authenticate(created.key)).id).toBe(created.id);
      clock.now += 5_000;
      try {
        await refused(there.authenticate(created.key), ApiKeyRevokedError);
      } finally {
        clock.now = t0;
      }
    });
  });

  describe("authenticate", () => {
    it("asks for a credential when there is none, and refuses a garbage token", async () => {
      for (const none of [undefined, "", "   "]) expect((await refused(auth.authenticate(none), AuthRequiredError)).code).toBe("AUTH_REQUIRED");
      for (const bad of ["Bearer", "Bearer nonsense", "Basic dXNlcjpwYXNz", "Bearer a.b.c"]) await refused(auth.authenticate(bad), InvalidAccessTokenError);
    });
  });
});
