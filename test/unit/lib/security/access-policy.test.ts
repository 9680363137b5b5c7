import { DEFAULT_ROLES } from "../../../../config/default-roles";
import { AccessPolicy } from "../../../../lib/security/access-policy";

describe("AccessPolicy", () => {
  const policy = new AccessPolicy({
    ...DEFAULT_ROLES,
    auditor: { permissions: ["admin:audit"], inherits: ["viewer"] },
    tools: { permissions: ["mcp:call:fs/read*", "mcp:call:git/*"], inherits: [] },
  });

  it("grants the default roles what their names say", () => {
    expect(policy.allows({ roles: ["viewer"] }, "consultations:read")).toBe(true);
    expect(policy.allows({ roles: ["viewer"] }, "consult:run")).toBe(false);
    expect(policy.allows({ roles: ["operator"] }, "consult:run")).toBe(true);
    expect(policy.allows({ roles: ["operator"] }, "costs:read")).toBe(true); // inherited from viewer
    expect(policy.allows({ roles: ["operator"] }, "admin:keys")).toBe(false);
    expect(policy.allows({ roles: ["admin"] }, "admin:keys")).toBe(true);
    expect(policy.allows({ roles: ["admin"] }, "anything:at:all")).toBe(true);
  });

  it("matches * as any run of characters and everything else literally", () => {
    expect(policy.allows({ roles: ["tools"] }, "mcp:call:fs/read_file")).toBe(true);
    expect(policy.allows({ roles: ["tools"] }, "mcp:call:fs/write_file")).toBe(false);
    expect(policy.allows({ roles: ["tools"] }, "mcp:call:git/log")).toBe(true);
    expect(policy.allows({ roles: ["tools"] }, "mcp:call:gitx/log")).toBe(false);
    // Regex metacharacters in a permission are literal.
    const dotted = new AccessPolicy({ r: { permissions: ["mcp:call:a.b/*"], inherits: [] } });
    expect(dotted.allows({ roles: ["r"] }, "mcp:call:a.b/t")).toBe(true);
    expect(dotted.allows({ roles: ["r"] }, "mcp:call:aXb/t")).toBe(false);
  });

  it("narrows a scoped key to its scopes, never beyond its role", () => {
    expect(policy.allows({ roles: ["admin"], scopes: ["consult:run"] }, "consult:run")).toBe(true);
    expect(policy.allows({ roles: ["admin"], scopes: ["consult:run"] }, "admin:keys")).toBe(false);
    expect(policy.allows({ roles: ["viewer"], scopes: ["*"] }, "consult:run")).toBe(false);
    expect(policy.allows({ roles: ["operator"], scopes: [] }, "consult:run")).toBe(true);
  });

  it("knows nothing of unknown roles and lists inherited permissions", () => {
    expect(policy.allows({ roles: ["ghost"] }, "consultations:read")).toBe(false);
    // Answers are remembered per role: one role's never stands for another's.
    expect(policy.allows({ roles: ["viewer"] }, "consult:run")).toBe(false);
    expect(policy.allows({ roles: ["operator"] }, "consult:run")).toBe(true);
    expect(policy.allows({ roles: ["viewer"] }, "consult:run")).toBe(false);
    expect(policy.allows({ roles: ["ghost", "operator"] }, "consult:run")).toBe(true);
    expect(policy.allows({ roles: [] }, "consultations:read")).toBe(false);
    expect(policy.hasRole("auditor")).toBe(true);
    expect(policy.permissionsOf("auditor")).toEqual(expect.arrayContaining(["admin:audit", "consultations:read"]));
  });

  it("refuses inheritance cycles and unknown parents", () => {
    expect(() => new AccessPolicy({ a: { permissions: [], inherits: ["b"] }, b: { permissions: [], inherits: ["a"] } })).toThrow(/inherits itself/);
    expect(() => new AccessPolicy({ a: { permissions: [], inherits: ["nope"] } })).toThrow(/unknown role nope/);
  });
});
