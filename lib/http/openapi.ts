import { z } from "zod";
import type { ApiRoute } from "./api-route";
import { errorResponseSchema } from "./api-schemas";

export type OpenApiDocument = Record<string, unknown> & { openapi: "3.1.0"; paths: Record<string, Record<string, unknown>> };

/** Extra operations served outside /api/v1 (health, OpenAI-compatible), described by hand where no zod schema validates them. */
export interface ExtraOperation {
  method: "get" | "post";
  path: string;
  operation: Record<string, unknown>;
}

const COMPONENT = (id: string) => `#/components/schemas/${id}`;

/** The JSON Schema spelling of "holds no U+0000" (validate-request.ts refuses such strings; PostgreSQL text cannot hold them). */
const NO_NUL_PATTERN = "^[^\\u0000]*$";
/** Escapes that stand for U+0000 itself. */
const NUL_ESCAPE = /^\\(u0000|x00|0)$/;
/** Escapes that can match U+0000 outside a negated class: \D, \S, \W and U+0000 itself. */
const MAY_BE_NUL = /^\\([DSW]|u0000|x00|0)$/;

/** The escape at `i` (a backslash): `\u0000`, `\x00` or one character. */
function escapeAt(pattern: string, i: number): string {
  const next = pattern[i + 1];
  if (next === "u") return pattern.slice(i, i + 6);
  if (next === "x") return pattern.slice(i, i + 4);
  return pattern.slice(i, i + 2);
}

/**
 * Whether a pattern cannot match a string holding U+0000: anchored at both
 * ends (no top-level `|`), no `.`, and every class either names its characters
 * (none of them U+0000, \D, \S or \W) or is negated and excludes U+0000. Such
 * a pattern (an id, a date, a duration, a question) says enough as it is.
 */
function excludesNul(pattern: string): boolean {
  if (!pattern.startsWith("^") || !pattern.endsWith("$") || pattern.endsWith("\\$")) return false;
  let depth = 0;
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern[i];
    if (char === "\\") {
      const escape = escapeAt(pattern, i);
      if (MAY_BE_NUL.test(escape)) return false;
      i += escape.length - 1;
    } else if (char === "[") {
      const negated = pattern[i + 1] === "^";
      let excludes = false;
      for (i += negated ? 2 : 1; i < pattern.length && pattern[i] !== "]"; i++) {
        if (pattern[i] !== "\\") continue;
        const escape = escapeAt(pattern, i);
        if (negated && NUL_ESCAPE.test(escape)) excludes = true;
        if (!negated && MAY_BE_NUL.test(escape)) return false;
        i += escape.length - 1;
      }
      if (negated && !excludes) return false;
    } else if (char === ".") {
      return false;
    } else if (char === "(") {
      depth++;
    } else if (char === ")") {
      depth--;
    } else if (char === "|" && depth === 0) {
      return false;
    }
  }
  return true;
}

/** Every string of a request schema says it holds no U+0000, beside any pattern it already has. */
function forbidNul(node: unknown): void {
  if (Array.isArray(node)) {
    node.forEach(forbidNul);
    return;
  }
  if (typeof node !== "object" || node === null) return;
  const schema = node as Record<string, unknown>;
  for (const value of Object.values(schema)) forbidNul(value);
  const types = Array.isArray(schema.type) ? (schema.type as unknown[]) : [schema.type];
  if (!types.includes("string") || "enum" in schema || "const" in schema) return;
  if (typeof schema.pattern !== "string") schema.pattern = NO_NUL_PATTERN;
  // One `pattern` per schema: a second one goes under allOf.
  else if (!excludesNul(schema.pattern)) schema.allOf = [...((schema.allOf as unknown[] | undefined) ?? []), { pattern: NO_NUL_PATTERN }];
}

function jsonSchema(schema: z.ZodType, io: "input" | "output"): Record<string, unknown> {
  const converted = z.toJSONSchema(schema, { io, unrepresentable: "any" }) as Record<string, unknown>;
  delete converted.$schema;
  if (io === "input") forbidNul(converted);
  return converted;
}

/** `/consultations/:id` → `/consultations/{id}` */
function openApiPath(path: string): string {
  return path.replace(/:([A-Za-z_][A-Za-z0-9_]*)/g, "{$1}");
}

function parameters(schema: z.ZodObject | undefined, where: "path" | "query"): Array<Record<string, unknown>> {
  if (!schema) return [];
  const converted = jsonSchema(schema, "input") as { properties?: Record<string, Record<string, unknown>>; required?: string[] };
  return Object.entries(converted.properties ?? {}).map(([name, property]) => ({
    name,
    in: where,
    required: where === "path" || (converted.required ?? []).includes(name),
    schema: property,
  }));
}

const errorContent = { "application/json": { schema: { $ref: COMPONENT("Error") } } };

/** Statuses any authenticated route may answer besides its own success, and why. */
const COMMON_ERRORS: Record<string, string> = {
  "401": "Missing, invalid or expired credentials",
  "403": "The principal lacks the route's permission",
  "422": "Invalid parameters: `details.issues` names every failing field",
  "429": "Rate limited: wait `Retry-After` seconds",
  "503": "A dependency is unavailable; retry later",
};

function responses(route: ApiRoute): Record<string, unknown> {
  const out: Record<string, unknown> = {
    [String(route.successStatus ?? 200)]: {
      description: "Success",
      content: { "application/json": { schema: jsonSchema(route.response, "output") } },
    },
  };
  for (const [status, description] of Object.entries(COMMON_ERRORS)) {
    if (route.permission === null && (status === "401" || status === "403") && !route.path.startsWith("/auth/")) continue;
    out[status] = { description, content: errorContent };
  }
  if (route.body) out["413"] = { description: "Body larger than the limit", content: errorContent };
  if (route.pathParams) out["404"] = { description: "Not found", content: errorContent };
  // Whatever else can happen (400 malformed JSON, 415, 500, 504) has the same shape.
  out.default = { description: "Any other error", content: errorContent };
  return out;
}

/**
 * The OpenAPI 3.1 document of the REST API, built from the route table: the
 * zod schemas that validate each request are the ones documented (JSON Schema
 * 2020-12, which OpenAPI 3.1 uses as is).
 */
export function buildOpenApiDocument(options: {
  routes: readonly ApiRoute[];
  basePath: string;
  version: string;
  extra?: readonly ExtraOperation[];
}): OpenApiDocument {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of options.routes) {
    const path = `${options.basePath}${openApiPath(route.path)}`;
    const operation: Record<string, unknown> = {
      operationId: route.operationId,
      summary: route.summary,
      tags: [route.tag],
      description: route.permission ? `Requires permission \`${route.permission}\`.` : "Open to anonymous callers.",
      parameters: [...parameters(route.pathParams, "path"), ...parameters(route.query, "query")],
      responses: responses(route),
      ...(route.permission === null ? { security: [] } : {}),
    };
    if (route.body) {
      // An optional body (z.optional) may be left out entirely.
      const required = !route.body.safeParse(undefined).success;
      const body = route.body instanceof z.ZodOptional ? (route.body.unwrap() as z.ZodType) : route.body;
      operation.requestBody = { required, content: { "application/json": { schema: jsonSchema(body, "input") } } };
    }
    (paths[path] ??= {})[route.method.toLowerCase()] = operation;
  }
  for (const extra of options.extra ?? []) (paths[extra.path] ??= {})[extra.method] = extra.operation;

  return {
    openapi: "3.1.0",
    info: {
      title: "CORE API",
      version: options.version,
      description: "Consult the Circle of Experts, read consultations, costs and budgets, operate actors. Errors are `{ error: { code, message, details?, requestId } }`.",
    },
    servers: [{ url: "/" }],
    security: [{ bearer: [] }, { apiKey: [] }],
    components: {
      securitySchemes: {
        bearer: { type: "http", scheme: "bearer", description: "An access token from /api/v1/auth/login, or an API key (core_…)" },
        apiKey: { type: "apiKey", in: "header", name: "X-Api-Key" },
      },
      schemas: { Error: jsonSchema(errorResponseSchema, "output") },
    },
    paths,
  };
}
