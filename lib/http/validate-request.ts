import type { z } from "zod";
import { toFieldIssues } from "../../config/issues";
import { ValidationError, type FieldIssue } from "../errors";
import type { ApiRoute } from "./api-route";

export interface RequestParts {
  path: Record<string, unknown>;
  query: Record<string, unknown>;
  body: unknown;
}

/** Fields whose value must never be echoed back in an error (or reach a log through one). */
const SECRET_FIELD = /password|secret|token|key$/i;

function check(schema: z.ZodType | undefined, value: unknown, where: string, issues: FieldIssue[]): unknown {
  if (!schema) return value;
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  for (const issue of toFieldIssues(parsed.error.issues, value, [where])) {
    if (SECRET_FIELD.test(issue.field)) {
      const { received: _hidden, ...rest } = issue;
      issues.push({ ...rest, message: rest.message.replace(/^received .*?; expected/, "expected") });
    } else {
      issues.push(issue);
    }
  }
  return undefined;
}

/** U+0000: PostgreSQL text cannot hold it, so no string of a request may (the OpenAPI document says so too, see openapi.ts). */
export const NUL = "\u0000";
const NO_NUL_MESSAGE = "text without NUL characters (U+0000)";

/** No route takes JSON nested deeper; a body that is (thousands of `[` in 256 KiB) would exhaust the stack of whatever walks it. */
export const MAX_NESTING = 32;

/** Every string (or object key) holding U+0000, wherever it is in `value`; its value is never echoed. */
function nulIssues(value: unknown, field: string, issues: FieldIssue[], depth = 0): void {
  if (typeof value === "string") {
    if (value.includes(NUL)) issues.push({ field, message: NO_NUL_MESSAGE });
  } else if (typeof value === "object" && value !== null) {
    if (depth >= MAX_NESTING) {
      issues.push({ field, message: `at most ${MAX_NESTING} levels of nested arrays and objects` });
    } else if (Array.isArray(value)) {
      value.forEach((item, i) => nulIssues(item, `${field}[${i}]`, issues, depth + 1));
    } else {
      for (const [key, item] of Object.entries(value)) {
        if (key.includes(NUL)) issues.push({ field, message: `property names ${NO_NUL_MESSAGE}` });
        else nulIssues(item, `${field}.${key}`, issues, depth + 1);
      }
    }
  }
}

/**
 * A request's path parameters, query and body checked against its route's
 * schemas, turned into the action's parameters. Every failing field is
 * reported at once (422), named by where it was: `body.question`, `query.limit`;
 * a string holding U+0000 anywhere is refused too.
 * A route without a query schema takes no query parameters; one without a
 * body schema takes no body.
 */
export function validateRequest(route: ApiRoute, parts: RequestParts): Record<string, unknown> {
  const issues: FieldIssue[] = [];
  const path = check(route.pathParams, parts.path, "path", issues) as Record<string, unknown> | undefined;
  const hasQuery = Object.keys(parts.query).length > 0;
  const query = route.query
    ? (check(route.query, parts.query, "query", issues) as Record<string, unknown> | undefined)
    : hasQuery
      ? (issues.push(...Object.keys(parts.query).map((name) => ({ field: `query.${name}`, message: "unknown parameter: this route takes none" }))), undefined)
      : {};
  const emptyBody = parts.body === undefined || (typeof parts.body === "object" && parts.body !== null && !Array.isArray(parts.body) && Object.keys(parts.body).length === 0);
  const body = route.body
    ? check(route.body, parts.body, "body", issues)
    : emptyBody
      ? undefined
      : (issues.push({ field: "body", message: "no body expected for this route" }), undefined);
  nulIssues(parts.path, "path", issues);
  nulIssues(parts.query, "query", issues);
  nulIssues(parts.body, "body", issues);
  if (issues.length > 0) throw new ValidationError(`Invalid request to ${route.method} /api/v1${route.path}`, { issues });
  const validated = { path: path ?? {}, query: query ?? {}, body };
  if (route.toParams) return route.toParams(validated);
  return { ...(body as Record<string, unknown> | undefined), ...validated.query, ...validated.path };
}
