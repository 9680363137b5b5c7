import { ServiceBroker, type Span } from "moleculer";
import { untraced } from "../../../lib/tracing/trace-step";
import { CLIENT_SPAN } from "../../../mixins/tracing-exporter";
import { traceStepOf } from "../../../mixins/tracing-step";

/** A broker whose tracer keeps the spans it finishes (no exporter: spanFinished is watched). */
async function recordingBroker(): Promise<{ broker: ServiceBroker; finished: Span[] }> {
  const broker = new ServiceBroker({ nodeID: "step", logger: false, tracing: { enabled: true, exporter: null } });
  const finished: Span[] = [];
  const original = broker.tracer.spanFinished.bind(broker.tracer);
  broker.tracer.spanFinished = (span: Span) => {
    finished.push(span);
    original(span);
  };
  await broker.start();
  return { broker, finished };
}

describe("traceStepOf", () => {
  it("runs a step as a child span of the call's span, with its tags; the call's own span stays the parent of its calls", async () => {
    const { broker, finished } = await recordingBroker();
    const parent = broker.tracer.startSpan("action 'circle.consult'", { service: "circle" });
    const ctx = { span: parent };
    const step = traceStepOf(ctx, "postgres");
    await expect(step("store.save consultation", async () => 7, { consultation: "c-1" })).resolves.toBe(7);
    expect(ctx.span).toBe(parent);
    expect(finished).toHaveLength(1);
    expect(finished[0]).toMatchObject({ name: "store.save consultation", type: CLIENT_SPAN, traceID: parent.traceID, parentID: parent.id, tags: { consultation: "c-1", "peer.service": "postgres" } });
    expect(finished[0]!.duration).toBeGreaterThanOrEqual(0);
    await broker.stop();
  });

  it("a failing step: its span records the error, the error goes on unchanged", async () => {
    const { broker, finished } = await recordingBroker();
    const ctx = { span: broker.tracer.startSpan("action 'expert.gpt.ask'") };
    const boom = Object.assign(new Error("provider said 500"), { code: "PROVIDER_UNAVAILABLE" });
    await expect(traceStepOf(ctx)("openai completion", () => Promise.reject(boom))).rejects.toBe(boom);
    expect(finished[0]).toMatchObject({ name: "openai completion", type: "custom", error: boom });
    await broker.stop();
  });

  it("without tracing, or for a request not sampled, steps just run", async () => {
    expect(traceStepOf({ span: null })).toBe(untraced);
    const { broker, finished } = await recordingBroker();
    const unsampled = broker.tracer.startSpan("action 'x'", { sampled: false });
    const step = traceStepOf({ span: unsampled });
    expect(step).toBe(untraced);
    await expect(step("s", async () => "ran")).resolves.toBe("ran");
    expect(finished).toHaveLength(0);
    await broker.stop();
  });
});
