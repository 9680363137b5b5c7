import { redact } from "../security/redact";

/**
 * Bounds for a call's params recorded on its span: enough to see what was
 * asked, never a whole document (a consult's question may be 200 KB) in
 * every span of a trace.
 */
const SPAN_PARAMS = { maxDepth: 4, maxNodes: 64, maxStringLength: 256, maxTotalChars: 4_096 } as const;

/**
 * A call's params as its span records them: secrets redacted (passwords,
 * keys, tokens — the same rules as log lines), long strings cut, deep or big
 * structures bounded. Spans leave the node for Jaeger, so they get no more
 * than a log line would.
 */
export function spanParams(params: unknown): unknown {
  return redact(params, SPAN_PARAMS);
}
