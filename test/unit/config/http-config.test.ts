import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../../../config";
import { configError } from "../../helpers/config-error";

describe("loadConfig: HTTP edge settings", () => {
  it("trusts no proxy and sends no CORS headers by default", () => {
    expect(loadConfig({}).http).toEqual({ trustedProxies: [], corsOrigins: [] });
    expect(loadConfig({ CORE_TRUSTED_PROXIES: "", CORE_CORS_ORIGINS: "" }).http).toEqual({ trustedProxies: [], corsOrigins: [] });
  });

  it("reads trusted proxies as a comma-separated list of IPs, CIDR ranges and range names", () => {
    const config = loadConfig({ CORE_TRUSTED_PROXIES: " 10.0.0.0/8, ::1 ,fd00::/8,,::ffff:127.0.0.1,loopback" });
    expect(config.http.trustedProxies).toEqual(["10.0.0.0/8", "::1", "fd00::/8", "::ffff:127.0.0.1", "loopback"]);
  });

  it("names the proxy entries it cannot read", () => {
    const err = configError({ CORE_TRUSTED_PROXIES: "10.0.0.0/8,10.0.0.0/33,proxy.local" });
    expect(err.issues).toEqual([
      {
        field: "CORE_TRUSTED_PROXIES",
        received: "10.0.0.0/8,10.0.0.0/33,proxy.local",
        message: expect.stringMatching(/^received "10\.0\.0\.0\/8,10\.0\.0\.0\/33,proxy\.local"; expected IP addresses or CIDR ranges .*\(not valid: 10\.0\.0\.0\/33, proxy\.local\)$/),
      },
    ]);
  });

  it("reads CORS origins as browsers send them, and * for any", () => {
    expect(loadConfig({ CORE_CORS_ORIGINS: "https://App.Example.com/, http://localhost:5173,https://x.example:443" }).http.corsOrigins).toEqual([
      "https://app.example.com",
      "http://localhost:5173",
      "https://x.example",
    ]);
    expect(loadConfig({ CORE_CORS_ORIGINS: "*" }).http.corsOrigins).toEqual(["*"]);
  });

  it("names the CORS origins it cannot read", () => {
    const err = configError({ CORE_CORS_ORIGINS: "https://ok.example,https://a.example/path,ftp://f.example,example.com,https://u:p@x.example" });
    expect(err.issues).toHaveLength(1);
    expect(err.issues[0]).toMatchObject({ field: "CORE_CORS_ORIGINS" });
    expect(err.issues[0]!.message).toContain("(not valid: https://a.example/path, ftp://f.example, example.com, https://u:p@x.example)");
  });

  it("reports rate-limit route keys it cannot read with the other configuration problems", () => {
    const dir = mkdtempSync(join(tmpdir(), "core-config-"));
    const path = join(dir, "core.json");
    const limit = { capacity: 5, refillPerSecond: 1 };
    writeFileSync(path, JSON.stringify({ rateLimits: { routes: { "POST /api/v1/consult": limit, "FETCH /x": limit, "post /API/v1/consult/": limit } } }));
    const err = configError({ CORE_CONFIG: path, CORE_API_PORT: "x" });
    expect(err.issues.map((i) => i.field)).toEqual([
      "CORE_API_PORT",
      `rateLimits.routes.FETCH /x (in ${path})`,
      `rateLimits.routes.post /API/v1/consult/ (in ${path})`,
    ]);
    expect(err.issues[1]!.message).toMatch(/^received "FETCH \/x"; expected an HTTP method/);
    writeFileSync(path, JSON.stringify({ rateLimits: { default: limit, routes: { "POST /api/v1/consult": limit, "/api/v1/*": limit } } }));
    expect(loadConfig({ CORE_CONFIG: path }).rateLimits.routes).toEqual({ "POST /api/v1/consult": limit, "/api/v1/*": limit });
  });
});
