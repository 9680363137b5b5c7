import type { ServiceBroker } from "moleculer";
import type { ActorInfo } from "../actors/actor-tree";
import type { ChildSnapshot, SupervisorSnapshot } from "../actors/supervisor";
import { describeError } from "../lib/errors";
import { toCoreError } from "../mixins/to-core-error";

interface ActorsAnswer {
  actors: ActorInfo[];
  unreachable: Array<{ nodeID: string; error: string }>;
}

interface NodeTree {
  nodeID: string;
  tree?: SupervisorSnapshot;
  error?: string;
}

/** Rows of the `actors` table: a header, then one actor per row. */
export function actorRows(answer: ActorsAnswer): string[][] {
  const rows = [["Actor", "Node", "State", "Restarts", "Mailbox (waiting / running / limits)", "Last error"]];
  for (const a of answer.actors) {
    const mailbox = a.mailbox ? `${a.mailbox.depth} / ${a.mailbox.running} / ${a.mailbox.concurrency}+${a.mailbox.capacity}` : "-";
    rows.push([a.name, a.nodeID, a.state, String(a.restarts), mailbox, a.lastError ?? ""]);
  }
  return rows;
}

/** The `tree` command's text: each node's supervision tree, drawn with box characters. */
export function formatTrees(trees: NodeTree[]): string {
  const lines: string[] = [];
  const walk = (children: ChildSnapshot[], indent: string) => {
    children.forEach((child, i) => {
      const last = i === children.length - 1;
      const what = child.kind === "supervisor" ? `(${child.strategy})` : `${child.state}, ${child.restart}`;
      const restarts = child.restarts ? `, ${child.restarts} restart${child.restarts === 1 ? "" : "s"}` : "";
      lines.push(`${indent}${last ? "└─" : "├─"} ${child.id} ${what}${restarts}`);
      if (child.children) walk(child.children, `${indent}${last ? "   " : "│  "}`);
    });
  };
  for (const node of trees) {
    lines.push(node.nodeID);
    if (node.error) lines.push(`└─ unreachable: ${node.error}`);
    else if (!node.tree) lines.push("└─ (no supervisor running)");
    else {
      lines.push(`└─ ${node.tree.id} (${node.tree.strategy}, at most ${node.tree.intensity.maxRestarts} restarts in ${node.tree.intensity.periodMs / 1000} s)`);
      walk(node.tree.children, "   ");
    }
  }
  return lines.join("\n");
}

interface ReplHelpers {
  table(rows: string[][]): string;
}

type ReplArgs = { actor?: string; options?: { node?: string } };

function printError(err: unknown): void {
  console.error(describeError(toCoreError(err)));
}

/** CORE's commands in `core repl`, next to Moleculer's own (nodes, services, call, …). */
export const REPL_COMMANDS = [
  {
    command: "actors",
    description: "every live node's actors: state, restarts, mailbox",
    async action(broker: ServiceBroker, _args: ReplArgs, helpers: ReplHelpers) {
      try {
        const answer = (await broker.call("supervisor.actors")) as ActorsAnswer;
        console.log(helpers.table(actorRows(answer)));
        for (const u of answer.unreachable) console.log(`unreachable: ${u.nodeID}: ${u.error}`);
      } catch (err) {
        printError(err);
      }
    },
  },
  {
    command: "tree",
    description: "every live node's supervision tree",
    async action(broker: ServiceBroker) {
      try {
        console.log(formatTrees((await broker.call("supervisor.tree")) as NodeTree[]));
      } catch (err) {
        printError(err);
      }
    },
  },
  {
    command: "restart <actor>",
    description: "restart an actor where it runs (--node ID: on one node only)",
    options: [{ option: "--node <nodeID>", description: "only on this node" }],
    async action(broker: ServiceBroker, args: ReplArgs) {
      try {
        const nodeID = args.options?.node;
        const result = (await broker.call("supervisor.restart", { actor: args.actor, ...(nodeID ? { nodeID } : {}) })) as { restartedOn: string[] };
        console.log(`${args.actor} restarted on ${result.restartedOn.join(", ")}`);
      } catch (err) {
        printError(err);
      }
    },
  },
];
