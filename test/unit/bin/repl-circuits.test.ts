import type { ServiceBroker } from "moleculer";
import { endpointBreakerRows, endpointBreakersOf, expertBreakerRows, gatherExpertBreakers } from "../../../bin/circuits-command";
import { REPL_COMMANDS } from "../../../bin/repl-commands";
import { ActorNotFoundError } from "../../../lib/errors";

/** A broker that knows `services` and answers `expert.<id>.status` per node from `statuses`. */
function broker(services: Array<{ name: string; nodeID: string }>, statuses: Record<string, unknown>, store?: Map<string, unknown>) {
  const calls: Array<{ action: string; nodeID?: string }> = [];
  const b = {
    nodeID: "repl-1",
    registry: { getServiceList: () => services },
    call: async (action: string, _params: unknown, opts: { nodeID?: string }) => {
      calls.push({ action, nodeID: opts.nodeID });
      const answer = statuses[`${action}@${opts.nodeID}`];
      if (answer instanceof Error) throw answer;
      return answer;
    },
    ...(store ? { CircuitBreakerStore: store } : {}),
  };
  return { broker: b as unknown as ServiceBroker, calls };
}

const storeItem = (action: string, nodeID: string, state: string, failures: number, count: number) => ({
  ep: { id: nodeID, name: `${nodeID}:${action}`, action: { name: action } },
  state,
  count,
  failures,
  opts: { threshold: 0.5, minRequestCount: 20, halfOpenTime: 2_000 },
});

describe("REPL circuits", () => {
  it("asks every expert actor on every node for its breaker, there; one that does not answer is listed with why", async () => {
    const { broker: b, calls } = broker(
      [
        { name: "expert.gpt", nodeID: "n2" },
        { name: "expert.claude", nodeID: "n1" },
        { name: "expert.gpt", nodeID: "n1" },
        { name: "circle", nodeID: "n1" },
      ],
      {
        "expert.gpt.status@n1": { nodeID: "n1", endpoint: "openai http://127.0.0.1:9/v1", breaker: "open" },
        "expert.gpt.status@n2": new ActorNotFoundError("gone"),
        "expert.claude.status@n1": { nodeID: "n1", endpoint: "anthropic https://api.anthropic.com", breaker: "closed" },
      },
    );
    const breakers = await gatherExpertBreakers(b);
    expect(calls.map((c) => `${c.action}@${c.nodeID}`).sort()).toEqual(["expert.claude.status@n1", "expert.gpt.status@n1", "expert.gpt.status@n2"]);
    expect(expertBreakerRows(breakers)).toEqual([
      ["Expert", "Node", "Endpoint", "Breaker", "Opens at"],
      ["claude", "n1", "anthropic https://api.anthropic.com", "closed", "5 failures in a row; half-opens after 10 s"],
      ["gpt", "n1", "openai http://127.0.0.1:9/v1", "open", "5 failures in a row; half-opens after 10 s"],
      ["gpt", "n2", "", "unreachable: gone [ACTOR_NOT_FOUND]", ""],
    ]);
  });

  it("reads this node's Moleculer endpoint breakers, open ones first, in CORE's words", () => {
    const store = new Map<string, unknown>([
      ["n1:circle.consult", storeItem("circle.consult", "n1", "close", 1, 7)],
      ["n2:costs.summary", storeItem("costs.summary", "n2", "open", 12, 20)],
      ["n1:budgets.get", storeItem("budgets.get", "n1", "half_open", 0, 0)],
    ]);
    const { broker: b } = broker([], {}, store);
    expect(endpointBreakerRows(endpointBreakersOf(b))).toEqual([
      ["Action", "Node", "Breaker", "Failures / calls (window)", "Opens at"],
      ["costs.summary", "n2", "open", "12 / 20", "50 % of ≥ 20 calls; half-opens after 2 s"],
      ["budgets.get", "n1", "half-open", "0 / 0", "50 % of ≥ 20 calls; half-opens after 2 s"],
      ["circle.consult", "n1", "closed", "1 / 7", "50 % of ≥ 20 calls; half-opens after 2 s"],
    ]);
    expect(endpointBreakersOf(broker([], {}).broker)).toEqual([]);
  });

  it("the circuits command prints both tables with a count line each", async () => {
    const circuits = REPL_COMMANDS.find((c) => c.command === "circuits")!;
    const out: string[] = [];
    jest.spyOn(console, "log").mockImplementation((...a: unknown[]) => void out.push(a.join(" ")));
    try {
      const { broker: b } = broker(
        [{ name: "expert.gpt", nodeID: "n1" }],
        { "expert.gpt.status@n1": { nodeID: "n1", endpoint: "openai http://x/v1", breaker: "half-open" } },
        new Map([["n1:circle.consult", storeItem("circle.consult", "n1", "close", 0, 3)]]),
      );
      const table = (rows: string[][]) => rows.map((r) => r.join(" | ")).join("\n");
      await circuits.action(b, {}, { table });
      expect(out).toEqual([
        "Expert breakers (provider endpoints): 1, 1 not closed",
        "Expert | Node | Endpoint | Breaker | Opens at\ngpt | n1 | openai http://x/v1 | half-open | 5 failures in a row; half-opens after 10 s",
        "Endpoint breakers of this node (repl-1), per action and node it called: 1",
        "Action | Node | Breaker | Failures / calls (window) | Opens at\ncircle.consult | n1 | closed | 0 / 3 | 50 % of ≥ 20 calls; half-opens after 2 s",
      ]);
    } finally {
      jest.restoreAllMocks();
    }
  });
});
