import { DEFAULT_ROLES } from "../../../config/default-roles";
import { ForbiddenError } from "../../../lib/errors";
import { AccessPolicy } from "../../../lib/security/access-policy";
import { PUBLIC, type PermissionSpec } from "../../../lib/security/permission";
import { AccessControlMiddleware } from "../../../mixins/access-control.middleware";

type Handler = (ctx: unknown) => Promise<unknown>;
interface Hooks {
  localAction(next: Handler, action: { name: string; permission?: PermissionSpec }): Handler;
}

const mw = AccessControlMiddleware(new AccessPolicy(DEFAULT_ROLES)) as unknown as Hooks;
const ok: Handler = () => Promise.resolve("ran");
const guard = (permission: PermissionSpec | undefined) => mw.localAction(ok, { name: "svc.act", ...(permission === undefined ? {} : { permission }) });
const ctx = (principal: unknown, extra: Record<string, unknown> = {}) => ({ level: 1, params: {}, meta: principal === undefined ? {} : { principal }, ...extra });

describe("AccessControlMiddleware", () => {
  it("lets a principal through when one of its roles grants the action's permission", async () => {
    await expect(guard("consult:run")(ctx({ id: "u1", roles: ["operator"] }))).resolves.toBe("ran");
  });

  it("answers FORBIDDEN naming the principal, its roles and the missing permission", async () => {
    const err = await guard("consult:run")(ctx({ id: "u2", roles: ["viewer"] })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ForbiddenError);
    expect((err as ForbiddenError).status).toBe(403);
    expect((err as ForbiddenError).message).toBe("u2 (role viewer) lacks permission consult:run for svc.act");
    expect((err as ForbiddenError).data).toEqual({ action: "svc.act", permission: "consult:run" });
  });

  it("computes a permission from the call's parameters", async () => {
    const tool = guard((p) => `mcp:call:${String(p.server)}/${String(p.tool)}`);
    const restricted = AccessControlMiddleware(new AccessPolicy({ r: { permissions: ["mcp:call:fs/*"], inherits: [] } })) as unknown as Hooks;
    const call = restricted.localAction(ok, { name: "mcp.call", permission: (p) => `mcp:call:${String(p.server)}/${String(p.tool)}` });
    await expect(call(ctx({ id: "k", roles: ["r"] }, { params: { server: "fs", tool: "read" } }))).resolves.toBe("ran");
    await expect(call(ctx({ id: "k", roles: ["r"] }, { params: { server: "git", tool: "log" } }))).rejects.toBeInstanceOf(ForbiddenError);
    await expect(tool(ctx({ id: "o", roles: ["operator"] }, { params: { server: "git", tool: "log" } }))).resolves.toBe("ran");
  });

  it("lets calls without a principal pass: they come from inside the cluster", async () => {
    await expect(guard("admin:keys")(ctx(undefined))).resolves.toBe("ran");
    await expect(guard(undefined)(ctx(undefined))).resolves.toBe("ran");
  });

  it("adds nothing to actions without a permission (internal) or open to anyone", () => {
    expect(mw.localAction(ok, { name: "expert.a.ask" })).toBe(ok);
  });

  it("opens PUBLIC actions to anyone, and treats a malformed principal as holding no role", async () => {
    expect(mw.localAction(ok, { name: "auth.login", permission: PUBLIC })).toBe(ok);
    await expect(guard("consultations:read")(ctx({ id: 7, roles: "admin" }))).rejects.toBeInstanceOf(ForbiddenError);
    await expect(guard("consultations:read")(ctx(null))).resolves.toBe("ran");
  });

  it("narrows a scoped API key to its scopes", async () => {
    await expect(guard("consult:run")(ctx({ id: "key1", roles: ["admin"], scopes: ["consultations:read"] }))).rejects.toBeInstanceOf(ForbiddenError);
    await expect(guard("consultations:read")(ctx({ id: "key1", roles: ["admin"], scopes: ["consultations:read"] }))).resolves.toBe("ran");
  });
});
