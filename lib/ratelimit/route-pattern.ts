/**
 * The route keys of `rateLimits.routes`, and how a request is matched to them.
 *
 * A key is `[METHOD ]PATH`:
 * - METHOD is an HTTP method (any case) or `*`; without one, any method
 *   matches. HEAD is its own method: `GET /x` does not cover `HEAD /x`.
 *   The pseudo-method `MCP` names tool calls through the MCP gateway, whose
 *   path is `/<server>/<tool>` (`MCP /github/*`; see
 *   lib/mcp-gateway/tool-rate-limits.ts).
 * - PATH starts with `/`. A segment `:name` matches any one segment; a last
 *   segment `*` matches whatever follows, nothing included
 *   (`/api/v1/*` covers `/api/v1` and everything under it).
 *
 * The request path is compared without its query string, segment by segment,
 * case-insensitively (the router matches case-insensitively too), after
 * percent-decoding, ignoring empty segments (`//`, a trailing `/`): so a
 * client cannot slip past a limit by respelling a path that still reaches
 * the same action. The gateway may pass the request's path or the route
 * template it matched (`/api/v1/consultations/:id`); both match.
 */

const METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "MCP"]);

export interface RoutePattern {
  /** One spelling per pattern, e.g. `POST /api/v1/consult`, `* /api/v1/*`: names its buckets. */
  readonly key: string;
  matches(method: string, path: string): boolean;
}

function decoded(segment: string): string {
  try {
    return decodeURIComponent(segment).toLowerCase();
  } catch {
    return segment.toLowerCase();
  }
}

function requestSegments(path: string): string[] {
  return path.replace(/[?#].*$/s, "").split("/").filter(Boolean).map(decoded);
}

class CompiledPattern implements RoutePattern {
  readonly key: string;

  constructor(
    private readonly method: string,
    private readonly segments: readonly string[],
  ) {
    this.key = `${method} /${segments.join("/")}`;
  }

  matches(method: string, path: string): boolean {
    if (this.method !== "*" && method.toUpperCase() !== this.method) return false;
    const request = requestSegments(path);
    for (let i = 0; i < this.segments.length; i++) {
      const want = this.segments[i]!;
      if (want === "*") return true;
      const got = request[i];
      if (got === undefined || (!want.startsWith(":") && want !== got)) return false;
    }
    return request.length === this.segments.length;
  }
}

/** The pattern a route key stands for, or why it is not one (the text completes "expected …"). */
export function parseRoutePattern(text: string): { pattern: RoutePattern } | { error: string } {
  const expected = "a route key `[METHOD ]/path`, e.g. `POST /api/v1/consult`, `/api/v1/consultations/:id` or `GET /api/v1/*`";
  const match = /^(?:(\S+)\s+)?(\/\S*)$/.exec(text.trim());
  if (!match) return { error: expected };
  const method = (match[1] ?? "*").toUpperCase();
  if (method !== "*" && !METHODS.has(method)) return { error: `an HTTP method (${[...METHODS].join(", ")} or *) before the path` };
  const segments = match[2]!.split("/").filter(Boolean);
  for (const [i, segment] of segments.entries()) {
    if (segment === "*" ? i !== segments.length - 1 : segment.includes("*")) return { error: "`*` only as the whole last segment of the path" };
    if (/[?#]/.test(segment)) return { error: "a path without query string or fragment" };
    if (segment.startsWith(":") && !/^:[A-Za-z0-9_]+$/.test(segment)) return { error: "`:name` parameters of letters, digits and '_'" };
  }
  return { pattern: new CompiledPattern(method, segments.map((s) => (s.startsWith(":") ? s : decoded(s)))) };
}

/** The problems with a configuration's route keys, as `[key, what is expected]` pairs: used to report them at start. */
export function routeKeyProblems(keys: readonly string[]): Array<[string, string]> {
  const problems: Array<[string, string]> = [];
  const seen = new Map<string, string>();
  for (const key of keys) {
    const parsed = parseRoutePattern(key);
    if ("error" in parsed) {
      problems.push([key, parsed.error]);
      continue;
    }
    const twin = seen.get(parsed.pattern.key);
    if (twin !== undefined) problems.push([key, `a route key unlike the others (it means the same as ${JSON.stringify(twin)})`]);
    else seen.set(parsed.pattern.key, key);
  }
  return problems;
}
