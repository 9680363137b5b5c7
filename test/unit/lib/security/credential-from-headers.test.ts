import { bearerToken, credentialFromHeaders } from "../../../../lib/security/authenticator";

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

describe("bearerToken", () => {
  it("reads `Bearer <token>` with the scheme in any case and any white space after it, and nothing else", () => {
    expect(bearerToken("Bearer abc.def")).toBe("abc.def");
    expect(bearerToken("bearer abc")).toBe("abc");
    expect(bearerToken("BEARER\tabc")).toBe("abc");
    expect(bearerToken("Bearer    abc")).toBe("abc");
    expect(bearerToken("bearer a b")).toBeUndefined();
    expect(bearerToken("Bearer ")).toBeUndefined();
    expect(bearerToken("Bearerabc")).toBeUndefined();
    expect(bearerToken("Basic abc")).toBeUndefined();
    expect(bearerToken("core_x_y")).toBeUndefined();
  });
});
