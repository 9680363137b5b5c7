import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import fc from "fast-check";
import { DEFAULT_JWT_SECRET, loadConfig } from "../../../config";
import { configError } from "../../helpers/config-error";

function fileWith(name: string, text: string): string {
  const dir = mkdtempSync(join(tmpdir(), "core-config-"));
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe("loadConfig", () => {
  it("defaults to an embedded node: no transporter, memory cache, PGlite under ./data", () => {
    const config = loadConfig({});
    expect(config.nats).toBeUndefined();
    expect(config.redis).toBeUndefined();
    expect(config.database).toEqual({ kind: "pglite", dataDir: resolve("./data"), schema: "public" });
    expect(config.apiPort).toBe(3000);
    expect(config.metrics).toEqual({ enabled: true, port: 3030 });
    expect(config.namespace).toBe("core");
    expect(config.env).toBe("development");
    expect(config.jwtSecret).toBe(DEFAULT_JWT_SECRET);
  });

  it("uses the connection URLs when set", () => {
    const config = loadConfig({
      NATS_URL: "nats://10.0.0.1:4222,nats://10.0.0.2:4222",
      REDIS_URL: "redis://127.0.0.1:6379/2",
      DATABASE_URL: "postgres://core:pw@db:5432/core",
      CORE_DB_SCHEMA: "tenant_a",
      CORE_NAMESPACE: "prod",
    });
    expect(config.nats).toEqual({ url: "nats://10.0.0.1:4222,nats://10.0.0.2:4222" });
    expect(config.redis).toEqual({ url: "redis://127.0.0.1:6379/2", prefix: "prod" });
    expect(config.database).toEqual({ kind: "postgres", url: "postgres://core:pw@db:5432/core", schema: "tenant_a" });
  });

  it("treats an empty variable as unset", () => {
    expect(loadConfig({ CORE_API_PORT: "", NATS_URL: "" })).toMatchObject({ apiPort: 3000, nats: undefined });
  });

  it("takes OLLAMA_HOST in every form Ollama itself reads, and keeps provider variables apart from the rest", () => {
    for (const host of ["http://10.0.0.2:11434", "10.0.0.2:11434", "ollama", "[::1]:11434"]) {
      expect(loadConfig({ OLLAMA_HOST: host }).providerEnv.OLLAMA_HOST).toBe(host);
    }
    expect(configError({ OLLAMA_HOST: "ftp://x" }).issues[0]).toMatchObject({ field: "OLLAMA_HOST", message: expect.stringContaining("host:port as Ollama reads it") });
    const config = loadConfig({ OPENAI_API_KEY: "sk-1", MY_KEY: "k2", UNRELATED: "x" });
    expect(config.providerEnv).toEqual({ OPENAI_API_KEY: "sk-1" });
  });

  it("names the variable, the value received and what is expected", () => {
    const err = configError({ CORE_API_PORT: "abc" });
    expect(err.code).toBe("CONFIG_INVALID");
    expect(err.issues).toEqual([
      expect.objectContaining({ field: "CORE_API_PORT", received: "abc", message: 'received "abc"; expected an integer port from 0 to 65535' }),
    ]);
  });

  it("reports every problem at once", () => {
    const err = configError({ CORE_API_PORT: "70000", NATS_URL: "http://x", CORE_METRICS: "maybe", CORE_LOG_LEVEL: "loud" });
    expect(err.issues.map((i) => i.field).sort()).toEqual(["CORE_API_PORT", "CORE_LOG_LEVEL", "CORE_METRICS", "NATS_URL"]);
    const level = err.issues.find((i) => i.field === "CORE_LOG_LEVEL")!;
    expect(level.message).toBe('received "loud"; expected one of fatal, error, warn, info, debug, trace');
  });

  it("rejects every port that is not an integer from 0 to 65535", () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), (value) => {
        const valid = /^\d{1,5}$/.test(value) && Number(value) <= 65535;
        let ok = true;
        try {
          loadConfig({ CORE_API_PORT: value });
        } catch {
          ok = false;
        }
        return ok === valid;
      }),
    );
  });

  it("reads experts and MCP servers from a YAML file", () => {
    const path = fileWith(
      "core.yaml",
      `experts:
  - { id: claude, provider: anthropic, model: claude-sonnet-4-5, fallback: [gpt] }
  - { id: gpt, provider: openai, model: gpt-4.1, weight: 2 }
mcpServers:
  - { name: files, transport: stdio, command: mcp-files, args: ["/tmp"] }
prices:
  gpt-4.1: { inputPerMTok: 2, outputPerMTok: 8 }
`,
    );
    const config = loadConfig({ CORE_CONFIG: path });
    expect(config.configFile).toBe(path);
    expect(config.experts.map((e) => [e.id, e.weight, e.fallback])).toEqual([
      ["claude", 1, ["gpt"]],
      ["gpt", 2, []],
    ]);
    expect(config.mcpServers[0]).toMatchObject({ name: "files", transport: "stdio", command: "mcp-files", args: ["/tmp"] });
    expect(config.prices["gpt-4.1"]).toEqual({ inputPerMTok: 2, outputPerMTok: 8 });
  });

  it("reads a JSON file", () => {
    const path = fileWith("core.json", JSON.stringify({ experts: [{ id: "local", provider: "ollama", model: "llama3" }] }));
    expect(loadConfig({ CORE_CONFIG: path }).experts[0]!.provider).toBe("ollama");
  });

  it("names the key and the file for a bad entry, and flags unknown keys", () => {
    const path = fileWith(
      "bad.yaml",
      `experts:
  - { id: a, provider: skynet, model: m }
  - { id: b, provider: openai, model: m, fallback: [zz], temprature: 1 }
mcpServers:
  - { name: web, transport: http }
`,
    );
    const err = configError({ CORE_CONFIG: path });
    const fields = err.issues.map((i) => i.field);
    expect(fields).toContain(`experts[0].provider (in ${path})`);
    expect(fields).toContain(`experts[1].temprature (in ${path})`);
    expect(fields).toContain(`mcpServers[0].url (in ${path})`);
    const provider = err.issues.find((i) => i.field.startsWith("experts[0].provider"))!;
    expect(provider.message).toMatch(/^received "skynet"; expected one of anthropic, openai/);
  });

  it("refuses an MCP server named core, or whose name holds the tool-name separator __ or ends in _", () => {
    const path = fileWith(
      "mcp-names.yaml",
      `mcpServers:
  - { name: core, transport: stdio, command: x }
  - { name: my__files, transport: stdio, command: x }
  - { name: files_, transport: stdio, command: x }
  - { name: my_files, transport: stdio, command: x }
  - { name: core-tools, transport: stdio, command: x }
`,
    );
    const messages = configError({ CORE_CONFIG: path }).issues.map((i) => `${i.field}: ${i.message}`);
    expect(messages).toEqual([
      expect.stringMatching(/^mcpServers\[0\]\.name .*: .*a name other than core \(reserved for CORE's own tools, listed as core__consult, …\)/),
      expect.stringMatching(/^mcpServers\[1\]\.name .*: .*a name without "__" that does not end in "_" \(the gateway lists its tools as <name>__<tool>\)/),
      expect.stringMatching(/^mcpServers\[2\]\.name .*: .*a name without "__" that does not end in "_"/),
    ]);
  });

  it("checks fallbacks refer to configured experts", () => {
    const path = fileWith("fb.yaml", `experts:\n  - { id: a, provider: openai, model: m, fallback: [a, ghost] }\n`);
    const messages = configError({ CORE_CONFIG: path }).issues.map((i) => `${i.field}: ${i.message}`);
    expect(messages).toEqual([
      expect.stringMatching(/^experts\[0\]\.fallback\[0\] .*cannot fall back to itself/),
      expect.stringMatching(/^experts\[0\]\.fallback\[1\] .*configured expert/),
    ]);
  });

  it("adds the default roles to the configured ones, which may replace or extend them", () => {
    const path = fileWith("roles.yaml", `roles:\n  auditor: { permissions: ["admin:audit"], inherits: [viewer] }\n  viewer: { permissions: ["experts:read"] }\n`);
    const roles = loadConfig({ CORE_CONFIG: path }).roles;
    expect(Object.keys(roles).sort()).toEqual(["admin", "auditor", "operator", "viewer"]);
    expect(roles.viewer!.permissions).toEqual(["experts:read"]);
    expect(loadConfig({}).roles.operator!.inherits).toEqual(["viewer"]);
  });

  it("checks that roles inherit defined roles, without cycles", () => {
    const unknown = fileWith("r1.yaml", `roles:\n  a: { inherits: [ghost] }\n`);
    expect(configError({ CORE_CONFIG: unknown }).issues.map((i) => `${i.field}: ${i.message}`)).toEqual([
      expect.stringMatching(/^roles\.a\.inherits\[0\] .*: .*a defined role \(known: viewer, operator, admin, a\)/),
    ]);
    const cycle = fileWith("r2.yaml", `roles:\n  a: { inherits: [b] }\n  b: { inherits: [a] }\n`);
    expect(configError({ CORE_CONFIG: cycle }).issues[0]!.message).toMatch(/roles that do not inherit themselves \(a → b → a\)/);
  });

  it("says when the file is missing or unparseable", () => {
    expect(configError({ CORE_CONFIG: "/nonexistent/core.yaml" }).issues[0]!.message).toMatch(/does not exist/);
    const broken = fileWith("broken.json", "{ not json");
    expect(configError({ CORE_CONFIG: broken }).issues[0]!.message).toMatch(/is not valid JSON/);
  });

  it("refuses a missing, default or short JWT secret in production without echoing it", () => {
    for (const secret of [undefined, DEFAULT_JWT_SECRET, "short-secret"]) {
      const err = configError({ CORE_ENV: "production", CORE_JWT_SECRET: secret });
      expect(err.issues[0]!.field).toBe("CORE_JWT_SECRET");
      expect(err.issues[0]!.message).toMatch(/at least 32 bytes/);
      if (secret) expect(JSON.stringify(err.issues)).not.toContain(secret);
    }
    expect(loadConfig({ CORE_ENV: "production", CORE_JWT_SECRET: "x".repeat(32) }).jwtSecret).toBe("x".repeat(32));
  });
});
