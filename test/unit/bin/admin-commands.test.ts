import { InvalidArgumentError } from "commander";
import { durationArgument, renderCreatedKey, renderKeyTable, renderVerification } from "../../../bin/admin-commands";

describe("admin command output", () => {
  it("audit verify: intact names rows and the head; broken names the first bad row (exit 1)", () => {
    expect(renderVerification({ ok: true, rows: 0, head: null })).toEqual({ text: "audit log intact: 0 rows", code: 0 });
    expect(renderVerification({ ok: true, rows: 12, head: { seq: 12, hash: "ab".repeat(32) } })).toEqual({
      text: `audit log intact: 12 rows; last row seq 12, hash ${"ab".repeat(32)}`,
      code: 0,
    });
    expect(
      renderVerification({ ok: false, rows: 4, firstBroken: { seq: 5, reason: "hash mismatch", message: "row 5 was changed after it was written (its content does not match its hash)" } }),
    ).toEqual({ text: "audit log broken at row seq 5: row 5 was changed after it was written (its content does not match its hash) (the 4 rows before it hold)", code: 1 });
    expect(renderVerification({ ok: false, rows: 0, firstBroken: { seq: 1, reason: "gap in sequence", message: "row 1 is missing: the log starts at row 2" } }).text).toBe(
      "audit log broken at row seq 1: row 1 is missing: the log starts at row 2",
    );
  });

  it("keys create: the key on a line of its own, and that it will not be shown again", () => {
    const text = renderCreatedKey({
      id: "0123456789abcdef",
      name: "ci",
      role: "viewer",
      scopes: [],
      createdBy: "system",
      createdAt: "2026-01-01T00:00:00.000Z",
      key: "core_0123456789abcdef_secret",
    });
    expect(text.split("\n")).toEqual([
      'Created API key 0123456789abcdef "ci" (role viewer; never expires):',
      "core_0123456789abcdef_secret",
      "Store it now: it will not be shown again (CORE keeps only its SHA-256 hash).",
    ]);
  });

  it("keys list: one row per key with its status, never a key; a hint when there are none", () => {
    const now = Date.parse("2026-06-01T00:00:00Z");
    const table = renderKeyTable(
      [
        { id: "k1", name: "ci", role: "viewer", scopes: ["consult:run"], createdBy: "system", createdAt: "2026-01-01T10:20:30.000Z", lastUsedAt: "2026-05-01T08:00:00.000Z" },
        { id: "k2", name: "old", role: "admin", scopes: [], createdBy: "system", createdAt: "2026-01-01T00:00:00.000Z", expiresAt: "2026-02-01T00:00:00.000Z" },
        { id: "k3", name: "gone", role: "admin", scopes: [], createdBy: "system", createdAt: "2026-01-01T00:00:00.000Z", revokedAt: "2026-03-04T05:06:00.000Z" },
      ],
      now,
    );
    expect(table).toMatch(/│ k1 +│ ci +│ viewer │ consult:run │ 2026-01-01 10:20Z │ never +│ 2026-05-01 08:00Z │ active +│/);
    expect(table).toMatch(/│ k2 +│ old +│ admin +│ - +│ .* │ 2026-02-01 00:00Z │ never +│ expired +│/);
    expect(table).toMatch(/│ k3 +│ gone +│ admin +│ .* │ revoked 2026-03-04 05:06Z │/);
    expect(renderKeyTable([])).toBe("No API keys yet: create one with core keys create --name NAME --role ROLE.");
  });

  it("--expires takes a duration, or is a usage error", () => {
    expect(durationArgument("90d")).toBe("90d");
    expect(() => durationArgument("soon")).toThrow(InvalidArgumentError);
    expect(() => durationArgument("0d")).toThrow('received "0d"; expected a duration such as 30m, 12h, 90d or 1w');
  });
});
