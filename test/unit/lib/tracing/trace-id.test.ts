import { newTraceId, TRACE_ID, zipkinSpanId, zipkinTraceId } from "../../../../lib/tracing/trace-id";

describe("trace ids", () => {
  it("newTraceId: 32 lower-case hex digits, never the same twice (across refills of its random pool)", () => {
    const ids = Array.from({ length: 2_000 }, () => newTraceId());
    for (const id of ids) expect(id).toMatch(TRACE_ID);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("zipkinTraceId keeps CORE's ids and 64-bit hex ids as they are, drops a UUID's dashes", () => {
    const id = newTraceId();
    expect(zipkinTraceId(id)).toBe(id);
    expect(zipkinTraceId("463AC35C9F6413AD")).toBe("463ac35c9f6413ad");
    expect(zipkinTraceId("0f8e1a5c-2b3d-4e6f-8a9b-0c1d2e3f4a5b")).toBe("0f8e1a5c2b3d4e6f8a9b0c1d2e3f4a5b");
  });

  it("zipkinTraceId turns anything else into a stable 128-bit hex id, different for different inputs", () => {
    const a = zipkinTraceId("req-1");
    expect(a).toMatch(TRACE_ID);
    expect(zipkinTraceId("req-1")).toBe(a);
    expect(zipkinTraceId("req-2")).not.toBe(a);
    expect(zipkinTraceId("abc")).toMatch(TRACE_ID);
  });

  it("zipkinSpanId: the first 64 bits, as 16 hex digits", () => {
    const id = newTraceId();
    expect(zipkinSpanId(id)).toBe(id.slice(0, 16));
    expect(zipkinSpanId("0f8e1a5c-2b3d-4e6f-8a9b-0c1d2e3f4a5b")).toBe("0f8e1a5c2b3d4e6f");
    expect(zipkinSpanId("not hex")).toMatch(/^[0-9a-f]{16}$/);
  });
});
