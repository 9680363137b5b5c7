import { zipkinSpansUrl } from "../../../../lib/tracing/zipkin-endpoint";

describe("zipkinSpansUrl", () => {
  it.each([
    ["http://jaeger:9411", "http://jaeger:9411/api/v2/spans"],
    ["http://jaeger:9411/", "http://jaeger:9411/api/v2/spans"],
    ["http://jaeger:9411/api/v2/spans", "http://jaeger:9411/api/v2/spans"],
    ["https://collector.example.com/zipkin/api/v2/spans/", "https://collector.example.com/zipkin/api/v2/spans"],
    ["https://collector.example.com/zipkin", "https://collector.example.com/zipkin/api/v2/spans"],
  ])("%s → %s", (configured, expected) => {
    expect(zipkinSpansUrl(configured)).toBe(expected);
  });
});
