import type { ServiceBroker } from "moleculer";
import type { ActorInfo } from "../actors/actor-tree";
import type { ChildSnapshot, SupervisorSnapshot } from "../actors/supervisor";
import type { Consultation } from "../lib/circle/consultation";
import type { ExpertListing } from "../lib/circle/expert-directory";
import { renderConsultation } from "../lib/circle/render-consultation";
import type { BudgetStatus } from "../lib/costs/budget-ledger";
import type { CostDimension, CostSummary } from "../lib/costs/cost-summary";
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

const usd = (x: number) => `$${x.toFixed(6)}`;

/** Rows of the `costs` table: one per group, then the total. */
export function costRows(summary: CostSummary, groupBy: readonly CostDimension[]): string[][] {
  const rows = [[...groupBy, "calls", "input tokens", "output tokens", "cost", "unpriced calls"]];
  for (const r of summary.rows) rows.push([...groupBy.map((d) => r[d] ?? ""), String(r.calls), String(r.inputTokens), String(r.outputTokens), usd(r.costUsd), String(r.unpricedCalls)]);
  const t = summary.total;
  rows.push([...groupBy.map((_, i) => (i === 0 ? "total" : "")), String(t.calls), String(t.inputTokens), String(t.outputTokens), usd(t.costUsd), String(t.unpricedCalls)]);
  return rows;
}

/** Rows of the `experts` table: one configured expert per row. */
export function expertRows(experts: readonly ExpertListing[]): string[][] {
  const rows = [["Expert", "Provider", "Model", "Weight", "Price in/out per MTok", "Node", "Breaker", "Fallback"]];
  for (const e of experts) {
    const price = e.price ? `$${e.price.inputPerMTok} / $${e.price.outputPerMTok}` : "unpriced";
    const where = e.available ? (e.status?.nodeID ?? "") : `unavailable: ${e.error?.code ?? "?"}`;
    rows.push([e.id, e.provider, e.model, String(e.weight), price, where, e.status?.breaker ?? "", e.fallback.join(", ")]);
  }
  return rows;
}

/** Rows of the `budgets` table: one budget per row. */
export function budgetRows(budgets: readonly BudgetStatus[]): string[][] {
  const rows = [["Budget", "Period", "Limit", "Used (spent + reserved)", "Remaining", "Resets"]];
  for (const b of budgets) rows.push([b.rule, b.period, usd(b.limitUsd), usd(b.usedUsd), usd(b.remainingUsd), b.periodEnd]);
  return rows;
}

interface ReplHelpers {
  table(rows: string[][]): string;
}

type ReplArgs = { actor?: string; principal?: string; rawCommand?: string; options?: { node?: string; experts?: string; by?: string; principal?: string } };

/**
 * The question of a `consult` line, whole: the REPL hands a command only its first word
 * of free text, so it is read from the raw line (quotes around it are optional).
 */
export function questionOf(rawCommand: string): string {
  const text = rawCommand
    .replace(/^\s*consult\b/, "")
    .replace(/--experts(?:=|\s+)\S+/, "")
    .trim();
  return text.replace(/^(["'])([\s\S]*)\1$/, "$2");
}

const list = (value: string | undefined) => value?.split(",").map((s) => s.trim()).filter(Boolean);

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
  {
    command: "consult <question...>",
    description: "ask the circle of experts (--experts a,b: only those)",
    options: [{ option: "--experts <ids>", description: "comma-separated expert ids" }],
    async action(broker: ServiceBroker, args: ReplArgs) {
      try {
        const experts = list(args.options?.experts);
        const consultation = (await broker.call("circle.consult", { question: questionOf(args.rawCommand ?? ""), ...(experts ? { experts } : {}) })) as Consultation;
        console.log(renderConsultation(consultation));
      } catch (err) {
        printError(err);
      }
    },
  },
  {
    command: "costs",
    description: "usage and cost of every provider call (--by provider,model,principal,expert,day; --principal ID)",
    options: [
      { option: "--by <dimensions>", description: "what to group by (default provider,model)" },
      { option: "--principal <id>", description: "only this principal's" },
    ],
    async action(broker: ServiceBroker, args: ReplArgs, helpers: ReplHelpers) {
      try {
        const groupBy = (list(args.options?.by) ?? ["provider", "model"]) as CostDimension[];
        const principal = args.options?.principal;
        const summary = (await broker.call("costs.summary", { groupBy, ...(principal ? { principal } : {}) })) as CostSummary;
        console.log(helpers.table(costRows(summary, groupBy)));
      } catch (err) {
        printError(err);
      }
    },
  },
  {
    command: "budgets [principal]",
    description: "a principal's budgets: limit, used, remaining (default: this REPL's principal)",
    async action(broker: ServiceBroker, args: ReplArgs, helpers: ReplHelpers) {
      try {
        const answer = (await broker.call("budgets.get", args.principal ? { principal: args.principal } : {})) as { principal: string; budgets: BudgetStatus[] };
        if (answer.budgets.length === 0) console.log(`No budget binds ${answer.principal}`);
        else console.log(helpers.table(budgetRows(answer.budgets)));
      } catch (err) {
        printError(err);
      }
    },
  },
  {
    command: "experts",
    description: "the configured experts: provider, model, price, where each runs, its breaker",
    async action(broker: ServiceBroker, _args: ReplArgs, helpers: ReplHelpers) {
      try {
        console.log(helpers.table(expertRows((await broker.call("circle.experts")) as ExpertListing[])));
      } catch (err) {
        printError(err);
      }
    },
  },
];
