import type { ActorDefinition } from "./actor-spec";
import type { ChildSnapshot, ChildSpec, SupervisorSnapshot, SupervisorSpec } from "./supervisor";
import type { MailboxBounds } from "./mailbox";

/** The subtree an actor kind belongs to under `root`. */
export function groupOf(kind: string): string {
  switch (kind) {
    case "expert":
      return "experts";
    case "mcp":
      return "mcp";
    case "monitor":
      return "monitors";
    default:
      return "actors";
  }
}

/**
 * `root` → one subtree per group that has actors (experts, mcp, monitors,
 * actors), each `one_for_one`: one expert failing never restarts another.
 */
export function rootSpec(defs: readonly ActorDefinition[], childFor: (def: ActorDefinition) => ChildSpec, subtree: (spec: SupervisorSpec) => ChildSpec): SupervisorSpec {
  const groups = new Map<string, ChildSpec[]>();
  for (const def of defs) {
    const group = groupOf(def.kind);
    groups.set(group, [...(groups.get(group) ?? []), childFor(def)]);
  }
  const order = ["experts", "mcp", "monitors", "actors"];
  return {
    id: "root",
    strategy: "one_for_one",
    intensity: { maxRestarts: 5, periodMs: 30_000 },
    children: order.filter((g) => groups.has(g)).map((g) => subtree({ id: g, strategy: "one_for_one", intensity: { maxRestarts: 5, periodMs: 10_000 }, children: groups.get(g)! })),
  };
}

/** One actor as `supervisor.actors` lists it. */
export interface ActorInfo {
  name: string;
  nodeID: string;
  path: string;
  state: ChildSnapshot["state"];
  restarts: number;
  restart: ChildSnapshot["restart"];
  lastError?: string | undefined;
  mailbox?: { depth: number; running: number } & MailboxBounds;
}

/** Flattens a node's tree into its actors (workers), with their place in the tree. */
export function actorsOf(
  nodeID: string,
  tree: SupervisorSnapshot,
  mailboxOf: (name: string) => ActorInfo["mailbox"] | undefined,
): ActorInfo[] {
  const out: ActorInfo[] = [];
  const walk = (children: ChildSnapshot[], path: string[]) => {
    for (const child of children) {
      if (child.kind === "supervisor") {
        walk(child.children ?? [], [...path, child.id]);
        continue;
      }
      const mailbox = child.state === "running" ? mailboxOf(child.id) : undefined;
      out.push({
        name: child.id,
        nodeID,
        path: [...path, child.id].join("/"),
        state: child.state,
        restarts: child.restarts,
        restart: child.restart,
        ...(child.lastError ? { lastError: child.lastError } : {}),
        ...(mailbox ? { mailbox } : {}),
      });
    }
  };
  walk(tree.children, [tree.id]);
  return out;
}
