import { credentialFromHeaders } from "../../../../lib/security/authenticator";

describe("credentialFromHeaders", () => {
  it("takes Authorization first, else X-Api-Key, whatever the header case", () => {
    expect(credentialFromHeaders({ authorization: "Bearer abc", "x-api-key": "core_x" })).toBe("Bearer abc");
    expect(credentialFromHeaders({ "X-Api-Key": " core_x " })).toBe("core_x");
    expect(credentialFromHeaders({ Authorization: "Bearer abc" })).toBe("Bearer abc");
    expect(credentialFromHeaders({ authorization: "  ", "x-api-key": "core_y" })).toBe("core_y");
  });

  it("is undefined without a credential, and joins repeated headers (which then fail to parse)", () => {
    expect(credentialFromHeaders({})).toBeUndefined();
    expect(credentialFromHeaders({ "x-api-key": undefined, host: "h" })).toBeUndefined();
    expect(credentialFromHeaders({ "x-api-key": ["core_a", "core_b"] })).toBe("core_a, core_b");
  });
});
