import type { z } from "zod";

export type HttpMethod = "GET" | "POST" | "DELETE";

/**
 * One route of the REST API: what the gateway validates and calls, and what
 * the OpenAPI document says about it. The same zod schemas do both, so the
 * document cannot drift from what is enforced.
 */
export interface ApiRoute {
  method: HttpMethod;
  /** Under /api/v1, with `:name` path parameters, e.g. `/consultations/:id`. */
  path: string;
  /** The action the route calls; it declares (and enforces) `permission`. */
  action: string;
  /** The permission the action requires, or null for a route open to anonymous callers. */
  permission: string | null;
  /** Stable id for clients generated from the document. */
  operationId: string;
  summary: string;
  tag: string;
  pathParams?: z.ZodObject;
  query?: z.ZodObject;
  body?: z.ZodType;
  /** The shape of a successful answer (the document's 2xx schema). */
  response: z.ZodType;
  /** 200 unless the route creates something (201). */
  successStatus?: 200 | 201;
  /** Builds the action's parameters from what was validated (default: body, then query, then path parameters merged). */
  toParams?: (parts: { path: Record<string, unknown>; query: Record<string, unknown>; body: unknown }) => Record<string, unknown>;
}
