import type { Context, ServiceSchema } from "moleculer";
import { UnavailableError } from "../../lib/errors";
import {
  MCP_CANCEL_EVENT,
  MCP_PROGRESS_EVENT,
  MCP_TOOLS_CHANGED_EVENT,
  mcpActorName,
  mcpCallPermission,
  type McpCallToolParams,
  type McpCallToolResult,
  type McpCancel,
  type McpTool,
  type McpToolList,
} from "../../lib/mcp/mcp-actor-contract";
import { McpCallCancelledError, McpToolNotFoundError } from "../../lib/errors/mcp-errors";
import { requires } from "../../mixins/action-permission";

/** What a test reads back from the fake actor. */
export interface FakeMcpActorRecord {
  calls: Array<{ params: McpCallToolParams; principal: unknown; requestId: unknown }>;
  cancels: McpCancel[];
}

export interface FakeMcpActor {
  schema: ServiceSchema;
  record: FakeMcpActorRecord;
  /** Adds a tool and announces it as the real actors do (MCP_TOOLS_CHANGED_EVENT); needs the broker the schema runs on. */
  addTool(broadcast: (event: string, payload: unknown) => unknown, tool: McpTool): void;
}

const schemaOf = (properties: Record<string, unknown>, required: string[] = []) => ({ type: "object", properties, required });

/**
 * A stand-in for an `mcp.<server>` actor implementing lib/mcp/mcp-actor-contract
 * without an MCP server behind it, so the gateway's tests choose every answer:
 *
 * - `echo {message}` → the message (and structuredContent)
 * - `add {a, b}` → the sum
 * - `secret` → a tool a restricted role must not see
 * - `slow {steps, stepMs}` → progress per step (MCP_PROGRESS_EVENT), then done;
 *   with `untilCancelled` it waits for its MCP_CANCEL_EVENT and fails as cancelled
 * - `down` → UNAVAILABLE (retryable), as an actor whose server is not connected
 * - `broken` → a result with `isError` (the tool itself failed)
 */
export function fakeMcpActor(server = "demo"): FakeMcpActor {
  const record: FakeMcpActorRecord = { calls: [], cancels: [] };
  const tools: McpTool[] = [
    {
      name: "echo",
      title: "Echo",
      description: "Echoes the message",
      inputSchema: schemaOf({ message: { type: "string" } }, ["message"]),
      outputSchema: schemaOf({ echoed: { type: "string" } }, ["echoed"]),
      annotations: { readOnlyHint: true, idempotentHint: true },
    },
    { name: "add", description: "Adds two numbers", inputSchema: schemaOf({ a: { type: "number" }, b: { type: "number" } }, ["a", "b"]) },
    { name: "secret", description: "Only for the trusted", inputSchema: schemaOf({}) },
    { name: "slow", description: "Reports progress", inputSchema: schemaOf({ steps: { type: "number" }, stepMs: { type: "number" }, untilCancelled: { type: "boolean" } }) },
    { name: "down", description: "Its server is not connected", inputSchema: schemaOf({}) },
    { name: "broken", description: "Fails as a tool", inputSchema: schemaOf({}) },
  ];
  const waiting = new Map<string, (reason: string) => void>();

  const schema: ServiceSchema = {
    name: mcpActorName(server),
    actions: {
      listTools: requires("mcp:list", {
        handler(): McpToolList {
          return { server, tools: tools.map((t) => ({ ...t })) };
        },
      }),
      callTool: requires((params) => mcpCallPermission(server, String(params.tool)), {
        async handler(this: { broker: { broadcast(event: string, payload: unknown): Promise<unknown> } }, ctx: Context<McpCallToolParams, Record<string, unknown>>): Promise<McpCallToolResult> {
          const params = ctx.params;
          record.calls.push({ params, principal: ctx.meta.principal, requestId: ctx.meta.requestId });
          const args = (params.arguments ?? {}) as Record<string, unknown>;
          switch (params.tool) {
            case "echo":
              return { content: [{ type: "text", text: String(args.message) }], structuredContent: { echoed: String(args.message) } };
            case "add":
              return { content: [{ type: "text", text: String(Number(args.a) + Number(args.b)) }] };
            case "secret":
              return { content: [{ type: "text", text: "the secret" }] };
            case "slow": {
              const steps = Number(args.steps ?? 3);
              for (let i = 1; i <= steps; i++) {
                await new Promise((r) => setTimeout(r, Number(args.stepMs ?? 30)));
                if (params.progressToken) await this.broker.broadcast(MCP_PROGRESS_EVENT, { progressToken: params.progressToken, progress: i, total: steps, message: `step ${i}` });
              }
              if (args.untilCancelled && params.callId) {
                const reason = await new Promise<string>((resolve) => waiting.set(params.callId!, resolve));
                throw new McpCallCancelledError(`${server}: call cancelled (${reason})`);
              }
              return { content: [{ type: "text", text: `done in ${steps} steps` }] };
            }
            case "down":
              throw new UnavailableError(`MCP server ${server} is not connected`);
            case "broken":
              return { content: [{ type: "text", text: "the tool failed" }], isError: true };
            default:
              if (tools.some((t) => t.name === params.tool)) return { content: [{ type: "text", text: `${params.tool} ran` }] };
              throw new McpToolNotFoundError(`${server} has no tool ${params.tool}`);
          }
        },
      }),
    },
    events: {
      [MCP_CANCEL_EVENT](ctx: Context<McpCancel>) {
        record.cancels.push(ctx.params);
        waiting.get(ctx.params.callId)?.(ctx.params.reason ?? "cancelled");
      },
    },
  };

  return {
    schema,
    record,
    addTool(broadcast, tool) {
      tools.push(tool);
      broadcast(MCP_TOOLS_CHANGED_EVENT, { server, tools: tools.map((t) => t.name) });
    },
  };
}
