import { ConflictError, NotFoundError } from "../../../../lib/errors";
import { hashApiKey } from "../../../../lib/security/api-keys";
import { IdentityStore } from "../../../../lib/security/identity-store";
import { generateRefreshToken } from "../../../../lib/security/refresh-token";
import { MIGRATIONS, migrate, type Store } from "../../../../lib/store";
import { testStores } from "../../../helpers/test-stores";

const stores = testStores("identity_store");
afterAll(() => stores.closeAll());

const t0 = Date.UTC(2026, 0, 1, 12);

describe.each(stores.backends)("IdentityStore on %s", (_name, open) => {
  let store: Store;
  const clock = { now: t0 };
  let ids: IdentityStore;

  beforeAll(async () => {
    store = await open();
    await migrate(store, MIGRATIONS);
    ids = new IdentityStore(store, { now: () => clock.now });
  });

  describe("users", () => {
    it("creates a user and finds it by email without regard to case, with its hash only when asked", async () => {
      const user = await ids.createUser({ email: "Alice@Example.com", passwordHash: "$scrypt$x", role: "operator" });
      expect(user).toEqual({ id: expect.stringMatching(/^[0-9a-f-]{36}$/), email: "Alice@Example.com", role: "operator", createdAt: new Date(t0).toISOString() });
      expect(await ids.findUserByEmail("alice@EXAMPLE.com")).toEqual({ ...user, passwordHash: "$scrypt$x" });
      expect(await ids.findUserByEmail("nobody@example.com")).toBeUndefined();
      expect(await ids.findUserById(user.id)).toEqual(user);
      const listed = await ids.listUsers();
      expect(listed).toContainEqual(user);
      expect(JSON.stringify(listed)).not.toContain("scrypt");
    });

    it("refuses a second user with the same email in another case (409)", async () => {
      await ids.createUser({ email: "bob@example.com", passwordHash: "h", role: "viewer" });
      const err = await ids.createUser({ email: "BOB@example.com", passwordHash: "h2", role: "admin" }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ConflictError);
      expect(err).toMatchObject({ status: 409, message: expect.stringContaining("BOB@example.com") });
    });

    it("updates a password hash", async () => {
      const u = await ids.createUser({ email: "carol@example.com", passwordHash: "old", role: "viewer" });
      await ids.setPasswordHash(u.id, "new");
      expect((await ids.findUserByEmail("carol@example.com"))!.passwordHash).toBe("new");
    });

    it("disables a user and revokes its refresh tokens; unknown ids are 404", async () => {
      const u = await ids.createUser({ email: "dave@example.com", passwordHash: "h", role: "viewer" });
      const { hash } = generateRefreshToken();
      await ids.insertRefreshToken({ familyId: crypto.randomUUID(), userId: u.id, tokenHash: hash, expiresAt: new Date(t0 + 3_600_000) });
      const disabled = await ids.disableUser(u.id);
      expect(disabled.disabledAt).toBe(new Date(t0).toISOString());
      expect((await ids.findRefreshToken(hash))!.revokedAt).toBe(new Date(t0).toISOString());
      expect(await ids.spendRefreshToken(hash)).toBeUndefined();
      await expect(ids.disableUser(crypto.randomUUID())).rejects.toBeInstanceOf(NotFoundError);
    });
  });

  describe("refresh tokens", () => {
    let userId: string;
    beforeAll(async () => {
      userId = (await ids.createUser({ email: "refresh@example.com", passwordHash: "h", role: "viewer" })).id;
    });

    async function insert(familyId = crypto.randomUUID(), ttlMs = 3_600_000) {
      const { hash } = generateRefreshToken();
      const row = await ids.insertRefreshToken({ familyId, userId, tokenHash: hash, expiresAt: new Date(clock.now + ttlMs) });
      return { hash, row };
    }

    it("spends a live token once", async () => {
      const { hash, row } = await insert();
      expect(row).toMatchObject({ userId, createdAt: new Date(clock.now).toISOString() });
      expect(row.spentAt).toBeUndefined();
      const spent = await ids.spendRefreshToken(hash);
      expect(spent).toMatchObject({ id: row.id, familyId: row.familyId, spentAt: new Date(clock.now).toISOString() });
      expect(await ids.spendRefreshToken(hash)).toBeUndefined();
      expect((await ids.findRefreshToken(hash))!.spentAt).toBe(new Date(clock.now).toISOString());
    });

    it("lets exactly one of many concurrent spends of one token win", async () => {
      const { hash } = await insert();
      const results = await Promise.all(Array.from({ length: 6 }, () => ids.spendRefreshToken(hash)));
      expect(results.filter(Boolean)).toHaveLength(1);
    });

    it("does not spend an expired, revoked or unknown token", async () => {
      const expired = await insert(undefined, 1_000);
      clock.now += 1_000;
      expect(await ids.spendRefreshToken(expired.hash)).toBeUndefined();
      const revoked = await insert();
      expect((await ids.revokeByHash(revoked.hash))!.revokedAt).toBe(new Date(clock.now).toISOString());
      expect(await ids.spendRefreshToken(revoked.hash)).toBeUndefined();
      expect(await ids.spendRefreshToken(generateRefreshToken().hash)).toBeUndefined();
      expect(await ids.revokeByHash(generateRefreshToken().hash)).toBeUndefined();
    });

    it("revokes a whole family and nothing else", async () => {
      const family = crypto.randomUUID();
      const a = await insert(family);
      const b = await insert(family);
      const other = await insert();
      expect(await ids.revokeFamily(family)).toBe(2);
      expect(await ids.revokeFamily(family)).toBe(0);
      expect((await ids.findRefreshToken(a.hash))!.revokedAt).toBeDefined();
      expect((await ids.findRefreshToken(b.hash))!.revokedAt).toBeDefined();
      expect((await ids.findRefreshToken(other.hash))!.revokedAt).toBeUndefined();
    });

    it("rolls back a spend when the transaction around it throws", async () => {
      const { hash } = await insert();
      await expect(
        ids.transaction(async (tx) => {
          expect(await tx.spendRefreshToken(hash)).toBeDefined();
          throw new Error("abort");
        }),
      ).rejects.toThrow("abort");
      expect(await ids.spendRefreshToken(hash)).toBeDefined();
    });

    it("deletes tokens that expired before a time", async () => {
      const old = await insert(undefined, 10);
      const young = await insert(undefined, 3_600_000);
      expect(await ids.deleteExpiredRefreshTokens(new Date(clock.now + 60_000))).toBeGreaterThanOrEqual(1);
      expect(await ids.findRefreshToken(old.hash)).toBeUndefined();
      expect(await ids.findRefreshToken(young.hash)).toBeDefined();
    });
  });

  describe("API keys", () => {
    it("creates a key, returning its plaintext once and storing only its hash", async () => {
      const expiresAt = new Date(clock.now + 86_400_000);
      const created = await ids.createApiKey({ name: "ci", role: "operator", scopes: ["consult:run"], expiresAt, createdBy: "cli" });
      expect(created).toEqual({
        id: expect.stringMatching(/^[0-9a-f]{16}$/),
        key: expect.stringMatching(/^core_[0-9a-f]{16}_/),
        name: "ci",
        role: "operator",
        scopes: ["consult:run"],
        createdBy: "cli",
        createdAt: new Date(clock.now).toISOString(),
        expiresAt: expiresAt.toISOString(),
      });
      const raw = await store.query<{ key_hash: string }>("SELECT key_hash FROM api_keys WHERE id = $1", [created.id]);
      expect(raw.rows[0]!.key_hash).toBe(hashApiKey(created.key));
      const found = await ids.findApiKey(created.id);
      expect(found).toEqual({ ...created, key: undefined, keyHash: hashApiKey(created.key) });
      expect(await ids.findApiKey("0000000000000000")).toBeUndefined();
    });

    it("lists keys without hashes or plaintext, revoked ones unless asked not to", async () => {
      const a = await ids.createApiKey({ name: "list-a", role: "viewer", createdBy: "u1" });
      const b = await ids.createApiKey({ name: "list-b", role: "viewer", createdBy: "u1" });
      await ids.revokeApiKey(b.id);
      const all = await ids.listApiKeys();
      const listed = all.find((k) => k.id === a.id)!;
      expect(listed).toEqual({ id: a.id, name: "list-a", role: "viewer", scopes: [], createdBy: "u1", createdAt: a.createdAt });
      expect(all.map((k) => k.id)).toContain(b.id);
      for (const k of all) expect(Object.keys(k).sort()).not.toContain("keyHash");
      expect(JSON.stringify(all)).not.toContain("core_");
      expect((await ids.listApiKeys({ includeRevoked: false })).map((k) => k.id)).not.toContain(b.id);
    });

    it("revokes once (a second revoke keeps the first time); an unknown id is 404", async () => {
      const k = await ids.createApiKey({ name: "revoke", role: "viewer", createdBy: "u1" });
      const first = await ids.revokeApiKey(k.id);
      expect(first.revokedAt).toBe(new Date(clock.now).toISOString());
      clock.now += 5_000;
      expect((await ids.revokeApiKey(k.id)).revokedAt).toBe(first.revokedAt);
      const err = await ids.revokeApiKey("ffffffffffffffff").catch((e: unknown) => e);
      expect(err).toBeInstanceOf(NotFoundError);
      expect(err).toMatchObject({ status: 404 });
    });

    it("records the last use at most once a minute per key", async () => {
      const k = await ids.createApiKey({ name: "touch", role: "viewer", createdBy: "u1" });
      const start = clock.now;
      expect(await ids.touchApiKey(k.id)).toBe(true);
      expect((await ids.findApiKey(k.id))!.lastUsedAt).toBe(new Date(start).toISOString());
      clock.now += 30_000;
      expect(await ids.touchApiKey(k.id)).toBe(false);
      expect((await ids.findApiKey(k.id))!.lastUsedAt).toBe(new Date(start).toISOString());
      clock.now += 31_000;
      expect(await ids.touchApiKey(k.id)).toBe(true);
      expect((await ids.findApiKey(k.id))!.lastUsedAt).toBe(new Date(clock.now).toISOString());
    });
  });
});
