import { corsOptions } from "../http/security-headers";

/** The CORS options of `/mcp`: the API's, plus the headers Streamable HTTP sends and reads (none configured: no CORS). */
export function mcpCorsOptions(origins: readonly string[]): Record<string, unknown> | undefined {
  const base = corsOptions(origins);
  if (!base) return undefined;
  return {
    ...base,
    allowedHeaders: [...(base.allowedHeaders as string[]), "Mcp-Session-Id", "Mcp-Protocol-Version", "Last-Event-ID"],
    exposedHeaders: [...(base.exposedHeaders as string[]), "Mcp-Session-Id"],
  };
}
