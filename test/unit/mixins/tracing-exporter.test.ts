import { ServiceBroker, type Span } from "moleculer";
import { newTraceId, zipkinSpanId } from "../../../lib/tracing/trace-id";
import { CoreZipkinExporter, type CoreZipkinExporterOptions } from "../../../mixins/tracing-exporter";
import { traceStepOf } from "../../../mixins/tracing-step";
import { freePort } from "../../helpers/free-port";
import { waitFor } from "../../helpers/wait";
import { ZipkinReceiver } from "../../helpers/zipkin-receiver";

let receiver: ZipkinReceiver;
const brokers: ServiceBroker[] = [];

beforeAll(async () => {
  receiver = await ZipkinReceiver.start();
});
afterAll(async () => {
  await Promise.all(brokers.map((b) => b.stop().catch(() => undefined)));
  await receiver.close();
});
beforeEach(() => {
  receiver.spans.length = 0;
  receiver.posts.length = 0;
  receiver.status = 202;
});

/** A broker whose tracer sends to the receiver through a CoreZipkinExporter; its warnings and infos are recorded. */
async function tracedBroker(options: Partial<CoreZipkinExporterOptions> = {}) {
  const exporter = new CoreZipkinExporter({ url: receiver.url, flushMs: 60_000, ...options });
  const broker = new ServiceBroker({
    nodeID: `exp-${brokers.length}`,
    logger: false,
    uidGenerator: newTraceId,
    tracing: { enabled: true, exporter: [exporter] as never, defaultTags: { nodeID: `exp-${brokers.length}` } },
  });
  brokers.push(broker);
  await broker.start();
  const logged = { warn: [] as string[], info: [] as string[] };
  const logger = (exporter as unknown as { logger: Record<string, (...a: unknown[]) => void> }).logger;
  logger.warn = (msg: unknown) => void logged.warn.push(String(msg));
  logger.info = (msg: unknown) => void logged.info.push(String(msg));
  return { broker, exporter, logged };
}

function rootSpan(broker: ServiceBroker, name = "action 'circle.consult'"): Span {
  const id = broker.generateUid();
  return broker.tracer.startSpan(name, { id, traceID: id, type: "action", service: "circle" });
}

describe("CoreZipkinExporter", () => {
  it("sends Zipkin v2 spans with the whole 128-bit trace id, 64-bit span ids, and CLIENT spans for calls out", async () => {
    const { broker, exporter } = await tracedBroker();
    const root = rootSpan(broker);
    const step = traceStepOf({ span: root }, "postgres");
    await step("store.save consultation", async () => "saved", { consultation: "c-1" });
    root.finish();
    await exporter.flush();

    expect(receiver.posts).toEqual([{ path: "/api/v2/spans", count: 2 }]);
    const [child, parent] = receiver.spans;
    expect(parent).toMatchObject({ traceId: root.traceID, id: zipkinSpanId(root.id), name: "action 'circle.consult'", kind: "SERVER", localEndpoint: { serviceName: "circle" } });
    expect(root.traceID).toMatch(/^[0-9a-f]{32}$/);
    expect(parent).not.toHaveProperty("parentId");
    expect(child).toMatchObject({
      traceId: root.traceID,
      parentId: parent!.id,
      name: "store.save consultation",
      kind: "CLIENT",
      remoteEndpoint: { serviceName: "postgres" },
      tags: expect.objectContaining({ consultation: "c-1", "peer.service": "postgres", nodeID: "exp-0" }),
    });
    expect(child!.id).toMatch(/^[0-9a-f]{16}$/);
  });

  it("sends on its interval, and early once a batch is full", async () => {
    const { broker } = await tracedBroker({ flushMs: 100 });
    rootSpan(broker).finish();
    await waitFor(() => receiver.spans.length === 1, 5_000, "the span to be sent on the interval");

    const batched = await tracedBroker({ flushMs: 60_000, batchSize: 3 });
    for (let i = 0; i < 3; i++) rootSpan(batched.broker).finish();
    await waitFor(() => receiver.posts.some((p) => p.count === 3), 5_000, "a full batch to be sent at once");
  });

  it("a collector that refuses: one warning, not one a flush; one line when it takes spans again", async () => {
    const { broker, exporter, logged } = await tracedBroker();
    receiver.status = 503;
    for (let i = 0; i < 3; i++) {
      rootSpan(broker).finish();
      await exporter.flush();
    }
    expect(logged.warn).toEqual([expect.stringMatching(/^Tracing: spans could not be sent to http:\/\/127\.0\.0\.1:\d+\/api\/v2\/spans \(it answered 503 .*\); they are dropped until it answers$/)]);
    receiver.status = 202;
    rootSpan(broker).finish();
    await exporter.flush();
    expect(logged.info).toEqual([expect.stringMatching(/takes spans again \(3 span\(s\) were dropped meanwhile\)/)]);
    expect(receiver.spans).toHaveLength(1);
  });

  it("a collector that is not there: the same single warning, naming the cause", async () => {
    const port = await freePort();
    const { broker, exporter, logged } = await tracedBroker({ url: `http://127.0.0.1:${port}` });
    rootSpan(broker).finish();
    await exporter.flush();
    rootSpan(broker).finish();
    await exporter.flush();
    expect(logged.warn).toEqual([expect.stringMatching(new RegExp(`could not be sent to http://127\\.0\\.0\\.1:${port}/api/v2/spans \\(ECONNREFUSED\\)`))]);
  });

  it("the spans still queued are sent when the broker stops", async () => {
    const { broker } = await tracedBroker();
    const root = rootSpan(broker);
    root.finish();
    await broker.stop();
    expect(receiver.spans.map((s) => s.traceId)).toEqual([root.traceID]);
  });
});
