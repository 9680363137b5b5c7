import { actorRows, budgetRows, costRows, expertRows, formatTrees, questionOf } from "../../../bin/repl-commands";

describe("REPL command output", () => {
  it("actors: one row per actor, mailbox as waiting / running / limits", () => {
    expect(
      actorRows({
        actors: [
          { name: "expert.a", nodeID: "n1", path: "root/experts/expert.a", state: "running", restarts: 2, restart: "permanent", lastError: "boom", mailbox: { depth: 3, running: 1, concurrency: 8, capacity: 64 } },
          { name: "test.s", nodeID: "n2", path: "root/actors/test.s", state: "standby", restarts: 0, restart: "permanent" },
        ],
        unreachable: [],
      }),
    ).toEqual([
      ["Actor", "Node", "State", "Restarts", "Mailbox (waiting / running / limits)", "Last error"],
      ["expert.a", "n1", "running", "2", "3 / 1 / 8+64", "boom"],
      ["test.s", "n2", "standby", "0", "-", ""],
    ]);
  });

  it("tree: every node's tree, and nodes that did not answer", () => {
    const text = formatTrees([
      {
        nodeID: "n1",
        tree: {
          id: "root",
          strategy: "one_for_one",
          intensity: { maxRestarts: 5, periodMs: 30_000 },
          children: [
            {
              id: "experts",
              kind: "supervisor",
              restart: "permanent",
              state: "running",
              restarts: 0,
              strategy: "one_for_one",
              children: [
                { id: "expert.a", kind: "worker", restart: "permanent", state: "running", restarts: 1 },
                { id: "expert.b", kind: "worker", restart: "transient", state: "restarting", restarts: 3 },
              ],
            },
            { id: "actors", kind: "supervisor", restart: "permanent", state: "running", restarts: 0, strategy: "one_for_one", children: [{ id: "test.x", kind: "worker", restart: "permanent", state: "running", restarts: 0 }] },
          ],
        },
      },
      { nodeID: "n2", error: "Request timed out" },
    ]);
    expect(text).toBe(
      [
        "n1",
        "└─ root (one_for_one, at most 5 restarts in 30 s)",
        "   ├─ experts (one_for_one)",
        "   │  ├─ expert.a running, permanent, 1 restart",
        "   │  └─ expert.b restarting, transient, 3 restarts",
        "   └─ actors (one_for_one)",
        "      └─ test.x running, permanent",
        "n2",
        "└─ unreachable: Request timed out",
      ].join("\n"),
    );
  });

  it("costs: one row per group, then the total", () => {
    const rows = costRows(
      {
        rows: [
          { provider: "anthropic", model: "claude-sonnet-4-5", calls: 3, inputTokens: 300, outputTokens: 90, costUsd: 0.00225, unpricedCalls: 0 },
          { provider: "ollama", model: "llama3.2", calls: 2, inputTokens: 200, outputTokens: 40, costUsd: 0, unpricedCalls: 2 },
        ],
        total: { calls: 5, inputTokens: 500, outputTokens: 130, costUsd: 0.00225, unpricedCalls: 2 },
      },
      ["provider", "model"],
    );
    expect(rows).toEqual([
      ["provider", "model", "calls", "input tokens", "output tokens", "cost", "unpriced calls"],
      ["anthropic", "claude-sonnet-4-5", "3", "300", "90", "$0.002250", "0"],
      ["ollama", "llama3.2", "2", "200", "40", "$0.000000", "2"],
      ["total", "", "5", "500", "130", "$0.002250", "2"],
    ]);
  });

  it("budgets: limit, used, remaining and when each resets", () => {
    expect(budgetRows([{ rule: "*", period: "day", limitUsd: 5, usedUsd: 1.25, remainingUsd: 3.75, periodStart: "2026-11-30T00:00:00.000Z", periodEnd: "2026-12-01T00:00:00.000Z" }])).toEqual([
      ["Budget", "Period", "Limit", "Used (spent + reserved)", "Remaining", "Resets"],
      ["*", "day", "$5.000000", "$1.250000", "$3.750000", "2026-12-01T00:00:00.000Z"],
    ]);
  });

  it("consult: the whole question from the raw line, with or without quotes, without the options", () => {
    expect(questionOf("consult What is the highest mountain on Earth?")).toBe("What is the highest mountain on Earth?");
    expect(questionOf('consult "Is 7 prime?" --experts a,b')).toBe("Is 7 prime?");
    expect(questionOf("consult --experts=a Why?")).toBe("Why?");
  });

  it("experts: provider, model, price, where it runs and its breaker, or why it is unavailable", () => {
    expect(
      expertRows([
        { id: "claude", provider: "anthropic", model: "claude-sonnet-4-5", weight: 2, fallback: ["local"], price: { inputPerMTok: 3, outputPerMTok: 15 }, available: true, status: { nodeID: "n1", endpoint: "anthropic https://api.anthropic.com", breaker: "open" } },
        { id: "local", provider: "ollama", model: "llama3.2", weight: 1, fallback: [], price: null, available: false, error: { code: "ACTION_NOT_FOUND", message: "x", status: 404, retryable: false } },
      ]),
    ).toEqual([
      ["Expert", "Provider", "Model", "Weight", "Price in/out per MTok", "Node", "Breaker", "Fallback"],
      ["claude", "anthropic", "claude-sonnet-4-5", "2", "$3 / $15", "n1", "open", "local"],
      ["local", "ollama", "llama3.2", "1", "unpriced", "unavailable: ACTION_NOT_FOUND", "", ""],
    ]);
  });
});
