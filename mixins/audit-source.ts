/**
 * Where a call came from and which request it serves, as the edges put them
 * in `ctx.meta` (`source`: the client address, or `cli`, `nats`, `mcp`;
 * `requestId`): what an audit row records besides the principal.
 */
export function auditContextOf(meta: Record<string, unknown>): { source: string | null; requestId: string | null } {
  return {
    source: typeof meta.source === "string" ? meta.source : null,
    requestId: typeof meta.requestId === "string" ? meta.requestId : null,
  };
}
