import { z } from "zod";
import { CORE_SERVER, TOOL_NAME_SEPARATOR } from "../lib/mcp-gateway/tool-names";
import { DEFAULT_ROLES } from "./default-roles";

/**
 * The optional configuration file (`CORE_CONFIG`, YAML or JSON). Objects are
 * strict: a misspelt key is reported rather than silently ignored.
 */

/** Ids become part of action names (`expert.<id>.ask`), so no dots or spaces. */
const actorId = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, {
  error: "lower-case letters, digits, '_' or '-', starting with a letter or digit (at most 63)",
});

const money = z.number().nonnegative({ error: "a non-negative number (US dollars)" });

export const priceSchema = z.strictObject({
  inputPerMTok: money,
  outputPerMTok: money,
});

export const PROVIDERS = [
  "anthropic",
  "openai",
  "openai-compatible",
  "deepseek",
  "openrouter",
  "groq",
  "vllm",
  "lmstudio",
  "localai",
  "gemini",
  "ollama",
] as const;

export const expertSchema = z.strictObject({
  id: actorId,
  provider: z.enum(PROVIDERS),
  model: z.string().min(1, { error: "a model name" }),
  baseUrl: z.url({ protocol: /^https?$/, error: "an http(s) URL" }).optional(),
  apiKeyEnv: z.string().regex(/^[A-Z_][A-Z0-9_]*$/, { error: "an environment variable name, e.g. OPENAI_API_KEY" }).optional(),
  weight: z.number().positive({ error: "a positive number" }).default(1),
  maxTokens: z.int().positive({ error: "a positive integer" }).optional(),
  temperature: z.number().min(0).max(2, { error: "a number from 0 to 2" }).optional(),
  fallback: z.array(actorId).default([]),
  price: priceSchema.optional(),
});

export const mcpServerSchema = z
  .strictObject({
    name: actorId,
    transport: z.enum(["stdio", "http", "sse"]),
    command: z.string().min(1).optional(),
    args: z.array(z.string()).default([]),
    env: z.record(z.string(), z.string()).default({}),
    url: z.url({ protocol: /^https?$/, error: "an http(s) URL" }).optional(),
    headers: z.record(z.string(), z.string()).default({}),
    allow: z.array(z.string().min(1)).optional(),
  })
  .superRefine((server, ctx) => {
    // The gateway lists a tool as <server>__<tool>; without "__" in it or "_" at its end, no two servers' tools can share a name.
    if (server.name === CORE_SERVER) {
      ctx.addIssue({ code: "custom", path: ["name"], message: `a name other than ${CORE_SERVER} (reserved for CORE's own tools, listed as ${CORE_SERVER}${TOOL_NAME_SEPARATOR}consult, …)` });
    } else if (server.name.includes(TOOL_NAME_SEPARATOR) || server.name.endsWith("_")) {
      ctx.addIssue({ code: "custom", path: ["name"], message: `a name without "${TOOL_NAME_SEPARATOR}" that does not end in "_" (the gateway lists its tools as <name>${TOOL_NAME_SEPARATOR}<tool>)` });
    }
    if (server.transport === "stdio" && !server.command) {
      ctx.addIssue({ code: "custom", path: ["command"], message: "a command to run (required for transport stdio)" });
    }
    if (server.transport !== "stdio" && !server.url) {
      ctx.addIssue({ code: "custom", path: ["url"], message: `a URL (required for transport ${server.transport})` });
    }
  });

const permission = z.string().regex(/^[a-z*][a-z0-9_*:/.-]*$/, { error: "a permission such as consult:run or admin:*" });

export const roleSchema = z.strictObject({
  permissions: z.array(permission).default([]),
  inherits: z.array(z.string()).default([]),
});

export const budgetSchema = z.strictObject({
  /** A principal id, a role as `role:<name>`, or `*` for everyone. */
  principal: z.string().min(1),
  period: z.enum(["day", "week", "month"]),
  limitUsd: z.number().positive({ error: "a positive number (US dollars)" }),
});

export const rateLimitSchema = z.strictObject({
  capacity: z.int().positive({ error: "a positive integer (burst size)" }),
  refillPerSecond: z.number().positive({ error: "a positive number (tokens per second)" }),
});

export const fileSchema = z
  .strictObject({
    experts: z.array(expertSchema).default([]),
    mcpServers: z.array(mcpServerSchema).default([]),
    roles: z.record(z.string(), roleSchema).default({}),
    budgets: z.array(budgetSchema).default([]),
    rateLimits: z
      .strictObject({
        default: rateLimitSchema.optional(),
        routes: z.record(z.string(), rateLimitSchema).default({}),
      })
      .default({ routes: {} }),
    prices: z.record(z.string(), priceSchema).default({}),
  })
  .superRefine((file, ctx) => {
    const ids = new Set<string>();
    file.experts.forEach((expert, i) => {
      if (ids.has(expert.id)) {
        ctx.addIssue({ code: "custom", path: ["experts", i, "id"], message: `a unique id (${expert.id} appears twice)` });
      }
      ids.add(expert.id);
    });
    file.experts.forEach((expert, i) => {
      expert.fallback.forEach((target, j) => {
        if (target === expert.id) {
          ctx.addIssue({ code: "custom", path: ["experts", i, "fallback", j], message: "another expert's id (an expert cannot fall back to itself)" });
        } else if (!ids.has(target)) {
          ctx.addIssue({ code: "custom", path: ["experts", i, "fallback", j], message: `the id of a configured expert (known: ${[...ids].join(", ") || "none"})` });
        }
      });
    });
    const roleNames = new Set([...Object.keys(DEFAULT_ROLES), ...Object.keys(file.roles)]);
    for (const [name, role] of Object.entries(file.roles)) {
      role.inherits.forEach((parent, j) => {
        if (!roleNames.has(parent)) {
          ctx.addIssue({ code: "custom", path: ["roles", name, "inherits", j], message: `a defined role (known: ${[...roleNames].join(", ")})` });
        }
      });
    }
    const cycle = inheritanceCycle({ ...DEFAULT_ROLES, ...file.roles });
    if (cycle) ctx.addIssue({ code: "custom", path: ["roles", cycle[0]!, "inherits"], message: `roles that do not inherit themselves (${cycle.join(" → ")})` });
    const names = new Set<string>();
    file.mcpServers.forEach((server, i) => {
      if (names.has(server.name)) {
        ctx.addIssue({ code: "custom", path: ["mcpServers", i, "name"], message: `a unique name (${server.name} appears twice)` });
      }
      names.add(server.name);
    });
  });

export type ExpertConfig = z.output<typeof expertSchema>;
export type McpServerConfig = z.output<typeof mcpServerSchema>;
export type RoleConfig = z.output<typeof roleSchema>;
export type BudgetConfig = z.output<typeof budgetSchema>;
export type RateLimitConfig = z.output<typeof rateLimitSchema>;
export type PriceConfig = z.output<typeof priceSchema>;
export type FileConfig = z.output<typeof fileSchema>;

/** The first chain of roles that leads back to where it started, if any. */
function inheritanceCycle(roles: Readonly<Record<string, { inherits: readonly string[] }>>): string[] | undefined {
  const visit = (name: string, path: string[]): string[] | undefined => {
    if (path.includes(name)) return [...path.slice(path.indexOf(name)), name];
    for (const parent of roles[name]?.inherits ?? []) {
      const found = visit(parent, [...path, name]);
      if (found) return found;
    }
    return undefined;
  };
  for (const name of Object.keys(roles)) {
    const found = visit(name, []);
    if (found) return found;
  }
  return undefined;
}
