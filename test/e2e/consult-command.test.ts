import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Consultation } from "../../lib/circle/consultation";
import { startClusterNode } from "../helpers/cluster-node";
import { CoreProcess, runCore } from "../helpers/core-process";
import { testSchema } from "../helpers/pg-schema";
import { startProviderStub, type ProviderStub } from "../helpers/provider-stubs";
import { NATS_URL } from "../helpers/services";
import { uniqueName } from "../helpers/unique";

/** `core consult` as a person runs it: embedded in its own process, and as a client of a running cluster. */

const namespace = uniqueName("consult_cli");
const pg = testSchema("consult_cli");
let stub: ProviderStub;
let configFile: string;
const keys = { ANTHROPIC_API_KEY: "k", OPENAI_API_KEY: "k", GEMINI_API_KEY: "k" };

beforeAll(async () => {
  stub = await startProviderStub({ apiKey: "k" });
  stub.always({ text: "Water boils at 100 degrees Celsius at sea level. Final answer: 100" });
  const dir = mkdtempSync(join(tmpdir(), "core-consult-"));
  configFile = join(dir, "core.json");
  writeFileSync(
    configFile,
    JSON.stringify({
      experts: [
        { id: "claude", provider: "anthropic", model: "claude-sonnet-4-5", baseUrl: stub.baseUrl("anthropic") },
        { id: "gpt", provider: "openai", model: "gpt-4o", baseUrl: stub.baseUrl("openai") },
        { id: "gemini", provider: "gemini", model: "gemini-2.5-flash", baseUrl: stub.baseUrl("gemini") },
        { id: "llama", provider: "ollama", model: "llama3.2", baseUrl: stub.baseUrl("ollama") },
      ],
      prices: { "gpt-4o": { inputPerMTok: 2.5, outputPerMTok: 10 } },
    }),
  );
});

afterAll(async () => {
  await CoreProcess.killAll();
  await stub?.close();
  await pg.drop();
});

describe("core consult", () => {
  it("embedded: asks four experts of four protocols and prints the consultation as JSON", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "core-consult-data-"));
    const { code, stdout, output } = await runCore(["consult", "At what temperature does water boil?", "--json"], {
      env: { CORE_CONFIG: configFile, CORE_DATA_DIR: dataDir, ...keys },
    });
    expect({ code, output }).toMatchObject({ code: 0 });
    const c = JSON.parse(stdout) as Consultation;
    expect(c.status).toBe("completed");
    expect(c.outcomes.map((o) => [o.expertId, o.status])).toEqual([
      ["claude", "answered"],
      ["gpt", "answered"],
      ["gemini", "answered"],
      ["llama", "answered"],
    ]);
    expect(c.consensus!.vote).toMatchObject({ answer: "100", share: 1 });
    expect(c.outcomes.find((o) => o.expertId === "gpt")).toMatchObject({ answer: { priced: true } });
  });

  it("through a running cluster: a table with the consensus and one line per expert", async () => {
    const server = await startClusterNode("consult-server", "supervisor,aggregator,experts,circle", { namespace, pg, env: { CORE_CONFIG: configFile, ...keys } });
    const { code, stdout, output } = await runCore(["consult", "At what temperature does water boil?", "--experts", "claude,llama"], {
      env: { NATS_URL, CORE_NAMESPACE: namespace, CORE_CONFIG: configFile, ...keys },
    });
    expect({ code, output }).toMatchObject({ code: 0 });
    expect(stdout).toMatch(/Consensus of 2 of 2 experts \(agreement 100 %; vote: 100 \(100 %\)\)/);
    expect(stdout).toMatch(/│ claude .*│ answered/);
    expect(stdout).toMatch(/│ llama .*│ answered .*│ unpriced/);
    expect(stdout).not.toMatch(/│ gpt /);
    await server.stop();
  });

  it("with no expert configured says so and how to add one", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "core-consult-none-"));
    const { code, output } = await runCore(["consult", "Anyone?"], { env: { CORE_DATA_DIR: dataDir } });
    expect(code).toBe(1);
    expect(output).toMatch(/no experts are configured \[NO_EXPERTS\]/);
    expect(output).toMatch(/provider: ollama/);
  });

  it("a consult that misses its quorum exits 1 and says what happened to each expert", async () => {
    stub.inject({ status: 500 }, { protocol: "anthropic" }, 3);
    stub.inject({ status: 401 }, { protocol: "openai" }, 1);
    const dataDir = mkdtempSync(join(tmpdir(), "core-consult-fail-"));
    const { code, output } = await runCore(["consult", "Will this work?", "--experts", "claude,gpt", "--min-responses", "2"], {
      env: { CORE_CONFIG: configFile, CORE_DATA_DIR: dataDir, ...keys },
    });
    expect(code).toBe(1);
    expect(output).toMatch(/core consult: 0 of 2 experts answered; the consult needed 2\. .*\[QUORUM_NOT_REACHED\]/);
    expect(output).toMatch(/- claude: failed, PROVIDER_UNAVAILABLE: /);
    expect(output).toMatch(/- gpt: failed, PROVIDER_AUTH_FAILED: /);
    expect(output).not.toMatch(/\n\s+at /);
  });

  it("core start refuses an expert whose key is missing, naming the variable (exit 2)", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "core-consult-nokey-"));
    const { code, output } = await runCore(["start", "--services", "experts"], { env: { CORE_CONFIG: configFile, CORE_DATA_DIR: dataDir, OPENAI_API_KEY: "k", GEMINI_API_KEY: "k" } });
    expect(code).toBe(2);
    expect(output).toMatch(/Expert "claude" \(anthropic\) has no API key: set ANTHROPIC_API_KEY \[CONFIG_INVALID\]/);
  });
});
