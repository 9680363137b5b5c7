import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCore } from "../helpers/core-process";

const cwd = mkdtempSync(join(tmpdir(), "core-invalid-"));

describe("invalid configuration and usage", () => {
  it("CORE_API_PORT=abc core start exits 2 naming the variable, the value and what is expected", async () => {
    const { code, output } = await runCore(["start"], { cwd, env: { CORE_API_PORT: "abc" } });
    expect(code).toBe(2);
    expect(output).toContain('CORE_API_PORT: received "abc"; expected an integer port from 0 to 65535');
    expect(output).not.toMatch(/\n\s+at /);
  });

  it("a bad configuration file exits 2 naming the key and the file", async () => {
    const file = join(cwd, "core.yaml");
    writeFileSync(file, "experts:\n  - { id: a, provider: skynet, model: m }\n");
    const { code, output } = await runCore(["start"], { cwd, env: { CORE_CONFIG: file } });
    expect(code).toBe(2);
    expect(output).toContain(`experts[0].provider (in ${file}): received "skynet"; expected one of anthropic`);
  });

  it("an unknown service exits 2", async () => {
    const { code, output } = await runCore(["start", "--services", "api,nope"], { cwd });
    expect(code).toBe(2);
    expect(output).toMatch(/--services: received "nope"; expected one of api, (\w[\w-]*, )+\w[\w-]* or the path of an existing service file/);
  });

  it("a service file that exports neither an actor nor a service exits 2 and opens nothing", async () => {
    const file = join(__dirname, "../fixtures/services/not-a-service.js");
    const dir = mkdtempSync(join(tmpdir(), "core-badfile-"));
    const { code, output } = await runCore(["start", "--services", file], { cwd: dir, env: { CORE_METRICS: "false" } });
    expect(code).toBe(2);
    expect(output).toContain(`--services: the file exports neither an actor (defineActor) nor a Moleculer service schema`);
    expect(existsSync(join(dir, "data"))).toBe(false);
  });

  it("an unknown command exits 2 and points to --help", async () => {
    const { code, output } = await runCore(["frobnicate"], { cwd });
    expect(code).toBe(2);
    expect(output).toMatch(/unknown command 'frobnicate'/);
    expect(output).toMatch(/core --help/);
  });

  it("--help lists the commands", async () => {
    const { code, output } = await runCore(["--help"], { cwd });
    expect(code).toBe(0);
    for (const command of ["start", "repl", "migrate"]) expect(output).toMatch(new RegExp(`^  ${command}\\b`, "m"));
  });

  it("a taken API port fails with a clear message and exit 1", async () => {
    const { createServer } = await import("node:net");
    const blocker = createServer().listen(0, "127.0.0.1");
    await new Promise((r) => blocker.once("listening", r));
    const port = (blocker.address() as { port: number }).port;
    try {
      const { code, output } = await runCore(["start"], { cwd: mkdtempSync(join(tmpdir(), "core-port-")), env: { CORE_API_PORT: String(port), CORE_METRICS: "false" } });
      expect(code).toBe(1);
      expect(output).toContain(`Port ${port} on 127.0.0.1 is already in use: stop what listens there or set CORE_API_PORT to a free port`);
    } finally {
      blocker.close();
    }
  });
});
