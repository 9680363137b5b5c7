import { silentLogger } from "../../../../lib/logger";
import type { McpTool } from "../../../../lib/mcp/mcp-actor-contract";
import { ToolCatalogue, type CatalogueSource } from "../../../../lib/mcp-gateway/tool-catalogue";
import { namespacedToolName } from "../../../../lib/mcp-gateway/tool-names";

const tool = (name: string, extra: Partial<McpTool> = {}): McpTool => ({ name, inputSchema: { type: "object" }, ...extra });

/** Servers and their tools, changed by the test; counts listTools calls; a server can be made to fail. */
function source(initial: Record<string, McpTool[]>) {
  const servers: Record<string, McpTool[]> = { ...initial };
  const failing = new Set<string>();
  const calls: string[] = [];
  const src: CatalogueSource = {
    servers: () => Object.keys(servers),
    listTools: async (server) => {
      calls.push(server);
      await new Promise((r) => setTimeout(r, 5));
      if (failing.has(server)) throw new Error(`${server} is down`);
      return servers[server] ?? [];
    },
  };
  return { servers, failing, calls, src };
}

function logger() {
  const warnings: string[] = [];
  return { warnings, logger: { ...silentLogger, warn: (...args: unknown[]) => void warnings.push(args.join(" ")) } };
}

describe("namespacedToolName", () => {
  it("joins server and tool with a double underscore", () => {
    expect(namespacedToolName("everything", "echo")).toBe("everything__echo");
  });
});

describe("ToolCatalogue", () => {
  it("loads every server's tools on first read, namespaced, with their schemas, annotations and permission", async () => {
    const s = source({
      zeta: [tool("b"), tool("a", { title: "A", description: "does a", outputSchema: { type: "object" }, annotations: { readOnlyHint: true } })],
      alpha: [tool("x")],
    });
    const catalogue = new ToolCatalogue(s.src, { logger: silentLogger });
    const entries = await catalogue.entries();
    expect(entries.map((e) => e.name)).toEqual(["alpha__x", "zeta__b", "zeta__a"]);
    expect(entries[2]).toEqual({
      name: "zeta__a",
      server: "zeta",
      tool: "a",
      title: "A",
      description: "does a",
      inputSchema: { type: "object" },
      outputSchema: { type: "object" },
      annotations: { readOnlyHint: true },
      permission: "mcp:call:zeta/a",
    });
    expect(await catalogue.find({ name: "zeta__b" })).toMatchObject({ server: "zeta", tool: "b" });
    expect(await catalogue.find({ server: "alpha", tool: "x" })).toMatchObject({ name: "alpha__x" });
    expect(await catalogue.find({ name: "nope__x" })).toBeUndefined();
  });

  it("lists a tool its server lists twice once", async () => {
    const s = source({ a: [tool("b"), tool("b")] });
    const catalogue = new ToolCatalogue(s.src, { logger: silentLogger });
    expect((await catalogue.entries()).map((e) => e.name)).toEqual(["a__b"]);
  });

  it("coalesces a burst of refreshes into one round of listings", async () => {
    const s = source({ one: [tool("t")], two: [tool("u")] });
    const catalogue = new ToolCatalogue(s.src, { logger: silentLogger });
    await catalogue.entries();
    s.calls.length = 0;
    // One round is running; the rest queue behind it as one.
    const first = catalogue.refresh("one");
    const rest = [catalogue.refresh("one"), catalogue.refresh("two"), catalogue.refresh("one")];
    await Promise.all([first, ...rest]);
    expect(s.calls.sort()).toEqual(["one", "two"]);
  });

  it("tells its listeners when the content changed, not when a refresh found the same", async () => {
    const s = source({ one: [tool("t")] });
    const catalogue = new ToolCatalogue(s.src, { logger: silentLogger });
    await catalogue.entries();
    let changes = 0;
    catalogue.onChange(() => changes++);
    await catalogue.refresh("one");
    expect(changes).toBe(0);
    s.servers.one = [tool("t"), tool("new")];
    await catalogue.refresh("one");
    expect(changes).toBe(1);
    expect((await catalogue.entries()).map((e) => e.name)).toEqual(["one__t", "one__new"]);
    s.servers.one = [tool("t", { description: "changed" }), tool("new")];
    await catalogue.refresh();
    expect(changes).toBe(2);
  });

  it("keeps a server's last tools while it cannot list them, and drops a server that left", async () => {
    const s = source({ one: [tool("t")], two: [tool("u")] });
    const { logger: log, warnings } = logger();
    const catalogue = new ToolCatalogue(s.src, { logger: log });
    await catalogue.entries();
    s.failing.add("one");
    await catalogue.refresh();
    expect((await catalogue.entries()).map((e) => e.name)).toEqual(["one__t", "two__u"]);
    expect(warnings.join("\n")).toMatch(/Tools of MCP server one not listed \(one is down\); keeping the 1 listed before/);
    delete s.servers.two;
    await catalogue.serversChanged();
    expect((await catalogue.entries()).map((e) => e.name)).toEqual(["one__t"]);
  });

  it("lists a server that joined when the registry changes, and only that one", async () => {
    const s = source({ one: [tool("t")] });
    const catalogue = new ToolCatalogue(s.src, { logger: silentLogger });
    await catalogue.entries();
    s.calls.length = 0;
    s.servers.two = [tool("u")];
    await catalogue.serversChanged();
    expect(s.calls).toEqual(["two"]);
    await catalogue.serversChanged();
    expect(s.calls).toEqual(["two"]);
    expect((await catalogue.entries()).map((e) => e.name)).toEqual(["one__t", "two__u"]);
  });

  it("refreshes in the background once older than its maximum age", async () => {
    const clock = { now: 0 };
    const s = source({ one: [tool("t")] });
    const catalogue = new ToolCatalogue(s.src, { logger: silentLogger, maxAgeMs: 1_000, now: () => clock.now });
    await catalogue.entries();
    s.servers.one = [tool("t2")];
    clock.now = 500;
    expect((await catalogue.entries()).map((e) => e.name)).toEqual(["one__t"]);
    clock.now = 2_000;
    // Answers from what it holds, and refreshes behind.
    expect((await catalogue.entries()).map((e) => e.name)).toEqual(["one__t"]);
    await catalogue.refresh();
    expect((await catalogue.entries()).map((e) => e.name)).toEqual(["one__t2"]);
  });
});
