/** Tags of a span: flat values, as Zipkin and Jaeger show them. */
export type SpanTags = Record<string, string | number | boolean | undefined>;

/**
 * Runs `work` as a named step of the trace of the call that runs it (a child
 * span of that call's span, with `tags`), and returns what `work` returns.
 * lib/ code takes one of these from its caller, so it stays free of Moleculer;
 * `untraced` is the one to use when there is no trace.
 */
export type TraceStep = <T>(name: string, work: () => Promise<T>, tags?: SpanTags) => Promise<T>;

export const untraced: TraceStep = (_name, work) => work();
