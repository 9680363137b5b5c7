import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Consultation } from "../../../lib/circle/consultation";
import { startNode, type CoreNode } from "../../../node";
import { writeCoreConfig } from "../../helpers/circle-node";
import { startProviderStub, type ProviderStub } from "../../helpers/provider-stubs";

/**
 * The circle on an embedded node (PGlite, no NATS): a consult is answered
 * before its row is written, yet the node reads its own writes at once and a
 * node that stops finishes them, so a restart finds every consultation.
 */

let stub: ProviderStub;
let env: Record<string, string>;

beforeAll(async () => {
  stub = await startProviderStub({ apiKey: "test-key" });
  stub.always({ text: "Water boils at 100 °C at sea level. Final answer: 100" });
  const configFile = writeCoreConfig({
    experts: [
      { id: "one", provider: "openai", model: "gpt-4o", baseUrl: stub.baseUrl("openai") },
      { id: "two", provider: "anthropic", model: "claude-sonnet-4-5", baseUrl: stub.baseUrl("anthropic") },
    ],
  });
  env = {
    CORE_DATA_DIR: join(mkdtempSync(join(tmpdir(), "core-circle-embedded-")), "data"),
    CORE_CONFIG: configFile,
    CORE_METRICS: "false",
    CORE_LOG_LEVEL: "error",
    OPENAI_API_KEY: "test-key",
    ANTHROPIC_API_KEY: "test-key",
  };
});

afterAll(async () => {
  await stub?.close();
});

const start = () => startNode({ env, services: ["supervisor", "aggregator", "experts", "circle"] });

describe("the circle on an embedded node", () => {
  it("reads its own consultations at once and keeps every one across a restart", async () => {
    let node: CoreNode = await start();
    const ids: string[] = [];
    try {
      for (let i = 0; i < 5; i++) {
        const c = await node.broker.call<Consultation, unknown>("circle.consult", { question: `Boiling point of water, take ${i}?`, cache: false });
        ids.push(c.id);
        // Asked right after the answer, on the same node: found.
        expect(await node.broker.call<Consultation, unknown>("circle.get", { id: c.id })).toMatchObject({ id: c.id, status: "completed" });
      }
      const page = await node.broker.call<{ items: Array<{ id: string }> }, unknown>("circle.list", { limit: 10 });
      expect(page.items.map((item) => item.id).sort()).toEqual([...ids].sort());
      // The last consults' writes may still be in flight when the node is told to stop.
      for (let i = 0; i < 3; i++) ids.push((await node.broker.call<Consultation, unknown>("circle.consult", { question: `Freezing point, take ${i}?`, cache: false })).id);
    } finally {
      await node.stop();
    }
    node = await start();
    try {
      const page = await node.broker.call<{ items: Array<{ id: string }> }, unknown>("circle.list", { limit: 20 });
      expect(page.items.map((item) => item.id).sort()).toEqual([...ids].sort());
    } finally {
      await node.stop();
    }
  }, 60_000);
});
