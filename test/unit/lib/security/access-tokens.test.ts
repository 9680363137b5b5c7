import { createHmac } from "node:crypto";
import jwt from "jsonwebtoken";
import { AccessTokenExpiredError, CoreError, InvalidAccessTokenError } from "../../../../lib/errors";
import { AccessTokens, weakSecretReason } from "../../../../lib/security/access-tokens";

const secret = "s".repeat(16) + "-a-test-secret-of-enough-bytes-0123456789";
const t0 = Date.UTC(2026, 0, 1, 12);

function tokens(overrides: Partial<ConstructorParameters<typeof AccessTokens>[0]> = {}, at = { now: t0 }) {
  return new AccessTokens({ secret, now: () => at.now, ...overrides });
}

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString("base64url");
const parts = (token: string): [string, string, string] => token.split(".") as [string, string, string];
const payloadOf = (token: string): Record<string, unknown> => JSON.parse(Buffer.from(parts(token)[1], "base64url").toString("utf8")) as Record<string, unknown>;

/** Asserts a 401 of the given class and reason whose serialized form says nothing of the token. */
function expectRefused(fn: () => unknown, token: string, cls: typeof CoreError, reason?: string): void {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(cls);
  const err = caught as CoreError;
  expect(err.status).toBe(401);
  if (reason) expect(err.data.reason).toBe(reason);
  const wire = JSON.stringify(err.toJSON()) + err.message;
  for (const piece of token.split(".").filter((p) => p.length >= 8)) expect(wire).not.toContain(piece);
}

describe("AccessTokens", () => {
  const alice = { id: "user-1", roles: ["operator"] };

  it("issues an HS256 token with every claim, and verifies it", () => {
    const t = tokens();
    const issued = t.issue(alice);
    expect(issued.expiresIn).toBe(900);
    const [header] = parts(issued.token);
    expect(JSON.parse(Buffer.from(header, "base64url").toString())).toEqual({ alg: "HS256", typ: "JWT" });
    const claims = t.verify(issued.token);
    expect(claims).toEqual({
      sub: "user-1",
      roles: ["operator"],
      jti: expect.stringMatching(/^[0-9a-f-]{36}$/),
      iss: "core",
      aud: "core-api",
      iat: t0 / 1000,
      nbf: t0 / 1000,
      exp: t0 / 1000 + 900,
    });
    expect(t.issue(alice).claims.jti).not.toBe(claims.jti);
  });

  it("refuses alg none, crafted by hand", () => {
    const good = tokens().issue(alice).token;
    const none = `${b64({ alg: "none", typ: "JWT" })}.${parts(good)[1]}.`;
    expectRefused(() => tokens().verify(none), none, InvalidAccessTokenError, "algorithm not allowed");
    // Even with some signature attached.
    const noneSigned = `${b64({ alg: "none", typ: "JWT" })}.${parts(good)[1]}.${parts(good)[2]}`;
    expectRefused(() => tokens().verify(noneSigned), noneSigned, InvalidAccessTokenError);
  });

  it("refuses another HMAC algorithm even with the right secret", () => {
    const payload = payloadOf(tokens().issue(alice).token);
    const hs512 = jwt.sign(payload, secret, { algorithm: "HS512" });
    expectRefused(() => tokens().verify(hs512), hs512, InvalidAccessTokenError, "algorithm not allowed");
  });

  it("refuses a token signed with another secret", () => {
    const forged = tokens({ secret: "another-secret-that-is-also-long-enough!!" }).issue(alice).token;
    expectRefused(() => tokens().verify(forged), forged, InvalidAccessTokenError, "bad signature");
  });

  it("refuses a tampered payload: roles raised, re-encoded, old signature kept", () => {
    const good = tokens().issue(alice).token;
    const [h, p, s] = parts(good);
    const raised = `${h}.${b64({ ...payloadOf(good), roles: ["admin"] })}.${s}`;
    expectRefused(() => tokens().verify(raised), raised, InvalidAccessTokenError, "bad signature");
    // One byte of the payload changed.
    const flipped = `${h}.${p.slice(0, 10)}${p[10] === "A" ? "B" : "A"}${p.slice(11)}.${s}`;
    expectRefused(() => tokens().verify(flipped), flipped, InvalidAccessTokenError);
    // One byte of the signature changed.
    const badSig = `${h}.${p}.${s[0] === "A" ? "B" : "A"}${s.slice(1)}`;
    expectRefused(() => tokens().verify(badSig), badSig, InvalidAccessTokenError, "bad signature");
  });

  it("refuses an expired token, with the clock tolerance of 5 s", () => {
    const at = { now: t0 };
    const t = tokens({}, at);
    const { token } = t.issue(alice);
    at.now = t0 + (900 + 4) * 1000;
    expect(t.verify(token).sub).toBe("user-1");
    at.now = t0 + (900 + 5) * 1000;
    expectRefused(() => t.verify(token), token, AccessTokenExpiredError, "expired");
    expect(() => t.verify(token)).toThrow(expect.objectContaining({ code: "AUTH_TOKEN_EXPIRED" }));
  });

  it("remembers a verified token by its exact text only: a tampered copy is checked, and refused, in full", () => {
    const t = tokens();
    const { token } = t.issue(alice);
    expect(t.verify(token).roles).toEqual(alice.roles);
    const [h, p, sig] = parts(token);
    const elevated = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p, "base64url").toString()), roles: ["admin"] })).toString("base64url");
    expectRefused(() => t.verify(`${h}.${elevated}.${sig}`), `${h}.${elevated}.${sig}`, InvalidAccessTokenError, "bad signature");
    expect(t.verify(token).roles).toEqual(alice.roles);
  });

  it("refuses a token that is not valid yet (beyond the tolerance)", () => {
    const at = { now: t0 };
    const future = tokens({}, { now: t0 + 60_000 }).issue(alice).token;
    expectRefused(() => tokens({}, at).verify(future), future, InvalidAccessTokenError, "not valid yet");
    // A node whose clock is 3 s ahead is tolerated.
    const slightlyAhead = tokens({}, { now: t0 + 3_000 }).issue(alice).token;
    expect(tokens({}, at).verify(slightlyAhead).sub).toBe("user-1");
  });

  it("refuses a token for another audience or from another issuer", () => {
    const otherAud = tokens({ audience: "someone-else" }).issue(alice).token;
    expectRefused(() => tokens().verify(otherAud), otherAud, InvalidAccessTokenError, "wrong audience");
    const otherIss = tokens({ issuer: "not-core" }).issue(alice).token;
    expectRefused(() => tokens().verify(otherIss), otherIss, InvalidAccessTokenError, "wrong issuer");
  });

  it("refuses a correctly signed token that lacks CORE's claims", () => {
    const now = t0 / 1000;
    const bare = jwt.sign({ iss: "core", aud: "core-api", iat: now }, secret, { algorithm: "HS256" });
    expectRefused(() => tokens().verify(bare), bare, InvalidAccessTokenError, "missing claims");
    const noExp = jwt.sign({ sub: "u", roles: ["admin"], jti: "j", iss: "core", aud: "core-api", iat: now, nbf: now }, secret, { algorithm: "HS256" });
    expectRefused(() => tokens().verify(noExp), noExp, InvalidAccessTokenError, "missing claims");
    // A hand-made HS256 token with a string payload.
    const head = b64({ alg: "HS256", typ: "JWT" });
    const body = Buffer.from('"just a string"').toString("base64url");
    const sig = createHmac("sha256", secret).update(`${head}.${body}`).digest("base64url");
    expectRefused(() => tokens().verify(`${head}.${body}.${sig}`), `${head}.${body}.${sig}`, InvalidAccessTokenError);
  });

  it("refuses malformed input", () => {
    for (const bad of ["", "abc", "a.b.c", "a.b", "....", "x".repeat(10_000), `${b64({ alg: "HS256" })}.notjson.sig`]) {
      expectRefused(() => tokens().verify(bad), bad, InvalidAccessTokenError);
    }
    // A genuine token with white space put inside it (authenticate hands over whatever follows `Bearer `), also once it was verified.
    const t = tokens();
    const { token } = t.issue({ id: "u", roles: ["viewer"] });
    t.verify(token);
    const dot = token.lastIndexOf(".");
    for (const bad of [`${token} x`, `${token.slice(0, dot + 5)} ${token.slice(dot + 5)}`, `${token.slice(0, 10)}\t${token.slice(10)}`]) {
      expectRefused(() => t.verify(bad), bad, InvalidAccessTokenError);
    }
    expectRefused(() => tokens().verify(undefined as unknown as string), "", InvalidAccessTokenError, "malformed");
  });
});

describe("weakSecretReason", () => {
  it("names what is wrong with a secret, and nothing for a good one", () => {
    expect(weakSecretReason(undefined)).toMatch(/not set/);
    expect(weakSecretReason("")).toMatch(/not set/);
    expect(weakSecretReason("short")).toMatch(/5 bytes long; it needs at least 32/);
    const dflt = "change-me-change-me-change-me-change-me";
    expect(weakSecretReason(dflt, [dflt])).toMatch(/default/);
    expect(weakSecretReason(secret)).toBeUndefined();
  });
});
