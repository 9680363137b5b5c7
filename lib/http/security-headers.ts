/**
 * Headers every answer carries. The API serves JSON only, so its content
 * policy forbids everything; the API reference page loads its own script and
 * style from this server and nothing else.
 */
export const API_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "X-Content-Type-Options": "nosniff",
  "X-Frame-Options": "DENY",
  "Referrer-Policy": "no-referrer",
  "Cross-Origin-Resource-Policy": "same-origin",
  "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
  "Cache-Control": "no-store",
};

export const DOCS_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  ...API_SECURITY_HEADERS,
  "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'",
  "Cache-Control": "public, max-age=300",
};

/** The headers a browser needs for cross-origin calls from the configured origins (none configured: no CORS at all). */
export function corsOptions(origins: readonly string[]): Record<string, unknown> | undefined {
  if (origins.length === 0) return undefined;
  return {
    origin: origins.includes("*") ? "*" : [...origins],
    methods: ["GET", "POST", "DELETE", "OPTIONS"],
    allowedHeaders: ["Authorization", "Content-Type", "X-Api-Key", "X-Request-Id"],
    exposedHeaders: ["X-Request-Id", "X-Trace-Id", "RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset", "Retry-After"],
    credentials: false,
    maxAge: 600,
  };
}
