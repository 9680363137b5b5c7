import { inspect } from "node:util";
import fc from "fast-check";
import { CIRCULAR, isSecretKey, redact, REDACTED, redactString, TOO_DEEP, TRUNCATED } from "../../../../lib/security/redact";

/** A deep copy, to prove the input was not touched. */
const snapshot = (v: unknown): unknown => structuredClone(v);

const b64url = (minLength: number, maxLength: number) => fc.uint8Array({ minLength, maxLength }).map((b) => Buffer.from(b).toString("base64url"));

/** Secrets as they occur in the wild, each with the part that must not survive. */
const secretArb = fc.oneof(
  b64url(16, 48).map((t) => ({ text: `Bearer ${t}`, secret: t })),
  fc.tuple(b64url(12, 40), b64url(24, 120), b64url(32, 64)).map(([p, q, s]) => {
    const jwt = `eyJ${p}.eyJ${q}.${s}`;
    return { text: jwt, secret: jwt.slice(3) };
  }),
  fc.tuple(fc.stringMatching(/^[a-z0-9]{6,16}$/), b64url(24, 32)).map(([id, s]) => ({ text: `core_${id}_${s}`, secret: s })),
  fc.tuple(fc.constantFrom("sk-", "sk-ant-", "sk-proj-", "sk-ant-api03-"), b64url(24, 60)).map(([prefix, s]) => ({ text: `${prefix}${s}`, secret: s })),
  fc.tuple(fc.stringMatching(/^[a-z]{3,8}$/), b64url(8, 24)).map(([user, pw]) => ({ text: `postgres://${user}:${pw}@db.example:5432/core`, secret: pw })),
  b64url(12, 32).map((t) => ({ text: `https://api.example/x?access_token=${t}&n=1`, secret: t })),
);

/** Words and punctuation that never form a secret themselves. */
const filler = fc.array(fc.constantFrom("the", "key", "failed", "for", "user", ":", ",", "(", ")", "request", "42", "—", "ünïcödé", "\n"), { maxLength: 6 }).map((w) => w.join(" "));

function hasSecretKey(v: unknown): boolean {
  if (v === null || typeof v !== "object") return false;
  return Array.isArray(v) ? v.some(hasSecretKey) : Object.entries(v).some(([k, x]) => isSecretKey(k) || hasSecretKey(x));
}

/** Keys that name a secret, in the spellings callers use. */
const secretKeyArb = fc.constantFrom(
  "password",
  "Password",
  "newPassword",
  "password_hash",
  "secret",
  "clientSecret",
  "token",
  "accessToken",
  "refresh_token",
  "apiKey",
  "api_key",
  "API-KEY",
  "x-api-key",
  "X-Api-Key",
  "authorization",
  "Authorization",
  "proxy-authorization",
  "cookie",
  "set-cookie",
  "credentials",
  "privateKey",
);

describe("isSecretKey", () => {
  it.each(["password", "PASSWORD", "apiKey", "api_key", "x-api-key", "authorization", "cookie", "refreshToken", "accessToken", "token", "jwtSecret", "openaiApiKey"])(
    "%s names a secret",
    (k) => expect(isSecretKey(k)).toBe(true),
  );

  it.each(["inputTokens", "maxTokens", "tokens", "apiKeyEnv", "keyId", "id", "principal", "model", "tokenCount", "key", "cacheKey"])("%s does not", (k) =>
    expect(isSecretKey(k)).toBe(false),
  );
});

describe("redactString", () => {
  it.each([
    ["Authorization: Bearer abc.def.ghi", "abc.def.ghi"],
    ["token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1In0.sig-part_1 expired", "eyJzdWIiOiJ1In0"],
    ["alg none: eyJhbGciOiJub25lIn0.eyJzdWIiOiJ1In0.", "eyJzdWIiOiJ1In0"],
    ["key core_k1a2b3_Q2hhbmdlTWVQbGVhc2UxMjM0NTY3ODkw was revoked", "Q2hhbmdlTWVQbGVhc2UxMjM0NTY3ODkw"],
    ["OPENAI sk-proj-AbCdEf0123456789AbCdEf0123", "AbCdEf0123456789AbCdEf0123"],
    ["anthropic=sk-ant-api03-AbCdEf0123456789AbCdEf", "AbCdEf0123456789AbCdEf"],
    ["postgres://core:hunter2@db:5432/core", "hunter2"],
    ["GET /v1/models?api_key=abc123&x=1", "abc123"],
    ['{"password":"two words","user":"u"}', "two words"],
    ["password=hunter2 user=u", "hunter2"],
    ["new_password: hunter2", "hunter2"],
    ["cookie: session=abc; theme=dark", "session=abc"],
    ['{"refresh_token":"r-0123"}', "r-0123"],
    ["AIzaSyA1234567890abcdefghijklmnopqrstu", "SyA1234567890abcdefghijklmnopqrstu"],
    ["ghp_0123456789abcdefghijABCDEFGHIJ", "0123456789abcdefghijABCDEFGHIJ"],
  ])("masks %j", (input, secret) => {
    const out = redactString(input);
    expect(out).not.toContain(secret);
    expect(out).toContain(REDACTED);
  });

  it("keeps the parts that help: the scheme, the key id, the user", () => {
    expect(redactString("Bearer abc")).toBe(`Bearer ${REDACTED}`);
    expect(redactString("core_k1_Q2hhbmdlTWVQbGVhc2UxMjM0NTY3")).toBe(`core_k1_${REDACTED}`);
    expect(redactString("sk-ant-api03-AbCdEf0123456789AbCdEf")).toBe(`sk-ant-${REDACTED}`);
    expect(redactString("redis://default:pw@cache:6379/0")).toBe(`redis://default:${REDACTED}@cache:6379/0`);
  });

  it.each([
    "Applying migration 3 (security)",
    "table core_schema_migrations is at version 3",
    "core_consult_duration_seconds_bucket",
    "inputTokens=120 outputTokens=80",
    "the token expired",
    "task-management-and-scheduling-system",
    "risk-assessment",
    "http://localhost:3000/api/v1/consult",
    "max_tokens: 1024",
    "apiKeyEnv=OPENAI_API_KEY",
  ])("leaves %j alone", (s) => {
    expect(redactString(s)).toBe(s);
  });

  it("is idempotent", () => {
    const once = redactString("Bearer x core_a_Q2hhbmdlTWVQbGVhc2UxMjM0 password=p sk-AbCdEf0123456789AbCd");
    expect(redactString(once)).toBe(once);
  });

  it("stays linear on long runs that almost match", () => {
    const started = performance.now();
    for (const s of ["a".repeat(200_000), "core_".repeat(40_000), "sk-".repeat(60_000), "eyJ.".repeat(50_000), "password=".repeat(20_000), 'password="'.repeat(20_000), 'cookie: "'.repeat(20_000), "eyJ".repeat(60_000), `${"a".repeat(100_000)}://`]) {
      redactString(s);
    }
    expect(performance.now() - started).toBeLessThan(2_000);
  });
});

describe("redact", () => {
  it("replaces values under secret keys at any depth, and masks strings everywhere", () => {
    const input = {
      user: "ada",
      password: "hunter2",
      headers: { authorization: "Bearer abc.def.ghi", "X-Api-Key": "k", accept: "json" },
      list: [{ refreshToken: "r1" }, "Bearer zzz", 3],
      nested: { deeper: { apiKey: { anything: "inside" }, tokens: 12 } },
      empty: { password: null, token: undefined },
    };
    const before = snapshot(input);
    const out = redact(input);
    expect(input).toEqual(before);
    expect(out).toEqual({
      user: "ada",
      password: REDACTED,
      headers: { authorization: REDACTED, "X-Api-Key": REDACTED, accept: "json" },
      list: [{ refreshToken: REDACTED }, `Bearer ${REDACTED}`, 3],
      nested: { deeper: { apiKey: REDACTED, tokens: 12 } },
      empty: { password: null, token: undefined },
    });
  });

  it("returns the same reference when there is nothing to hide, and shares untouched branches", () => {
    const clean = { a: [1, { b: "text" }], c: { d: null } };
    expect(redact(clean)).toBe(clean);
    const mixed = { safe: { x: 1 }, password: "p" } as const;
    const out = redact(mixed) as typeof mixed;
    expect(out).not.toBe(mixed);
    expect(out.safe).toBe(mixed.safe);
  });

  it("handles cycles and shared references", () => {
    const a: Record<string, unknown> = { name: "a", password: "p" };
    a.self = a;
    const shared = { token: "t" };
    const out = redact({ a, one: shared, two: shared }) as { a: Record<string, unknown>; one: unknown; two: unknown };
    expect(out.a.self).toBe(CIRCULAR);
    expect(out.a.password).toBe(REDACTED);
    expect(out.one).toEqual({ token: REDACTED });
    expect(out.two).toBe(out.one);
    expect(a.password).toBe("p");
  });

  it("redacts errors: message, stack, cause and fields, keeping the class", () => {
    class AuthError extends Error {
      code = "E_AUTH";
      headers = { authorization: "Bearer leaked" };
    }
    const err = new AuthError("key core_k1_Q2hhbmdlTWVQbGVhc2UxMjM0NTY3 refused", { cause: new Error("with sk-AbCdEf0123456789AbCdEf") });
    const out = redact(err) as AuthError;
    expect(out).toBeInstanceOf(AuthError);
    expect(out.message).toBe(`key core_k1_${REDACTED} refused`);
    expect(out.stack).not.toContain("Q2hhbmdl");
    expect(out.code).toBe("E_AUTH");
    expect(out.headers).toEqual({ authorization: REDACTED });
    expect(inspect(out)).not.toMatch(/Q2hhbmdl|leaked|AbCdEf0123/);
    expect(err.message).toContain("Q2hhbmdl");
    const plain = new Error("nothing here");
    expect(redact(plain)).toBe(plain);
  });

  it("keeps class instances printable and Maps/Sets redacted", () => {
    class Session {
      constructor(
        readonly id: string,
        readonly token: string,
      ) {}
    }
    const out = redact({ s: new Session("s1", "t"), m: new Map([["apiKey", "k"], ["n", "Bearer b"]]), set: new Set(["Bearer c"]) }) as {
      s: Session;
      m: Map<string, string>;
      set: Set<string>;
    };
    expect(out.s).toBeInstanceOf(Session);
    expect(out.s).toEqual(Object.assign(Object.create(Session.prototype), { id: "s1", token: REDACTED }));
    expect([...out.m]).toEqual([
      ["apiKey", REDACTED],
      ["n", `Bearer ${REDACTED}`],
    ]);
    expect([...out.set]).toEqual([`Bearer ${REDACTED}`]);
  });

  it("masks secrets used as keys, and keeps a __proto__ key as data", () => {
    const input = JSON.parse('{"__proto__":{"password":"p"},"sk-AbCdEf0123456789AbCdEf":1}') as object;
    const out = redact(input) as Record<string, unknown>;
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(Object.keys(out)).toEqual(["__proto__", `sk-${REDACTED}`]);
    expect(JSON.stringify(out)).toBe(`{"__proto__":{"password":"${REDACTED}"},"sk-${REDACTED}":1}`);
  });

  it("bounds the work on huge and deep inputs", () => {
    const deep: Record<string, unknown> = {};
    let cur = deep;
    for (let i = 0; i < 100; i++) cur = cur.next = {} as Record<string, unknown>;
    expect(JSON.stringify(redact(deep, { maxDepth: 3 }))).toBe(`{"next":{"next":{"next":"${TOO_DEEP}"}}}`);

    const wide = Array.from({ length: 1_000_000 }, (_, i) => ({ i }));
    const started = performance.now();
    const out = redact(wide, { maxNodes: 1000 }) as unknown[];
    expect(performance.now() - started).toBeLessThan(1000);
    expect(out.length).toBeLessThan(1000);
    expect(out.at(-1)).toMatch(new RegExp(`^\\${TRUNCATED} \\d+ more items$`));

    const long = `${"x".repeat(100)} sk-AbCdEf0123456789AbCdEfAbCdEf`;
    const cut = redact(long, { maxStringLength: 110 }) as string;
    expect(cut).not.toContain("AbCdEf");
    expect(cut).toMatch(/more characters\]$/);
    expect(redact(["a".repeat(10), "b".repeat(10)], { maxTotalChars: 10 })).toEqual(["a".repeat(10), TRUNCATED]);
  });

  it("property: nothing that looks like a secret survives, wherever it is", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(filler, secretArb, filler, secretKeyArb, fc.string()), { minLength: 1, maxLength: 5 }), (parts) => {
        const input = {
          message: parts.map(([before, s, after]) => `${before} ${s.text} ${after}`).join(" | "),
          nested: parts.map(([, s, , key, other]) => ({ [key]: other, note: `see ${s.text}`, deeper: [{ [key]: { value: other } }] })),
        };
        const before = snapshot(input);
        const text = JSON.stringify(redact(input));
        expect(input).toEqual(before);
        for (const [, s, , , other] of parts) {
          expect(text).not.toContain(s.secret);
          if (other.length > 3) expect(text).not.toContain(JSON.stringify({ value: other }));
        }
      }),
      { numRuns: 300 },
    );
  });

  it("property: data without secrets comes back unchanged, as the same reference", () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 5 }), (value) => {
        // A generated key may by chance be a secret's name ("pwd"): then it is not "data without secrets".
        fc.pre(!hasSecretKey(value));
        const before = snapshot(value);
        const out = redact(value);
        expect(out).toBe(value);
        expect(value).toEqual(before);
      }),
      { numRuns: 300 },
    );
  });
});
