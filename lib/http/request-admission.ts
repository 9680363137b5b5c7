import type { CoreError } from "../errors";
import type { Logger } from "../logger";
import type { RateLimiter } from "../ratelimit/rate-limiter";
import { credentialFromHeaders } from "../security/authenticator";
import type { AuthenticatedPrincipal } from "../security/principal";
import { clientAddress, type TrustedProxies } from "./client-address";

export interface AdmissionRequest {
  method: string;
  /** The route template, e.g. `/api/v1/consultations/:id`: rate limits are per route, not per URL. */
  routePath: string;
  /** True for routes anonymous callers may use (login, refresh): a credential is then optional. */
  anonymous: boolean;
  headers: Readonly<Record<string, string | readonly string[] | undefined>>;
  /** The socket's peer address. */
  peer: string | undefined;
}

/** What the admission tells about requests it refuses (metrics); lib/ stays free of the broker. */
export interface AdmissionObserver {
  /** A request refused by its rate limits (429): `route` is its route template, e.g. `/api/v1/consult`. */
  rateLimited(method: string, route: string): void;
}

export type Admission =
  | { admitted: true; principal: AuthenticatedPrincipal | undefined; clientAddress: string | undefined; headers: Record<string, string> }
  | { admitted: false; error: CoreError; clientAddress: string | undefined; headers: Record<string, string> };

/**
 * The edge's first steps for a request, before its parameters are looked at:
 * who is calling (401 when that cannot be established, or when a protected
 * route gets no credential at all), from where (X-Forwarded-For only through
 * trusted proxies), and whether its rate limits hold (429). The permission
 * itself is checked where the action runs (mixins/access-control.middleware).
 */
export class RequestAdmission {
  private warnedStoreDown = 0;

  constructor(
    private readonly authenticate: (credential: string | undefined) => Promise<AuthenticatedPrincipal>,
    private readonly limiter: RateLimiter | undefined,
    private readonly proxies: TrustedProxies,
    private readonly logger: Logger,
    private readonly observer?: AdmissionObserver,
  ) {}

  async admit(request: AdmissionRequest): Promise<Admission> {
    const address = clientAddress(request.peer, request.headers["x-forwarded-for"], this.proxies);
    const credential = credentialFromHeaders(request.headers);
    let principal: AuthenticatedPrincipal | undefined;
    if (credential !== undefined || !request.anonymous) {
      try {
        principal = await this.authenticate(credential);
      } catch (err) {
        return { admitted: false, error: err as CoreError, clientAddress: address, headers: { "WWW-Authenticate": 'Bearer realm="core"' } };
      }
    }
    if (!this.limiter?.enabled) return { admitted: true, principal, clientAddress: address, headers: {} };
    try {
      const checked = this.limiter.check({ principalId: principal?.id, clientAddress: address, method: request.method, path: request.routePath });
      const decision = checked instanceof Promise ? await checked : checked;
      if (!decision.allowed) {
        this.observer?.rateLimited(request.method, request.routePath);
        return { admitted: false, error: decision.error, clientAddress: address, headers: decision.headers };
      }
      return { admitted: true, principal, clientAddress: address, headers: decision.headers };
    } catch (err) {
      // Shared counters unreachable (Redis down): serve unlimited rather than refuse everyone; say so once a minute.
      const now = Date.now();
      if (now - this.warnedStoreDown > 60_000) {
        this.warnedStoreDown = now;
        this.logger.warn(`Rate limits not enforced: the shared store is unavailable (${(err as Error).message})`);
      }
      return { admitted: true, principal, clientAddress: address, headers: {} };
    }
  }
}
