import type { Context, ServiceSchema } from "moleculer";
import { AuditLog, type AuditOutcome } from "../lib/audit";
import { parseDuration } from "../lib/security/duration";
import { PUBLIC } from "../lib/security/permission";
import type { SignedIn, TokenPair } from "../lib/security/authenticator";
import { requires } from "../mixins/action-permission";
import { auditContextOf } from "../mixins/audit-source";
import { outcomeOf } from "../mixins/edge-auditor";
import { API_KEY_REVOKED_EVENT, authenticatorOf } from "../mixins/node-authenticator";
import type { NodeRuntime } from "../mixins/node-runtime";
import { principalOf } from "../mixins/principal";
import { toCoreError } from "../mixins/to-core-error";

type Ctx = Context<Record<string, unknown>, Record<string, unknown>>;

const tokensOf = (signedIn: SignedIn): TokenPair => signedIn.tokens;

/** Who creates something: the signed-in principal, else where the in-cluster call came from (`cli`). */
function creatorOf(meta: Record<string, unknown>): string {
  return meta.principal ? principalOf(meta).id : (auditContextOf(meta).source ?? "system");
}

/**
 * Identities: logins (access + rotating refresh tokens), API keys and users.
 * Thin glue over lib/security's Authenticator; every change and every login
 * attempt is written to the audit log before the answer leaves.
 */
export default function createAuthService(runtime: NodeRuntime): ServiceSchema {
  const auth = () => authenticatorOf(runtime);
  const audit = runtime.store ? AuditLog.of(runtime.store) : undefined;

  /** Runs `work`, then records who did it, to what, and how it ended (denied for 401/403, failed otherwise). */
  async function audited<T>(ctx: Ctx, action: string, target: (result: T | undefined) => string | null, work: () => Promise<T>, principal?: (result: T) => string): Promise<T> {
    const { source, requestId } = auditContextOf(ctx.meta);
    let result: T | undefined;
    let outcome: AuditOutcome = "ok";
    let details: Record<string, unknown> = {};
    try {
      result = await work();
      return result;
    } catch (err) {
      const core = toCoreError(err);
      outcome = outcomeOf(core);
      details = { error: core.code };
      throw err;
    } finally {
      await audit?.append({
        principal: result !== undefined && principal ? principal(result) : principalOf(ctx.meta).id,
        action,
        target: target(result),
        source,
        outcome,
        requestId,
        details,
      });
    }
  }

  return {
    name: "auth",
    actions: {
      login: requires(PUBLIC, {
        params: { email: { type: "string", max: 320 }, password: { type: "string", max: 1024 }, $$strict: true },
        handler(ctx: Ctx) {
          const { email, password } = ctx.params as { email: string; password: string };
          return audited(ctx, "auth.login", () => email, () => auth().login(email, password), (s) => s.principal.id).then(tokensOf);
        },
      }),
      refresh: requires(PUBLIC, {
        params: { refreshToken: { type: "string", max: 512 }, $$strict: true },
        handler(ctx: Ctx) {
          return audited(ctx, "auth.refresh", () => null, () => auth().refresh(ctx.params.refreshToken as string), (s) => s.principal.id).then(tokensOf);
        },
      }),
      logout: requires(PUBLIC, {
        params: { refreshToken: { type: "string", max: 512 }, $$strict: true },
        async handler(ctx: Ctx) {
          return { revoked: await audited(ctx, "auth.logout", () => null, () => auth().logout(ctx.params.refreshToken as string)) };
        },
      }),
      me: requires("profile:read", {
        handler(ctx: Ctx) {
          const p = ctx.meta.principal as { id?: string; kind?: string; roles?: string[]; scopes?: string[] } | undefined;
          if (!p?.id) return { id: "system", kind: "system", roles: [] };
          return { id: p.id, kind: p.kind ?? "user", roles: p.roles ?? [], ...(p.scopes && p.scopes.length ? { scopes: p.scopes } : {}) };
        },
      }),
      createKey: requires("admin:keys", {
        params: {
          name: { type: "string", min: 1, max: 100 },
          role: { type: "string", min: 1, max: 63 },
          scopes: { type: "array", items: "string", max: 32, optional: true },
          expiresIn: { type: "string", max: 16, optional: true },
          $$strict: true,
        },
        handler(ctx: Ctx) {
          const p = ctx.params as { name: string; role: string; scopes?: string[]; expiresIn?: string };
          const expiresAt = p.expiresIn === undefined ? undefined : new Date(Date.now() + parseDuration(p.expiresIn));
          return audited(
            ctx,
            "keys.create",
            (key) => key?.id ?? null,
            () => auth().createApiKey({ name: p.name, role: p.role, createdBy: creatorOf(ctx.meta), ...(p.scopes ? { scopes: p.scopes } : {}), ...(expiresAt ? { expiresAt } : {}) }),
          );
        },
      }),
      listKeys: requires("admin:keys", {
        handler: () => auth().listApiKeys(),
      }),
      revokeKey: requires("admin:keys", {
        params: { id: { type: "string", min: 1, max: 64 }, $$strict: true },
        async handler(ctx: Ctx) {
          const id = ctx.params.id as string;
          const revoked = await audited(ctx, "keys.revoke", () => id, () => auth().revokeApiKey(id));
          // Every node drops its cached copy of the key's row now, not when the copy expires.
          await ctx.broadcast(API_KEY_REVOKED_EVENT, { id });
          return revoked;
        },
      }),
      createUser: requires("admin:users", {
        params: { email: { type: "string", max: 320 }, password: { type: "string", max: 1024 }, role: { type: "string", max: 63 }, $$strict: true },
        handler(ctx: Ctx) {
          const p = ctx.params as { email: string; password: string; role: string };
          return audited(ctx, "users.create", (user) => user?.id ?? p.email, () => auth().createUser(p));
        },
      }),
    },
  };
}
