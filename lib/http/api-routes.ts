import { z } from "zod";
import { consultRequestSchema } from "../circle/consult-request";
import { COST_DIMENSIONS } from "../costs/cost-summary";
import { mcpCallBodySchema, mcpCallParams, mcpCallPathSchema, mcpCallResultSchema, mcpToolListSchema } from "../mcp-gateway/rest-schemas";
import type { ApiRoute } from "./api-route";
import {
  actorsSchema,
  apiKeySchema,
  budgetsSchema,
  consultationPageSchema,
  consultationSchema,
  costSummarySchema,
  expertListingSchema,
  restartSchema,
  tokensSchema,
} from "./api-schemas";

/*
 * An ISO 8601 time with a zone (Z or an offset), a real calendar date, from
 * year 0002 to 9998: whatever the offset, it is a time JavaScript writes as
 * YYYY-MM-DD and PostgreSQL reads (it has no year 0). One pattern, so the
 * OpenAPI document says exactly which times pass; `[0-9]`, not `\d`, which
 * other languages read as any Unicode digit.
 */
const YEAR = "(?:000[2-9]|00[1-9][0-9]|0[1-9][0-9]{2}|[1-8][0-9]{3}|9[0-8][0-9]{2}|99[0-8][0-9]|999[0-8])";
const LEAP_YEAR = "(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])|(?:0[48]|[2468][048]|[13579][26])00)";
const MONTH_DAY = "(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)|02-(?:0[1-9]|1[0-9]|2[0-8]))";
const TIME = "T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\\.[0-9]{1,9})?(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])";
const isoTime = z
  .string()
  .regex(new RegExp(`^(?:${LEAP_YEAR}-02-29|${YEAR}-${MONTH_DAY})${TIME}$`), { error: "an ISO 8601 time from year 0002 to 9998, e.g. 2026-11-30T12:00:00Z" })
  .meta({ format: "date-time" });
/**
 * A comma-separated list of names in a query string (`groupBy=provider,model`),
 * spaces allowed around the commas. The pattern is the whole grammar, so the
 * OpenAPI document says exactly which strings pass (no hidden refinement).
 */
const csv = <const T extends readonly [string, ...string[]]>(names: T, maxItems = names.length) => {
  const name = `(?:${names.join("|")})`;
  const grammar = new RegExp(`^ *${name} *(?:, *${name} *){0,${maxItems - 1}}$`);
  return z
    .string()
    .regex(grammar, { error: `${names.join(", ")} or several of them separated by commas (at most ${maxItems})` })
    .transform((s) => s.split(",").map((part) => part.trim()) as Array<T[number]>);
};

const actorName = z.string().regex(/^[a-z0-9][a-z0-9_-]*(\.[a-z0-9][a-z0-9_-]*)*$/, { error: "an actor name such as expert.claude" });
const principalId = z.string().min(1).max(200);
const refreshBody = z.strictObject({ refreshToken: z.string().min(1).max(512) });
/**
 * What DURATION (lib/security/duration) reads, less zero and less what ends
 * past year 9999 (PostgreSQL's timestamps stop there): 1 to 6 digits with no
 * leading zero and a unit, at most 5 digits of weeks. `[0-9]`, not `\d`: JSON
 * Schema validators in other languages read `\d` as any Unicode digit.
 */
const duration = z.string().regex(/^(?:[1-9][0-9]{0,5}[smhd]|[1-9][0-9]{0,4}w)$/, { error: "a duration such as 30m, 12h, 90d or 1w (at most 999999d or 99999w)" });
/**
 * A `nextCursor` from an earlier page: opaque to clients, so the document names
 * it with a format of its own (`consultation-cursor`), which a client cannot
 * make up but a fuzzer can be taught (scripts/schemathesis_hooks.py).
 */
const cursor = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,200}$/, { error: "a nextCursor from an earlier page" })
  .meta({
    format: "consultation-cursor",
    description: "The `nextCursor` of the previous page",
    examples: [Buffer.from(JSON.stringify(["2026-01-01T00:00:00.000Z", "00000000-0000-4000-8000-000000000000"])).toString("base64url")],
  });

/** Every route under /api/v1: the gateway serves exactly these, the OpenAPI document describes exactly these. */
export const API_ROUTES: readonly ApiRoute[] = [
  {
    method: "POST",
    path: "/consult",
    action: "circle.consult",
    permission: "consult:run",
    operationId: "consult",
    summary: "Ask the Circle of Experts; answers with the consensus and every expert's part",
    tag: "consult",
    body: consultRequestSchema,
    response: consultationSchema,
  },
  {
    method: "GET",
    path: "/consultations",
    action: "circle.list",
    permission: "consultations:read",
    operationId: "listConsultations",
    summary: "Consultations, newest first, a page at a time",
    tag: "consult",
    query: z.strictObject({
      limit: z.coerce.number().int().min(1).max(200).optional(),
      cursor: cursor.optional(),
      principal: principalId.optional(),
      expert: z.string().min(1).max(63).optional(),
      from: isoTime.optional(),
      to: isoTime.optional(),
      status: z.enum(["completed", "failed"]).optional(),
    }),
    response: consultationPageSchema,
  },
  {
    method: "GET",
    path: "/consultations/:id",
    action: "circle.get",
    permission: "consultations:read",
    operationId: "getConsultation",
    summary: "One consultation with every expert's answer",
    tag: "consult",
    pathParams: z.strictObject({ id: z.uuid({ error: "a consultation id (a UUID)" }) }),
    response: consultationSchema,
  },
  {
    method: "GET",
    path: "/experts",
    action: "circle.experts",
    permission: "experts:read",
    operationId: "listExperts",
    summary: "Every configured expert: provider, model, weight, price, and whether it is available",
    tag: "consult",
    response: expertListingSchema,
  },
  {
    method: "GET",
    path: "/costs",
    action: "costs.summary",
    permission: "costs:read",
    operationId: "costSummary",
    summary: "Usage and cost of provider calls, grouped",
    tag: "costs",
    query: z.strictObject({
      groupBy: csv(Object.keys(COST_DIMENSIONS) as [keyof typeof COST_DIMENSIONS, ...Array<keyof typeof COST_DIMENSIONS>]).optional(),
      from: isoTime.optional(),
      to: isoTime.optional(),
      principal: principalId.optional(),
    }),
    response: costSummarySchema,
  },
  {
    method: "GET",
    path: "/budgets",
    action: "budgets.get",
    permission: "budgets:read",
    operationId: "getBudgets",
    summary: "The budgets that bind a principal (the caller by default) and what is left of them",
    tag: "costs",
    query: z.strictObject({ principal: principalId.optional() }),
    response: budgetsSchema,
  },
  {
    method: "GET",
    path: "/actors",
    action: "supervisor.actors",
    permission: "actors:read",
    operationId: "listActors",
    summary: "Every live node's actors with their state, restarts and mailbox",
    tag: "actors",
    response: actorsSchema,
  },
  {
    method: "POST",
    path: "/actors/:name/restart",
    action: "supervisor.restart",
    permission: "actors:restart",
    operationId: "restartActor",
    summary: "Restart an actor wherever it runs (or on one node)",
    tag: "actors",
    pathParams: z.strictObject({ name: actorName }),
    body: z.strictObject({ nodeID: z.string().min(1).max(200).optional() }).optional(),
    response: restartSchema,
    toParams: ({ path, body }) => ({ actor: path.name, ...(body as Record<string, unknown> | undefined) }),
  },
  {
    method: "GET",
    path: "/mcp/tools",
    action: "mcp-gateway.tools",
    permission: "mcp:list",
    operationId: "listMcpTools",
    summary: "Every MCP tool the caller may call: upstream tools as <server>__<tool> and CORE's own",
    tag: "mcp",
    response: mcpToolListSchema,
  },
  {
    method: "POST",
    path: "/mcp/tools/:server/:tool",
    action: "mcp-gateway.call",
    permission: "mcp:call:<server>/<tool>",
    operationId: "callMcpTool",
    summary: "Call one MCP tool; the body is its arguments. A tool's own failure is a 200 with isError: true",
    tag: "mcp",
    pathParams: mcpCallPathSchema,
    body: mcpCallBodySchema,
    response: mcpCallResultSchema,
    toParams: mcpCallParams,
  },
  {
    method: "POST",
    path: "/auth/login",
    action: "auth.login",
    permission: null,
    operationId: "login",
    summary: "Exchange e-mail and password for an access token and a refresh token",
    tag: "auth",
    body: z.strictObject({ email: z.string().min(3).max(320), password: z.string().min(1).max(1024) }),
    response: tokensSchema,
  },
  {
    method: "POST",
    path: "/auth/refresh",
    action: "auth.refresh",
    permission: null,
    operationId: "refresh",
    summary: "Spend a refresh token for a new pair (a spent token presented again revokes its family)",
    tag: "auth",
    body: refreshBody,
    response: tokensSchema,
  },
  {
    method: "POST",
    path: "/auth/logout",
    action: "auth.logout",
    permission: null,
    operationId: "logout",
    summary: "Revoke a refresh token and its family",
    tag: "auth",
    body: refreshBody,
    response: z.looseObject({ revoked: z.boolean() }),
  },
  {
    method: "GET",
    path: "/auth/me",
    action: "auth.me",
    permission: "profile:read",
    operationId: "whoAmI",
    summary: "Who the credential belongs to: id, kind (user or key), roles and scopes",
    tag: "auth",
    response: z.looseObject({ id: z.string(), kind: z.enum(["user", "key", "system"]), roles: z.array(z.string()), scopes: z.array(z.string()).optional() }),
  },
  {
    method: "GET",
    path: "/keys",
    action: "auth.listKeys",
    permission: "admin:keys",
    operationId: "listKeys",
    summary: "API keys (never the keys themselves)",
    tag: "keys",
    response: z.array(apiKeySchema),
  },
  {
    method: "POST",
    path: "/keys",
    action: "auth.createKey",
    permission: "admin:keys",
    operationId: "createKey",
    summary: "Create an API key; the key is in this answer only",
    tag: "keys",
    body: z.strictObject({
      name: z.string().min(1).max(100),
      role: z.string().min(1).max(63),
      scopes: z.array(z.string().min(1).max(200)).max(32).optional(),
      expiresIn: duration.optional(),
    }),
    response: apiKeySchema.extend({ key: z.string() }),
    successStatus: 201,
  },
  {
    method: "DELETE",
    path: "/keys/:id",
    action: "auth.revokeKey",
    permission: "admin:keys",
    operationId: "revokeKey",
    summary: "Revoke an API key at once, on every node",
    tag: "keys",
    pathParams: z.strictObject({ id: z.string().regex(/^[a-z0-9]{4,64}$/, { error: "an API key id" }) }),
    response: apiKeySchema,
  },
];
