import type { Context } from "moleculer";
import { loadConfig } from "../../config";
import { CoreZipkinExporter } from "../../mixins/tracing-exporter";
import { actionSpanTags } from "../../mixins/tracing-options";
import { createBrokerOptions } from "../../moleculer.config";
import { configError } from "../helpers/config-error";

type Tracing = { enabled: boolean; exporter?: unknown[]; sampling?: { rate: number }; defaultTags?: Record<string, unknown>; tags?: { action?: unknown }; events?: boolean };
const tracingOf = (env: Record<string, string>) => createBrokerOptions(loadConfig({ CORE_NODE_ID: "n1", ...env })).tracing as Tracing;
const middlewareNames = (env: Record<string, string>) => (createBrokerOptions(loadConfig(env)).middlewares as Array<{ name: string }>).map((m) => m.name);

describe("tracing settings (CORE_TRACING*)", () => {
  it("off by default", () => {
    expect(tracingOf({})).toEqual({ enabled: false });
    expect(loadConfig({}).tracing).toEqual({ exporter: "none", url: "http://127.0.0.1:9411", flushMs: 5_000, sampleRate: 1 });
  });

  it("zipkin: CORE's Zipkin exporter to CORE_TRACING_URL every CORE_TRACING_FLUSH_MS, sampled at CORE_TRACING_SAMPLE, every span tagged with its node", () => {
    const t = tracingOf({ CORE_TRACING: "zipkin", CORE_TRACING_URL: "http://jaeger:9411/api/v2/spans", CORE_TRACING_FLUSH_MS: "250", CORE_TRACING_SAMPLE: "0.25" });
    expect(t).toMatchObject({ enabled: true, sampling: { rate: 0.25 }, events: false, defaultTags: { nodeID: "n1" }, tags: { action: actionSpanTags } });
    expect(t.exporter![0]).toBeInstanceOf(CoreZipkinExporter);
    const exporter = t.exporter![0] as { opts: { interval: number }; spansUrl: string };
    expect(exporter.opts.interval).toBe(0.25);
    expect(exporter.spansUrl).toBe("http://jaeger:9411/api/v2/spans");
  });

  it("console: Moleculer's console exporter", () => {
    expect(tracingOf({ CORE_TRACING: "console" })).toMatchObject({ enabled: true, exporter: [{ type: "Console" }], sampling: { rate: 1 } });
  });

  it("refuses a share outside 0..1 and a flush interval that is not a positive integer, saying what is expected", () => {
    expect(configError({ CORE_TRACING_SAMPLE: "1.5" }).issues[0]).toMatchObject({ field: "CORE_TRACING_SAMPLE", message: expect.stringContaining("a number from 0 to 1") });
    expect(configError({ CORE_TRACING_SAMPLE: "half" }).issues[0]).toMatchObject({ field: "CORE_TRACING_SAMPLE" });
    expect(configError({ CORE_TRACING_FLUSH_MS: "0" }).issues[0]).toMatchObject({ field: "CORE_TRACING_FLUSH_MS", message: expect.stringContaining("a positive integer") });
    for (const ok of ["0", "1", "0.5", ".5", "1.0"]) expect(loadConfig({ CORE_TRACING_SAMPLE: ok }).tracing.sampleRate).toBe(Number(ok));
  });

  it("every context id (so every trace id) is 32 hex digits", () => {
    const { uidGenerator } = createBrokerOptions(loadConfig({}));
    const ids = Array.from({ length: 100 }, () => uidGenerator!());
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{32}$/);
    expect(new Set(ids).size).toBe(100);
  });
});

describe("trace ids in log lines (CORE_LOG_TRACE_IDS)", () => {
  it("on with tracing or debug logs, off otherwise; CORE_LOG_TRACE_IDS decides when set", () => {
    expect(loadConfig({}).log.traceIds).toBe(false);
    expect(loadConfig({ CORE_TRACING: "zipkin" }).log.traceIds).toBe(true);
    expect(loadConfig({ CORE_LOG_LEVEL: "debug" }).log.traceIds).toBe(true);
    expect(loadConfig({ CORE_LOG_TRACE_IDS: "on" }).log.traceIds).toBe(true);
    expect(loadConfig({ CORE_TRACING: "zipkin", CORE_LOG_TRACE_IDS: "false" }).log.traceIds).toBe(false);
    expect(configError({ CORE_LOG_TRACE_IDS: "sometimes" }).issues[0]).toMatchObject({ field: "CORE_LOG_TRACE_IDS", message: expect.stringContaining("true or false") });
  });

  it("the trace-context middleware is there only then, outermost of CORE's", () => {
    expect(middlewareNames({})).not.toContain("CoreTraceContext");
    const on = middlewareNames({ CORE_LOG_TRACE_IDS: "true" });
    expect(on.at(-1)).toBe("CoreTraceContext");
  });
});

describe("what an action's span records (actionSpanTags)", () => {
  const ctx = (params: unknown, meta: Record<string, unknown> = {}) => ({ params, meta }) as unknown as Context;

  it("params with secrets redacted, the caller, and the client's request id", () => {
    const tags = actionSpanTags(ctx({ email: "a@b.c", password: "hunter2-hunter2" }, { principal: { id: "u-1", roles: ["admin"] }, requestId: "client-7" }));
    expect(tags).toEqual({ params: { email: "a@b.c", password: "[redacted]" }, principal: "u-1", requestId: "client-7" });
  });

  it("nothing for a call whose request is not sampled (its span is never sent)", () => {
    expect(actionSpanTags({ ...ctx({ password: "x" }, { principal: { id: "u-1" } }), tracing: false } as unknown as Context)).toEqual({});
  });

  it("nothing more when the span ends (the response is not recorded)", () => {
    expect(actionSpanTags(ctx({ q: 1 }), { answer: "secret answer" })).toEqual({});
    expect(actionSpanTags(ctx({ q: 1 }), undefined)).toEqual({});
  });
});
