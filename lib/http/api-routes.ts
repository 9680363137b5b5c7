import { z } from "zod";
import { consultRequestSchema } from "../circle/consult-request";
import { COST_DIMENSIONS } from "../costs/cost-summary";
import { DURATION } from "../security/duration";
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

const isoTime = z.iso.datetime({ offset: true, error: "an ISO 8601 time, e.g. 2026-11-30T12:00:00Z" });
/** A comma-separated list in a query string (`groupBy=provider,model`). */
const csv = <T extends z.ZodType<unknown, string>>(item: T) =>
  z
    .string()
    .max(500)
    .transform((s) => s.split(",").map((part) => part.trim()).filter(Boolean))
    .pipe(z.array(item).min(1).max(8));

const actorName = z.string().regex(/^[a-z0-9][a-z0-9_-]*(\.[a-z0-9][a-z0-9_-]*)*$/, { error: "an actor name such as expert.claude" });
const principalId = z.string().min(1).max(200);
const refreshBody = z.strictObject({ refreshToken: z.string().min(1).max(512) });
const duration = z.string().regex(DURATION, { error: "a duration such as 30m, 12h, 90d or 1w" }).refine((d) => !/^0+[smhdw]$/.test(d), { error: "a duration longer than 0" });

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
      cursor: z.string().min(1).max(200).optional(),
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
      groupBy: csv(z.enum(Object.keys(COST_DIMENSIONS) as [keyof typeof COST_DIMENSIONS, ...Array<keyof typeof COST_DIMENSIONS>])).optional(),
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
