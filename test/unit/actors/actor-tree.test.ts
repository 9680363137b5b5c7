import { defineActor } from "../../../actors/actor-spec";
import { actorsOf, groupOf, rootSpec } from "../../../actors/actor-tree";
import type { ChildSpec, SupervisorSpec } from "../../../actors/supervisor";

const def = (name: string, kind?: string) => defineActor({ name, kind, actions: { ping: { handler: () => "pong" } } });

describe("defineActor", () => {
  it("fills defaults, takes the kind from the name and the mailbox from the kind's policy", () => {
    const d = def("expert.claude");
    expect(d).toMatchObject({ name: "expert.claude", kind: "expert", restart: "permanent", singleton: false, shutdownMs: 5_000, mailbox: { concurrency: 64, capacity: 512 } });
    expect(def("test.x").mailbox).toEqual({ concurrency: 16, capacity: 256 });
    expect(defineActor({ name: "expert.y", mailbox: { capacity: 2 }, actions: { a: { handler: () => 1 } } }).mailbox).toEqual({ concurrency: 64, capacity: 2 });
  });

  it("refuses names callers could not use and actors without actions", () => {
    expect(() => def("Expert Claude")).toThrow(/lower-case words separated by dots/);
    expect(() => defineActor({ name: "x", actions: {} })).toThrow(/has no actions/);
  });
});

describe("the node's tree", () => {
  it("groups actors under root by kind, each group one_for_one", () => {
    const leaf = (d: { name: string }): ChildSpec => ({ id: d.name, start: async () => Promise.reject(new Error("unused")) });
    const sub = (spec: SupervisorSpec): ChildSpec => ({ id: spec.id, kind: "supervisor", start: async () => Promise.reject(new Error(JSON.stringify(spec.children.map((c) => c.id)))) });
    const spec = rootSpec([def("mcp.files"), def("expert.a"), def("test.x", "test"), def("expert.b"), def("monitor.memory")], leaf, sub);
    expect(spec.children.map((c) => c.id)).toEqual(["experts", "mcp", "monitors", "actors"]);
    expect(groupOf("expert")).toBe("experts");
    expect(groupOf("anything")).toBe("actors");
  });

  it("flattens a snapshot into actors with their paths and mailboxes", () => {
    const actors = actorsOf(
      "n1",
      {
        id: "root",
        strategy: "one_for_one",
        intensity: { maxRestarts: 1, periodMs: 1 },
        children: [
          {
            id: "experts",
            kind: "supervisor",
            restart: "permanent",
            state: "running",
            restarts: 0,
            children: [
              { id: "expert.a", kind: "worker", restart: "permanent", state: "running", restarts: 2, lastError: "boom" },
              { id: "expert.b", kind: "worker", restart: "transient", state: "restarting", restarts: 1 },
            ],
          },
        ],
      },
      (name) => (name === "expert.a" ? { depth: 3, running: 1, concurrency: 16, capacity: 256 } : undefined),
    );
    expect(actors).toEqual([
      { name: "expert.a", nodeID: "n1", path: "root/experts/expert.a", state: "running", restarts: 2, restart: "permanent", lastError: "boom", mailbox: { depth: 3, running: 1, concurrency: 16, capacity: 256 } },
      { name: "expert.b", nodeID: "n1", path: "root/experts/expert.b", state: "restarting", restarts: 1, restart: "transient" },
    ]);
  });
});
