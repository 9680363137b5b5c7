/** Where a Zipkin collector (Jaeger's included) takes spans, relative to its base URL. */
export const ZIPKIN_SPANS_PATH = "/api/v2/spans";

/**
 * The URL spans are POSTed to, from CORE_TRACING_URL: the collector's base
 * (`http://jaeger:9411`) or the full endpoint (`http://jaeger:9411/api/v2/spans`),
 * with or without a trailing slash, name the same place.
 */
export function zipkinSpansUrl(configured: string): string {
  const base = configured.replace(/\/+$/, "");
  return base.endsWith(ZIPKIN_SPANS_PATH) ? base : `${base}${ZIPKIN_SPANS_PATH}`;
}
