import { z } from "zod";
import { DEFAULT_CONSULT_TIMEOUT_MS } from "../circle/consult-request";
import { ValidationError } from "../errors";
import type { ApiRoute } from "../http/api-route";
import { API_ROUTES } from "../http/api-routes";
import { validateRequest } from "../http/validate-request";
import { mcpCallBodySchema, mcpCallParams, mcpCallPathSchema } from "../mcp-gateway/rest-schemas";
import type { CoreSubjects } from "../transport/subjects";

/**
 * One request/reply subject of the NATS ingress. Each mirrors a REST route
 * (lib/http/api-routes.ts) and takes from it what both edges must agree on:
 * the action, hence the permission the access-control middleware checks where
 * it runs; the rate-limit keys (`POST /api/v1/consult` limits consults over
 * NATS too, so a caller cannot double its rate by switching edge); and the
 * schemas, so both edges accept and refuse the same bodies.
 */
export interface IngressRoute {
  subject: string;
  action: string;
  /** The REST route it mirrors. */
  rest: ApiRoute;
  /** Written to the audit log at the edge, as REST does for the same action. */
  audited: boolean;
  /** The action's parameters from the message body; 422 naming every failing field. */
  toParams(body: unknown): Record<string, unknown>;
  /** The call's deadline when the message sets none (`Core-Timeout-Ms`); undefined: the action's default, as over REST. */
  defaultTimeoutMs(params: Record<string, unknown>): number | undefined;
}

/** `core.v1.mcp.call` takes in one body what REST spreads over path and body: `{ server, tool, arguments? }`. */
export const natsMcpCallSchema = z.strictObject({
  server: mcpCallPathSchema.shape.server,
  tool: mcpCallPathSchema.shape.tool,
  arguments: mcpCallBodySchema,
});

function restRoute(action: string): ApiRoute {
  const route = API_ROUTES.find((r) => r.action === action);
  if (!route) throw new Error(`No REST route calls ${action}: the NATS ingress mirrors one`);
  return route;
}

/** validateRequest against `route`, its error naming the subject rather than the REST path. */
function validated(subject: string, route: ApiRoute, body: unknown): Record<string, unknown> {
  try {
    return validateRequest(route, { path: {}, query: {}, body });
  } catch (err) {
    if (err instanceof ValidationError) throw new ValidationError(`Invalid request to ${subject}`, { issues: err.issues });
    throw err;
  }
}

/** The ingress's subjects (names from lib/transport/subjects.ts) and what each calls. */
export function ingressRoutes(subjects: CoreSubjects): IngressRoute[] {
  const consult = restRoute("circle.consult");
  const experts = restRoute("circle.experts");
  const mcpCall = restRoute("mcp-gateway.call");
  // The REST route's schemas with the path parameters moved into the body.
  const mcpCallInOneBody: ApiRoute = {
    ...mcpCall,
    pathParams: undefined,
    body: natsMcpCallSchema,
    toParams: ({ body }) => {
      const { server, tool, arguments: args } = body as z.output<typeof natsMcpCallSchema>;
      return mcpCallParams({ path: { server, tool }, body: args });
    },
  };
  return [
    {
      subject: subjects.consult,
      action: consult.action,
      rest: consult,
      audited: true,
      toParams: (body) => validated(subjects.consult, consult, body),
      // The consult's own deadline, so an answer with the experts that made it comes back before the call gives up.
      defaultTimeoutMs: (params) => (typeof params.timeoutMs === "number" ? params.timeoutMs : DEFAULT_CONSULT_TIMEOUT_MS),
    },
    {
      subject: subjects.expertsList,
      action: experts.action,
      rest: experts,
      audited: false,
      toParams: (body) => validated(subjects.expertsList, experts, body),
      defaultTimeoutMs: () => undefined,
    },
    {
      subject: subjects.mcpCall,
      action: mcpCall.action,
      rest: mcpCall,
      audited: false,
      toParams: (body) => validated(subjects.mcpCall, mcpCallInOneBody, body),
      defaultTimeoutMs: () => undefined,
    },
  ];
}
