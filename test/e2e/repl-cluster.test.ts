import { writeFileSync } from "node:fs";
import { freePort } from "../helpers/free-port";
import { writeCoreConfig } from "../helpers/circle-node";
import { startClusterNode } from "../helpers/cluster-node";
import { CoreProcess, NODE_BIN } from "../helpers/core-process";
import { MCP_REFERENCE_SERVERS } from "../helpers/mcp-reference-servers";
import { testSchema } from "../helpers/pg-schema";
import { startProviderStub, type ProviderStub } from "../helpers/provider-stubs";
import { testRedisPrefix } from "../helpers/redis-prefix";
import { NATS_URL } from "../helpers/services";
import { uniqueName } from "../helpers/unique";
import { waitFor } from "../helpers/wait";

/**
 * `core repl` as an operator uses it: a client node joining a running
 * two-node cluster (A: edge, circle, costs, budgets, gateway; B: the experts
 * and an MCP server actor), every CORE command typed and its output read.
 */

const namespace = uniqueName("repl_cluster");
const pg = testSchema("repl_cluster");
const redis = testRedisPrefix("repl_cluster");
const keys = { ANTHROPIC_API_KEY: "k", OPENAI_API_KEY: "k" };
let stub: ProviderStub;
let repl: CoreProcess;
/** `circuits` has printed both tables (the second may be empty). */
const CIRCUITS_PRINTED = /Endpoint breakers of this node \(repl-cli\)[^\n]*: (?:0\n|\d+\n╔[\s\S]*╝)/;
/** What the REPL printed, command by command, for the README. */
const transcript: string[] = [];

/** Types a line and resolves with what it printed from then on, once that matches `expected`. */
async function type(line: string, expected: RegExp, timeoutMs = 30_000): Promise<string> {
  const from = repl.output.length;
  repl.proc.stdin!.write(`${line}\n`);
  const printed = await waitFor(
    () => {
      const out = repl.output.slice(from);
      return expected.test(out) ? out : undefined;
    },
    timeoutMs,
    `${line} to print ${expected}`,
  ).catch((err: Error) => {
    throw new Error(`${err.message}; it printed:\n${repl.output.slice(from)}`);
  });
  transcript.push(`mol $ ${line}\n${printed}`);
  return printed;
}

afterAll(async () => {
  await CoreProcess.killAll();
  await stub?.close();
  await pg.drop();
  await redis.clean();
  // CORE_REPL_TRANSCRIPT=<file>: keep what the REPL printed (the README shows it).
  if (process.env.CORE_REPL_TRANSCRIPT) writeFileSync(process.env.CORE_REPL_TRANSCRIPT, transcript.join("\n"));
});

describe("core repl against a running two-node cluster", () => {
  beforeAll(async () => {
    stub = await startProviderStub({ apiKey: "k" });
    stub.always({ text: "Water boils at 100 degrees Celsius at sea level. Final answer: 100" });
    const configFile = writeCoreConfig({
      experts: [
        { id: "claude", provider: "anthropic", model: "claude-sonnet-4-5", baseUrl: stub.baseUrl("anthropic"), price: { inputPerMTok: 3, outputPerMTok: 15 } },
        { id: "gpt", provider: "openai", model: "gpt-4o", baseUrl: stub.baseUrl("openai"), price: { inputPerMTok: 2.5, outputPerMTok: 10 } },
      ],
      mcpServers: [{ name: "everything", transport: "stdio", command: NODE_BIN, args: [MCP_REFERENCE_SERVERS.everything, "stdio"] }],
      budgets: [{ principal: "*", period: "day", limitUsd: 100 }],
    });
    const env = { CORE_CONFIG: configFile, CORE_SUBJECT_PREFIX: namespace, REDIS_URL: redis.url, CORE_REDIS_PREFIX: redis.prefix, ...keys };
    await Promise.all([
      startClusterNode("repl-a", "api,supervisor,aggregator,circle,costs,budgets,mcp-gateway,alerts,health-monitor,memory-monitor", { namespace, pg, env }),
      startClusterNode("repl-b", "supervisor,experts,mcp,health-monitor,memory-monitor", { namespace, pg, env }),
    ]);
    repl = new CoreProcess(["repl", "--node-id", "repl-cli"], {
      stdin: "pipe",
      env: { NATS_URL, CORE_NAMESPACE: namespace, CORE_SUBJECT_PREFIX: namespace, CORE_CONFIG: configFile, CORE_API_PORT: String(await freePort()), CORE_METRICS: "false", CORE_HEARTBEAT_INTERVAL: "1", CORE_HEARTBEAT_TIMEOUT: "4" },
    });
    await repl.waitForOutput(/CORE node repl-cli started/, 60_000);
    await repl.waitForOutput(/mol \$ /);
  }, 120_000);

  it("actors and tree show both nodes' actors and supervision trees", async () => {
    // Discovery is eventual, and B's MCP server takes a moment: ask until both nodes are in.
    await waitFor(
      async () => {
        const out = await type("actors", /Last error[\s\S]*╝/);
        return /║ mcp\.everything\s+│ repl-b\s+│ running/.test(out) && /║ circle\s+│ repl-a\s+│ running/.test(out);
      },
      60_000,
      "both nodes' actors in the actors table",
    );
    const actors = transcript.at(-1)!;
    const expected: Array<[string, string]> = [
      ["aggregator", "repl-a"],
      ["budgets", "repl-a"],
      ["circle", "repl-a"],
      ["costs", "repl-a"],
      ["expert.claude", "repl-b"],
      ["expert.gpt", "repl-b"],
      ["health-monitor", "repl-a"],
      ["health-monitor", "repl-b"],
      ["mcp.everything", "repl-b"],
      ["memory-monitor", "repl-b"],
    ];
    for (const [actor, node] of expected) {
      expect(actors).toMatch(new RegExp(`║ ${actor.replace(".", "\\.")}\\s+│ ${node}\\s+│ running\\s+│ 0\\s+│ 0 / 0 / \\d+\\+\\d+`));
    }

    const tree = await type("tree", /repl-b\n└─ root[\s\S]*mcp\.everything running, permanent/);
    expect(tree).toMatch(/repl-a\n└─ root \(one_for_one, at most 5 restarts in 30 s\)\n {3}├─ monitors \(one_for_one\)\n {3}│ {2}├─ health-monitor running, permanent/);
    expect(tree).toMatch(/repl-b\n└─ root \(one_for_one, at most 5 restarts in 30 s\)\n {3}├─ experts \(one_for_one\)\n {3}│ {2}├─ expert\.claude running, permanent\n {3}│ {2}└─ expert\.gpt running, permanent\n {3}├─ mcp \(one_for_one\)\n {3}│ {2}└─ mcp\.everything running, permanent/);
  });

  it("consult, costs and budgets go to node A, which asks the experts on node B", async () => {
    const consult = await type('consult "At what temperature does water boil at sea level?"', /Consensus of 2 of 2 experts[\s\S]*│ gpt /, 60_000);
    expect(consult).toMatch(/Consensus of 2 of 2 experts \(agreement 100 %; vote: 100 \(100 %\)\)/);
    expect(consult).toMatch(/│ claude .*│ answered/);

    const costs = await type("costs", /║ total\s+│[^\n]*║/);
    expect(costs).toMatch(/║ anthropic\s+│ claude-sonnet-4-5\s+│ 1\s+│ \d+\s+│ \d+\s+│ \$0\.\d{6}\s+│ 0\s+║/);
    expect(costs).toMatch(/║ openai\s+│ gpt-4o\s+│ 1\s+│/);
    expect(costs).toMatch(/║ total\s+│\s+│ 2\s+│/);

    const budgets = await type("budgets", /║ \*\s+│ day[^\n]*║/);
    expect(budgets).toMatch(/║ \*\s+│ day\s+│ \$100\.000000\s+│ \$0\.0\d{5}\s+│ \$99\.9\d{5}\s+│ \d{4}-\d\d-\d\dT00:00:00\.000Z\s+║/);
  });

  it("mcp tools and mcp call reach the MCP server actor on node B", async () => {
    await type("mcp tools everything", /║ echo\s+│ everything\s+│ Echoes back the input string\s+║/);
    await type(`mcp call everything echo '{"message": "hello from the REPL"}'`, /Echo: hello from the REPL\n/);
  });

  it("restart ACTOR restarts it on node B, seen by an event listener, and it serves again", async () => {
    await type("listener add actor.restarted", /mol \$ /);
    // The answer and the event arrive in either order.
    const restarted = await type("restart mcp.everything", /^(?=[\s\S]*mcp\.everything restarted on repl-b)(?=[\s\S]*Event Listener 'actor\.restarted' received event)/, 60_000);
    expect(restarted).toMatch(/Event Listener 'actor\.restarted' received event with params: \{ actor: 'mcp\.everything', nodeID: 'repl-b' \}/);
    await waitFor(async () => /║ mcp\.everything\s+│ repl-b\s+│ running/.test(await type("actors", /Last error[\s\S]*╝/)), 30_000, "mcp.everything running again");
    // The gateway on A lists the restarted server's tools again once its registry has the actor back.
    const restartedAt = Date.now();
    await waitFor(
      async () => /Echo: after the restart\n/.test(await type(`mcp call everything echo '{"message": "after the restart"}'`, /Echo: after the restart\n|\[[A-Z_]+\]/, 30_000)),
      30_000,
      "mcp call to work again after the restart",
    );
    console.log(`mcp call answered again ${Date.now() - restartedAt} ms after the actors table showed mcp.everything running`);
  });

  it("circuits shows each expert's breaker on its node, an opened one as open, and this node's endpoint breakers", async () => {
    const closed = await type("circuits", CIRCUITS_PRINTED);
    expect(closed).toMatch(/Expert breakers \(provider endpoints\): 2, 0 not closed/);
    expect(closed).toMatch(/║ claude\s+│ repl-b\s+│ anthropic http:\/\/127\.0\.0\.1:\d+\S*\s+│ closed\s+│ 5 failures in a row; half-opens after 10 s\s+║/);
    expect(closed).toMatch(/║ gpt\s+│ repl-b\s+│ openai http:\/\/127\.0\.0\.1:\d+\S*\s+│ closed\s+│/);
    expect(closed).toMatch(/║ circle\.consult\s+│ repl-a\s+│ closed\s+│ 0 \/ \d+\s+│ 50 % of ≥ 20 calls; half-opens after 2 s\s+║/);

    // The OpenAI endpoint fails: gpt's breaker opens after 5 failed attempts in a row (its retries count).
    stub.inject({ status: 503 }, { protocol: "openai" }, 1_000);
    let attempt = 0;
    await waitFor(
      async () => {
        // A new question each time: an identical consult would get the failure shared for 2 s (lib/circle/consult-cache).
        await type(`consult --experts gpt "Is the sky blue? (${++attempt})"`, /\[[A-Z_]+\]/, 60_000);
        return /║ gpt\s+│ repl-b\s+│ openai \S+\s+│ open\s+│/.test(await type("circuits", CIRCUITS_PRINTED));
      },
      90_000,
      "gpt's breaker open",
    );
    // Its retries count: two consults are enough.
    expect(attempt).toBeLessThanOrEqual(3);
    expect(transcript.at(-1)).toMatch(/Expert breakers \(provider endpoints\): 2, 1 not closed/);
    expect(transcript.at(-1)).toMatch(/║ claude\s+│ repl-b\s+│ \S+ \S+\s+│ closed/);
    stub.reset();
    stub.always({ text: "Water boils at 100 degrees Celsius at sea level. Final answer: 100" });
  });

  it("memory shows both nodes' memory", async () => {
    const memory = await type("memory", /║ repl-b\s+│[^\n]*║/);
    expect(memory).toMatch(/║ repl-a\s+│ [\d.]+ MB \/ [\d.]+ MB\s+│ [\d.]+ MB \/ [\d.]+ MB\s+│ \d+ %/);
    expect(memory).not.toMatch(/unreachable/);
  });

  it("quits cleanly", async () => {
    repl.proc.stdin!.write("quit\n");
    expect(await repl.wait()).toBe(0);
  });
});
