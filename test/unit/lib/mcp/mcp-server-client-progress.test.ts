import { join } from "node:path";
import type { McpServerConfig } from "../../../../config/file-schema";
import { McpServerClient, type McpCallProgress } from "../../../../lib/mcp/mcp-server-client";
import { MCP_REFERENCE_SERVERS } from "../../../helpers/mcp-reference-servers";

/**
 * Every progress notification of a call reaches `onProgress`, the last one
 * too when it arrives in the same chunk as the result (the SDK client alone
 * drops it: typescript-sdk#2580), and before the call resolves.
 */

const finalProgressServer: McpServerConfig = {
  name: "final-progress",
  transport: "stdio",
  command: process.execPath,
  args: [join(__dirname, "../../../fixtures/mcp/final-progress-server.mjs")],
  env: {},
  headers: {},
};

let client: McpServerClient;

beforeAll(async () => {
  client = new McpServerClient({ server: finalProgressServer });
  await client.start();
});
afterAll(async () => {
  await client.close();
});

describe("McpServerClient progress", () => {
  it("delivers the last progress that arrives together with the result, before the call resolves", async () => {
    for (let i = 0; i < 5; i++) {
      const progress: McpCallProgress[] = [];
      const result = await client.callTool("count", { steps: 3 }, { deadline: Date.now() + 5_000, onProgress: (p) => progress.push(p) });
      expect(result).toEqual({ content: [{ type: "text", text: "counted to 3" }] });
      expect(progress).toEqual([
        { progress: 1, total: 3, message: "step 1" },
        { progress: 2, total: 3, message: "step 2" },
        { progress: 3, total: 3, message: "step 3" },
      ]);
    }
  });

  it("keeps concurrent calls' progress apart", async () => {
    const a: number[] = [];
    const b: number[] = [];
    await Promise.all([
      client.callTool("count", { steps: 2 }, { deadline: Date.now() + 5_000, onProgress: (p) => a.push(p.progress) }),
      client.callTool("count", { steps: 4 }, { deadline: Date.now() + 5_000, onProgress: (p) => b.push(p.progress) }),
    ]);
    expect(a).toEqual([1, 2]);
    expect(b).toEqual([1, 2, 3, 4]);
  });

  it("a call without onProgress asks for no progress", async () => {
    expect(await client.callTool("count", { steps: 2 }, { deadline: Date.now() + 5_000 })).toEqual({ content: [{ type: "text", text: "counted to 2 (no progress asked)" }] });
  });
});

describe("McpServerClient progress from server-everything", () => {
  it("delivers every step of trigger-long-running-operation, the last one included", async () => {
    const everything = new McpServerClient({
      server: { name: "everything", transport: "stdio", command: process.execPath, args: [MCP_REFERENCE_SERVERS.everything, "stdio"], env: {}, headers: {} },
    });
    try {
      await everything.start();
      const progress: number[] = [];
      await everything.callTool("trigger-long-running-operation", { duration: 0.2, steps: 4 }, { deadline: Date.now() + 10_000, onProgress: (p) => progress.push(p.progress) });
      expect(progress).toEqual([1, 2, 3, 4]);
    } finally {
      await everything.close();
    }
  });
});
