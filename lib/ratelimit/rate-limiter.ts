import type { RateLimitConfig } from "../../config/file-schema";
import type { SharedStore, TokenBucket, TokenTake, TokenTakeRequest } from "../coordination/shared-store";
import { setBounded } from "../bounded-map";
import { ConfigError, RateLimitedError } from "../errors";
import { parseRoutePattern, routeKeyProblems, type RoutePattern } from "./route-pattern";
import { TokenLeases, type TokenLeaseOptions } from "./token-leases";

/**
 * Decides whether a request may pass the configured rate limits (token
 * buckets in the SharedStore, so every node of a cluster shares them):
 *
 * - `rateLimits.default`: one bucket per principal, drawn on by every request
 *   it makes, whatever the route.
 * - `rateLimits.routes[key]`: one bucket per principal and route key, drawn
 *   on by the requests that key matches (see route-pattern.ts). A request
 *   matched by several keys draws on each of their buckets.
 *
 * The principal is the authenticated identity, or for an anonymous request
 * its client address (lib/http/client-address.ts). A request passes only if
 * every bucket that applies holds a token, and all are taken in one atomic
 * store call: a refused request costs no bucket anything. No bucket applies
 * (nothing configured, or no default and no matching route): no store round
 * trip and no headers. A store failure (Redis down) is thrown as the store's
 * UnavailableError: the caller decides whether to fail open.
 *
 * With `leases` (a store shared over the network), a principal sending many
 * requests through one node has its tokens taken a few at a time, within the
 * bounds stated in token-leases.ts.
 */

export type RateLimitsConfig = { default?: RateLimitConfig | undefined; routes: Readonly<Record<string, RateLimitConfig>> };

export interface RateLimitRequest {
  /** The authenticated principal's id; undefined when the request is anonymous. */
  principalId: string | undefined;
  /** Where the request came from; the principal of an anonymous request. */
  clientAddress: string | undefined;
  method: string;
  /** The request path (a query string is ignored) or the route template it matched. */
  path: string;
}

export type RateLimitHeaders = Record<string, string>;

export type RateLimitDecision =
  | { allowed: true; headers: RateLimitHeaders }
  | {
      allowed: false;
      /** Includes `Retry-After`. */
      headers: RateLimitHeaders;
      /** Whole seconds, rounded up, at least 1: the same as the `Retry-After` header. */
      retryAfterSec: number;
      /** 429 RATE_LIMITED with `data.retryAfterSec`. */
      error: RateLimitedError;
    };

/** A principal's buckets by method, then by route. */
type RouteBuckets = Map<string, Map<string, readonly TokenTakeRequest[]>>;

interface RouteRule {
  pattern: RoutePattern;
  bucket: TokenBucket;
}

// Each part is percent-encoded, so no part holds the ':' that separates them: a
// principal id with colons (or an IPv6 address) cannot pass for another's key.
const part = (text: string) => encodeURIComponent(text);

function principalPart(request: RateLimitRequest): string {
  if (request.principalId !== undefined) return `id:${part(request.principalId)}`;
  return `addr:${part(request.clientAddress ?? "unknown")}`;
}

/** Principals whose buckets a limiter keeps built (the oldest forgotten first), and routes per principal. */
const PRINCIPALS_KEPT = 10_000;
const ROUTES_KEPT = 1_024;

/** Whole seconds (IETF RateLimit header fields and Retry-After count seconds), rounded up. */
const seconds = (ms: number) => Math.ceil(ms / 1000);

/**
 * The headers of one decision (draft-ietf-httpapi-ratelimit-headers, the
 * separate-fields form): they describe one bucket. When several applied, it is
 * the one that refused with the longest wait, else the one with the fewest
 * tokens left, as the draft asks for the policy closest to its limit.
 */
function headersFor(takes: readonly TokenTake[], refused: boolean): { headers: RateLimitHeaders; retryAfterSec: number } {
  const shown = takes.reduce((a, b) => {
    if (refused) return b.retryAfterMs > a.retryAfterMs ? b : a;
    return b.remaining < a.remaining || (b.remaining === a.remaining && b.resetMs > a.resetMs) ? b : a;
  });
  const headers: RateLimitHeaders = {
    "RateLimit-Limit": String(shown.limit),
    "RateLimit-Remaining": String(shown.remaining),
    "RateLimit-Reset": String(seconds(shown.resetMs)),
  };
  // Never "Retry-After: 0": a client would retry at once into the same refusal.
  const retryAfterSec = refused ? Math.max(1, seconds(shown.retryAfterMs)) : 0;
  if (refused) headers["Retry-After"] = String(retryAfterSec);
  return { headers, retryAfterSec };
}

export interface RateLimiterOptions {
  /** Take tokens from the store a few at a time for busy principals (token-leases.ts); off by default. */
  leases?: TokenLeaseOptions | boolean;
}

export class RateLimiter {
  private readonly perPrincipal: TokenBucket | undefined;
  private readonly routes: readonly RouteRule[];
  private readonly takes: Pick<SharedStore, "takeTokens">;
  private readonly leases: TokenLeases | undefined;
  /**
   * The buckets of recent principals (by id, or by address when anonymous), by method and route: a busy
   * principal's keys are built once, not on every request. Nested maps, because the id, method and route
   * strings arrive as the same instances request after request, with their hashes already computed.
   */
  private readonly built = { byId: new Map<string, RouteBuckets>(), byAddress: new Map<string, RouteBuckets>() };

  /** Throws ConfigError for route keys it cannot read (config/load-config.ts reports them at start already). */
  constructor(
    config: RateLimitsConfig,
    store: SharedStore,
    options: RateLimiterOptions = {},
  ) {
    const problems = routeKeyProblems(Object.keys(config.routes));
    if (problems.length) {
      throw new ConfigError("Invalid rate-limit route keys", {
        issues: problems.map(([key, expected]) => ({ field: `rateLimits.routes.${key}`, received: key, message: `expected ${expected}` })),
      });
    }
    this.perPrincipal = config.default;
    this.routes = Object.entries(config.routes).map(([key, bucket]) => {
      const parsed = parseRoutePattern(key) as { pattern: RoutePattern };
      return { pattern: parsed.pattern, bucket };
    });
    this.leases = options.leases ? new TokenLeases(store, options.leases === true ? {} : options.leases) : undefined;
    this.takes = this.leases ?? store;
  }

  /** Whether any limit is configured at all. */
  get enabled(): boolean {
    return this.perPrincipal !== undefined || this.routes.length > 0;
  }

  /** The buckets a request draws on, with their store keys (`rl:` and the parts they belong to). */
  bucketsFor(request: RateLimitRequest): readonly TokenTakeRequest[] {
    const anonymous = request.principalId === undefined;
    const principals = anonymous ? this.built.byAddress : this.built.byId;
    const principal = anonymous ? (request.clientAddress ?? "unknown") : request.principalId!;
    let routes = principals.get(principal);
    if (!routes) {
      routes = new Map();
      setBounded(principals, principal, routes, PRINCIPALS_KEPT);
    }
    let paths = routes.get(request.method);
    if (!paths) routes.set(request.method, (paths = new Map()));
    let takes = paths.get(request.path);
    if (!takes) {
      takes = Object.freeze(this.buildBuckets(request));
      if (paths.size < ROUTES_KEPT) paths.set(request.path, takes);
    }
    return takes;
  }

  private buildBuckets(request: RateLimitRequest): TokenTakeRequest[] {
    const who = principalPart(request);
    const takes: TokenTakeRequest[] = [];
    if (this.perPrincipal) takes.push({ key: `rl:p:${who}`, bucket: this.perPrincipal });
    for (const rule of this.routes) {
      if (rule.pattern.matches(request.method, request.path)) takes.push({ key: `rl:r:${part(rule.pattern.key)}:${who}`, bucket: rule.bucket });
    }
    return takes;
  }

  /**
   * The request's decision: at once, with no promise, when no bucket applies or this node holds leased
   * tokens for them (most requests of a busy principal); else from the store.
   */
  check(request: RateLimitRequest): RateLimitDecision | Promise<RateLimitDecision> {
    const buckets = this.bucketsFor(request);
    return this.decidedNow(buckets) ?? this.takes.takeTokens(buckets).then(decide);
  }

  private decidedNow(buckets: readonly TokenTakeRequest[]): RateLimitDecision | undefined {
    if (!buckets.length) return { allowed: true, headers: {} };
    const leased = this.leases?.takeLeased(buckets);
    return leased && decide(leased);
  }
}

/** A request's decision from what its buckets answered. */
function decide(takes: readonly TokenTake[]): RateLimitDecision {
  const refused = takes.some((t) => !t.allowed);
  const { headers, retryAfterSec } = headersFor(takes, refused);
  if (!refused) return { allowed: true, headers };
  const error = new RateLimitedError(`Too many requests: retry in ${retryAfterSec} s`, { data: { retryAfterSec } });
  return { allowed: false, headers, retryAfterSec, error };
}
