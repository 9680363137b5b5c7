import { ValidationError } from "../../../../lib/errors";
import { DEFAULT_SCRYPT_PARAMS, PasswordHasher } from "../../../../lib/security/password-hasher";

// A cheap cost keeps the suite quick; the default is exercised once below.
const cheap = new PasswordHasher({ params: { ln: 10, r: 8, p: 1 } });
const password = "correct horse battery staple";

describe("PasswordHasher", () => {
  it("hashes into a PHC-style string with its parameters and a fresh salt each time", async () => {
    const a = await cheap.hash(password);
    const b = await cheap.hash(password);
    expect(a).toMatch(/^\$scrypt\$ln=10,r=8,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
    expect(a).not.toBe(b);
    expect(a).not.toContain(password);
  });

  it("verifies the right password and refuses a wrong one", async () => {
    const hash = await cheap.hash(password);
    expect(await cheap.verify(password, hash)).toBe(true);
    expect(await cheap.verify(`${password}!`, hash)).toBe(false);
    expect(await cheap.verify("", hash)).toBe(false);
  });

  it("verifies with the parameters stored in the hash, not its own", async () => {
    const hash = await cheap.hash(password);
    const stronger = new PasswordHasher({ params: { ln: 11, r: 8, p: 1 } });
    expect(await stronger.verify(password, hash)).toBe(true);
    expect(stronger.needsRehash(hash)).toBe(true);
    expect(cheap.needsRehash(hash)).toBe(false);
    const rehashed = await stronger.rehash(password);
    expect(stronger.needsRehash(rehashed)).toBe(false);
  });

  it("treats the same password in another Unicode form as the same", async () => {
    const composed = "caf\u00e9 au lait, s'il vous pla\u00eet";
    const decomposed = composed.normalize("NFD");
    expect(decomposed).not.toBe(composed);
    expect(await cheap.verify(decomposed, await cheap.hash(composed))).toBe(true);
  });

  it("matches nothing against a corrupt or hostile stored hash, without throwing", async () => {
    const hash = await cheap.hash(password);
    for (const bad of ["", "plain", "$scrypt$ln=10,r=8,p=1$$", hash.replace("ln=10", "ln=40"), hash.replace(/\$[^$]+$/, "$AAAA"), `$argon2id$v=19$m=65536,t=3,p=4$x$y`]) {
      expect(await cheap.verify(password, bad)).toBe(false);
      expect(cheap.needsRehash(bad)).toBe(true);
    }
  });

  it("refuses an empty, short or absurdly long new password with a 422 that says what to fix", async () => {
    for (const [bad, hint] of [
      ["", /required/],
      ["short1", /at least 12 characters long \(it has 6\)/],
      ["x".repeat(1025), /at most 1024/],
    ] as const) {
      const err = await cheap.hash(bad).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ValidationError);
      expect(err).toMatchObject({ status: 422, code: "VALIDATION_FAILED" });
      expect((err as ValidationError).message).toMatch(hint);
      expect((err as ValidationError).issues).toEqual([{ field: "password", message: (err as ValidationError).message }]);
    }
    // Characters, not UTF-16 units: twelve emoji are twelve characters.
    expect(cheap.problem("\u{1F600}".repeat(12))).toBeUndefined();
    expect(new PasswordHasher({ minLength: 4 }).problem("abcd")).toBeUndefined();
  });

  it("refuses parameters out of range", () => {
    expect(() => new PasswordHasher({ params: { ln: 30, r: 8, p: 1 } })).toThrow(RangeError);
  });

  it("works at the default cost (32 MiB, above Node's default scrypt memory cap)", async () => {
    const hasher = new PasswordHasher();
    expect(hasher.params).toEqual(DEFAULT_SCRYPT_PARAMS);
    const hash = await hasher.hash(password);
    expect(hash.startsWith("$scrypt$ln=15,r=8,p=1$")).toBe(true);
    expect(await hasher.verify(password, hash)).toBe(true);
  });

  it("makes a dummy hash with the current parameters that nobody's password matches", async () => {
    const dummy = await cheap.dummyHash();
    expect(cheap.needsRehash(dummy)).toBe(false);
    expect(await cheap.verify(password, dummy)).toBe(false);
  });
});
