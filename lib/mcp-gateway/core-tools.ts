import { z } from "zod";
import { toFieldIssues } from "../../config/issues";
import { consultRequestSchema, DEFAULT_CONSULT_TIMEOUT_MS } from "../circle/consult-request";
import type { Consultation } from "../circle/consultation";
import { renderConsultation } from "../circle/render-consultation";
import { ValidationError } from "../errors";
import type { McpCallToolResult, McpTool } from "../mcp/mcp-actor-contract";

/** What a CORE tool may do: call an action of the cluster (with the caller's principal) or read this node's readiness. */
export interface CoreToolInvoker {
  call(action: string, params: Record<string, unknown>): Promise<unknown>;
  readiness(): Promise<unknown>;
}

/** One of CORE's own tools, listed as `core__<tool>`. */
export interface CoreTool {
  tool: string;
  /** Needed to see and call it (the permission of the action it stands for). */
  permission: string;
  /** The call's deadline. */
  timeoutMs: number;
  definition: Omit<McpTool, "name">;
  run(args: Record<string, unknown>, invoke: CoreToolInvoker): Promise<McpCallToolResult>;
}

function inputSchemaOf(schema: z.ZodType): Record<string, unknown> {
  // MCP's default dialect is 2020-12 already; some clients choke on an explicit $schema.
  const { $schema: _dialect, ...json } = z.toJSONSchema(schema, { io: "input" }) as Record<string, unknown>;
  return json;
}

function parsed<T>(schema: z.ZodType<T>, args: Record<string, unknown>, tool: string): T {
  const result = schema.safeParse(args);
  if (result.success) return result.data;
  throw new ValidationError(`Invalid arguments for core__${tool}`, { issues: toFieldIssues(result.error.issues, args) });
}

const json = (value: unknown) => JSON.stringify(value, null, 2);
const NO_ARGS = z.strictObject({});
const consultArgs = consultRequestSchema.pick({ question: true, experts: true });

export const CORE_TOOLS: readonly CoreTool[] = [
  {
    tool: "consult",
    permission: "consult:run",
    // The consult's own deadline answers first; the call's only covers a lost node.
    timeoutMs: DEFAULT_CONSULT_TIMEOUT_MS + 5_000,
    definition: {
      title: "Consult the circle of experts",
      description:
        "Ask several AI models the same question at once and get their consensus, how much they agree, and each expert's answer. Optionally name the experts to ask (see core__experts).",
      inputSchema: inputSchemaOf(consultArgs),
      annotations: { readOnlyHint: true, openWorldHint: true },
    },
    async run(args, invoke) {
      const consultation = (await invoke.call("circle.consult", parsed(consultArgs, args, "consult"))) as Consultation;
      return { content: [{ type: "text", text: renderConsultation(consultation) }], structuredContent: consultation as unknown as Record<string, unknown> };
    },
  },
  {
    tool: "experts",
    permission: "experts:read",
    timeoutMs: 10_000,
    definition: {
      title: "List the experts",
      description: "The configured experts of the circle: provider, model, weight, price and whether each is available now.",
      inputSchema: inputSchemaOf(NO_ARGS),
      annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
    },
    async run(args, invoke) {
      parsed(NO_ARGS, args, "experts");
      const experts = await invoke.call("circle.experts", {});
      return { content: [{ type: "text", text: json(experts) }], structuredContent: { experts } };
    },
  },
  {
    tool: "health",
    permission: "actors:read",
    timeoutMs: 10_000,
    definition: {
      title: "Cluster health",
      description: "Every actor of the cluster (where it runs, its state, restarts, mailbox) and this node's readiness (NATS, store, cache).",
      inputSchema: inputSchemaOf(NO_ARGS),
      annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
    },
    async run(args, invoke) {
      parsed(NO_ARGS, args, "health");
      const [actors, readiness] = await Promise.all([invoke.call("supervisor.actors", {}), invoke.readiness()]);
      // supervisor.actors answers { actors, unreachable }.
      const health = { readiness, ...(actors as Record<string, unknown>) };
      return { content: [{ type: "text", text: json(health) }], structuredContent: health };
    },
  },
];

const byName = new Map(CORE_TOOLS.map((t) => [t.tool, t]));

export function coreTool(tool: string): CoreTool | undefined {
  return byName.get(tool);
}
