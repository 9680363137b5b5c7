import type { ServiceBroker } from "moleculer";
import type { ActorInfo } from "../actors/actor-tree";
import type { ChildSnapshot, SupervisorSnapshot } from "../actors/supervisor";
import type { Consultation } from "../lib/circle/consultation";
import type { ExpertListing } from "../lib/circle/expert-directory";
import { renderConsultation } from "../lib/circle/render-consultation";
import type { BudgetStatus } from "../lib/costs/budget-ledger";
import type { CostDimension, CostSummary } from "../lib/costs/cost-summary";
import { describeError, ValidationError } from "../lib/errors";
import type { McpCallToolResult } from "../lib/mcp/mcp-actor-contract";
import { CORE_TOOLS, DEFAULT_TOOL_CALL_TIMEOUT_MS, type GatewayCallParams, type GatewayToolList, type GatewayTool } from "../lib/mcp-gateway";
import { memoryReport, type NodeMemoryAnswer } from "../lib/monitors/memory-table";
import type { MemoryStatus } from "../lib/monitors/memory-watch";
import { toCoreError } from "../mixins/to-core-error";
import { endpointBreakerRows, endpointBreakersOf, expertBreakerRows, gatherExpertBreakers } from "./circuits-command";

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

const DESCRIPTION_WIDTH = 60;

/** A description's first line, cut to fit a table cell. */
function shortDescription(description: string | undefined): string {
  const line = (description ?? "").trim().split("\n")[0]!.trim();
  return line.length > DESCRIPTION_WIDTH ? `${line.slice(0, DESCRIPTION_WIDTH - 1)}…` : line;
}

/** Rows of the `mcp tools` table: one tool per row, named as `mcp call SERVER TOOL` takes it. */
export function mcpToolRows(tools: readonly GatewayTool[]): string[][] {
  return [["Tool", "Server", "Description"], ...tools.map((t) => [t.tool, t.server, shortDescription(t.description ?? t.title)])];
}

/** A line of the `mcp` command, parsed. */
export type McpReplCommand = { command: "tools"; server?: string } | { command: "call"; server: string; tool: string; arguments: Record<string, unknown> };

const MCP_USAGE = "mcp tools [SERVER] | mcp call SERVER TOOL [JSON]";
const CALL_EXAMPLE = `mcp call everything echo '{"message": "hi there"}'`;

/**
 * An `mcp` line from the raw line (the REPL hands a command only one word per
 * argument, and the JSON may hold spaces). Throws ValidationError with usage.
 */
export function parseMcpLine(rawCommand: string): McpReplCommand {
  const line = rawCommand.trim().replace(/^mcp\b\s*/, "");
  const tools = /^tools(?:\s+(\S+))?\s*$/.exec(line);
  if (tools) return tools[1] === undefined ? { command: "tools" } : { command: "tools", server: tools[1] };
  const call = /^call\s+(\S+)\s+(\S+)\s*([\s\S]*)$/.exec(line);
  if (!call) throw new ValidationError(`Usage: ${MCP_USAGE}`, { issues: [{ field: "command", message: `e.g. mcp tools everything, or ${CALL_EXAMPLE}` }] });
  const server = call[1]!;
  const tool = call[2]!;
  const json = call[3] ?? "";
  if (json.trim() === "") return { command: "call", server, tool, arguments: {} };
  let args: unknown;
  try {
    args = JSON.parse(json);
  } catch (err) {
    throw new ValidationError(`The arguments of ${server}/${tool} are not valid JSON: ${json}`, {
      issues: [{ field: "JSON", message: `${(err as Error).message}; write one JSON object, in single quotes if it holds spaces: ${CALL_EXAMPLE}` }],
    });
  }
  if (typeof args !== "object" || args === null || Array.isArray(args)) {
    throw new ValidationError(`The arguments of ${server}/${tool} must be a JSON object, not ${Array.isArray(args) ? "an array" : JSON.stringify(args)}`, {
      issues: [{ field: "JSON", message: `an object of the tool's arguments, e.g. ${CALL_EXAMPLE}` }],
    });
  }
  return { command: "call", server, tool, arguments: args as Record<string, unknown> };
}

/** One content block of a tool result as text: text as it is, anything else as what it is. */
function contentText(block: Record<string, unknown>): string {
  const resource = block.resource as { uri?: unknown; text?: unknown; mimeType?: unknown } | undefined;
  switch (block.type) {
    case "text":
      return String(block.text);
    case "image":
    case "audio":
      return `[${block.type} ${String(block.mimeType ?? "")}, ${typeof block.data === "string" ? Math.floor((block.data.length * 3) / 4) : 0} bytes]`;
    case "resource":
      return typeof resource?.text === "string" ? resource.text : `[resource ${String(resource?.uri)}${resource?.mimeType ? `, ${String(resource.mimeType)}` : ""}]`;
    case "resource_link":
      return `[link ${String(block.uri)}${block.name ? ` (${String(block.name)})` : ""}]`;
    default:
      return JSON.stringify(block);
  }
}

/**
 * What `mcp call` prints of a result: its content as text (the structured
 * content when there is none), and whether the tool reported a failure.
 */
export function formatToolResult(result: McpCallToolResult): { text: string; isError: boolean } {
  const blocks = Array.isArray(result.content) ? result.content : [];
  let text = blocks.map(contentText).join("\n");
  if (blocks.length === 0) text = result.structuredContent === undefined ? "(no content)" : JSON.stringify(result.structuredContent, null, 2);
  return { text, isError: result.isError === true };
}

/** `mcp call`'s own deadline: past the gateway's for any tool, so the gateway's answers first. */
const MCP_CALL_TIMEOUT_MS = Math.max(DEFAULT_TOOL_CALL_TIMEOUT_MS, ...CORE_TOOLS.map((t) => t.timeoutMs)) + 5_000;

async function mcpTools(broker: ServiceBroker, server: string | undefined, helpers: ReplHelpers): Promise<void> {
  const { tools } = (await broker.call("mcp-gateway.tools", {}, { meta: { source: "repl" } })) as GatewayToolList;
  const shown = server === undefined ? tools : tools.filter((t) => t.server === server);
  if (shown.length > 0) console.log(helpers.table(mcpToolRows(shown)));
  else if (server === undefined) console.log("No MCP tools");
  else console.log(`No tools of MCP server ${server} (servers with tools: ${[...new Set(tools.map((t) => t.server))].join(", ") || "none"})`);
}

async function mcpCall(broker: ServiceBroker, line: Extract<McpReplCommand, { command: "call" }>): Promise<void> {
  const params: GatewayCallParams = { server: line.server, tool: line.tool, arguments: line.arguments };
  const result = (await broker.call("mcp-gateway.call", params, { timeout: MCP_CALL_TIMEOUT_MS, meta: { source: "repl" } })) as McpCallToolResult;
  const { text, isError } = formatToolResult(result);
  if (isError) console.error(`Tool error from ${line.server}/${line.tool}:\n${text}`);
  else console.log(text);
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

/** `memory-monitor.status` of every live node; a node that does not answer, or runs no memory monitor, is reported with why. */
async function nodeMemory(broker: ServiceBroker): Promise<NodeMemoryAnswer[]> {
  const monitored = new Set<string>(
    broker.registry
      .getServiceList({ onlyAvailable: true })
      .filter((s: { name: string }) => s.name === "memory-monitor")
      .map((s: { nodeID?: string }) => s.nodeID!),
  );
  const others = broker.registry
    .getNodeList({ onlyAvailable: true, withServices: false })
    .map((n: { id: string }) => n.id)
    .filter((id: string) => !monitored.has(id) && id !== broker.nodeID);
  const answers = await Promise.all(
    [...monitored].map(async (nodeID): Promise<NodeMemoryAnswer> => {
      try {
        return { nodeID, status: (await broker.call("memory-monitor.status", {}, { nodeID, timeout: 5_000, retries: 0 })) as MemoryStatus };
      } catch (err) {
        return { nodeID, error: describeError(toCoreError(err)) };
      }
    }),
  );
  return [...answers, ...others.map((nodeID: string) => ({ nodeID, error: "runs no memory-monitor" }))];
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
    command: "mcp <subcommand> [args...]",
    description: `MCP tools through the gateway: ${MCP_USAGE}`,
    // The JSON may hold anything, '-' included: the line is read raw (parseMcpLine).
    allowUnknownOptions: true,
    async action(broker: ServiceBroker, args: ReplArgs, helpers: ReplHelpers) {
      try {
        const line = parseMcpLine(args.rawCommand ?? "");
        if (line.command === "tools") await mcpTools(broker, line.server, helpers);
        else await mcpCall(broker, line);
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
  {
    command: "circuits",
    description: "circuit breakers: every expert's (per node) and this node's Moleculer endpoint breakers",
    async action(broker: ServiceBroker, _args: ReplArgs, helpers: ReplHelpers) {
      try {
        const experts = await gatherExpertBreakers(broker);
        const open = experts.filter((b) => b.status && b.status.breaker !== "closed").length;
        console.log(`Expert breakers (provider endpoints): ${experts.length}, ${open} not closed`);
        if (experts.length > 0) console.log(helpers.table(expertBreakerRows(experts)));
        const endpoints = endpointBreakersOf(broker);
        console.log(`Endpoint breakers of this node (${broker.nodeID}), per action and node it called: ${endpoints.length}`);
        if (endpoints.length > 0) console.log(helpers.table(endpointBreakerRows(endpoints)));
      } catch (err) {
        printError(err);
      }
    },
  },
  {
    command: "memory",
    description: "every live node's memory: heap and RSS against their limits, level, trend, predicted exhaustion, shedding",
    async action(broker: ServiceBroker, _args: ReplArgs, helpers: ReplHelpers) {
      try {
        const { rows, unreachable } = memoryReport(await nodeMemory(broker));
        if (rows.length > 1) console.log(helpers.table(rows));
        else console.log("No node runs a memory monitor");
        for (const line of unreachable) console.log(line);
      } catch (err) {
        printError(err);
      }
    },
  },
];
