import { auditHash, GENESIS_HASH } from "../../../../lib/audit/audit-hash";
import type { AuditRecord } from "../../../../lib/audit/audit-record";

const base: Omit<AuditRecord, "hash"> = {
  seq: 1,
  at: new Date("2026-03-04T05:06:07.089Z"),
  principal: "user:u1",
  action: "auth.login",
  target: null,
  source: "127.0.0.1",
  outcome: "ok",
  requestId: "req-1",
  details: { b: 1, a: { y: [1, "two"], x: null } },
  prevHash: GENESIS_HASH,
};

describe("auditHash", () => {
  it("is SHA-256 hex, deterministic, and blind to key order in details", () => {
    const h = auditHash(base);
    expect(h).toMatch(/^[0-9a-f]{64}$/);
    expect(auditHash({ ...base, details: { a: { x: null, y: [1, "two"] }, b: 1 } })).toBe(h);
    expect(GENESIS_HASH).toBe("0".repeat(64));
  });

  it.each<[string, Partial<Omit<AuditRecord, "hash">>]>([
    ["seq", { seq: 2 }],
    ["at (one millisecond)", { at: new Date(base.at.getTime() + 1) }],
    ["principal", { principal: "user:u2" }],
    ["action", { action: "auth.logout" }],
    ["target null → empty string", { target: "" }],
    ["source", { source: null }],
    ["outcome", { outcome: "denied" }],
    ["requestId", { requestId: null }],
    ["details", { details: { b: 2, a: { y: [1, "two"], x: null } } }],
    ["prevHash", { prevHash: "f".repeat(64) }],
  ])("changes with %s", (_name, change) => {
    expect(auditHash({ ...base, ...change })).not.toBe(auditHash(base));
  });

  it("cannot be fooled by moving text between fields", () => {
    expect(auditHash({ ...base, principal: "user:u1", action: "auth.login" })).not.toBe(auditHash({ ...base, principal: "user:u1auth", action: ".login" }));
    expect(auditHash({ ...base, principal: 'a","b' })).not.toBe(auditHash({ ...base, principal: "a", action: "b" }));
  });
});
