import { spanParams } from "../../../../lib/tracing/span-params";

describe("spanParams", () => {
  it("redacts secrets as log lines do, and leaves the rest", () => {
    const params = { email: "a@b.c", password: "hunter2-hunter2", note: "key sk-ant-api03-AbCdEf0123456789AbCdEf0123", maxTokens: 50 };
    const tags = spanParams(params) as Record<string, unknown>;
    expect(tags).toMatchObject({ email: "a@b.c", password: "[redacted]", maxTokens: 50 });
    expect(JSON.stringify(tags)).not.toContain("hunter2");
    expect(JSON.stringify(tags)).not.toContain("AbCdEf0123456789");
    expect(params.password).toBe("hunter2-hunter2");
  });

  it("bounds what a span carries: long strings cut, deep and large structures cut short", () => {
    const question = "Why is the sky blue? ".repeat(10_000);
    const tags = spanParams({ question, deep: { a: { b: { c: { d: { e: 1 } } } } }, list: Array.from({ length: 500 }, (_, i) => i) });
    const text = JSON.stringify(tags);
    expect(text.length).toBeLessThan(4_000);
    expect((tags as { question: string }).question.length).toBeLessThanOrEqual(300);
    expect(text).toContain("[too deep]");
    expect(text).toContain("[truncated]");
  });

  it("passes scalars and nothing through", () => {
    expect(spanParams(undefined)).toBeUndefined();
    expect(spanParams(null)).toBeNull();
    expect(spanParams(42)).toBe(42);
  });
});
