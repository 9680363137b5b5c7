import { loadConfig } from "../../config";
import { CoreErrorRegenerator } from "../../mixins/error-regenerator";
import { ResilientRedisCacher } from "../../mixins/resilient-redis-cacher";
import { CoreZipkinExporter } from "../../mixins/tracing-exporter";
import { CLUSTER_SERIALIZER, createBrokerOptions } from "../../moleculer.config";
import { CoreNatsTransporter } from "../../lib/transport/core-nats-transporter";

describe("createBrokerOptions", () => {
  it("embedded: no transporter, a memory cacher", () => {
    const options = createBrokerOptions(loadConfig({ CORE_NODE_ID: "n1" }));
    expect(options.transporter).toBeNull();
    expect(options.cacher).toMatchObject({ type: "MemoryLRU" });
    expect(options.nodeID).toBe("n1");
    expect(options.namespace).toBe("core");
    expect(options.errorRegenerator).toBeInstanceOf(CoreErrorRegenerator);
    // Graceful shutdown is CoreDrain's; Moleculer's O(n) tracker is off.
    expect(options.tracking).toEqual({ enabled: false, shutdownTimeout: 10_000 });
    expect((options.middlewares as Array<{ name: string }>).map((m) => m.name)).toEqual(["CoreResilience", "CoreDrain", "CoreLoadShedding", "CoreAccessControl", "CoreRequestMetrics"]);
    expect(options.skipProcessEventRegistration).toBe(true);
  });

  it("cluster: CORE's NATS transporter, Redis cacher with the configured prefix", () => {
    const options = createBrokerOptions(loadConfig({ NATS_URL: "nats://127.0.0.1:4222", REDIS_URL: "redis://127.0.0.1:6379", CORE_REDIS_PREFIX: "p1", CORE_NODE_ID: "n1" }));
    expect(options.transporter).toBeInstanceOf(CoreNatsTransporter);
    expect((options.transporter as CoreNatsTransporter).opts).toMatchObject({ url: "nats://127.0.0.1:4222", name: "n1" });
    expect(options.cacher).toBeInstanceOf(ResilientRedisCacher);
    expect((options.cacher as ResilientRedisCacher).opts).toMatchObject({ prefix: "p1:" });
    // Other nodes hear of a restarted or moved actor within 100 ms, not Moleculer's 1 s.
    expect(options.transit).toEqual({ serviceChangedDebounceTime: 100 });
  });

  it("uses the measured serializer unless CORE_SERIALIZER says otherwise", () => {
    expect(createBrokerOptions(loadConfig({})).serializer).toBe(CLUSTER_SERIALIZER);
    expect(createBrokerOptions(loadConfig({ CORE_SERIALIZER: "MsgPack" })).serializer).toBe("MsgPack");
  });

  it("switches metrics and tracing", () => {
    expect(createBrokerOptions(loadConfig({ CORE_METRICS: "off" })).metrics).toEqual({ enabled: false });
    expect((createBrokerOptions(loadConfig({ CORE_METRICS: "off" })).middlewares as Array<{ name: string }>).map((m) => m.name)).not.toContain("CoreRequestMetrics");
    const on = createBrokerOptions(loadConfig({ CORE_METRICS_PORT: "9100", CORE_TRACING: "zipkin", CORE_TRACING_URL: "http://jaeger:9411" }));
    expect(on.metrics).toMatchObject({ enabled: true, reporter: [{ type: "Prometheus", options: expect.objectContaining({ port: 9100 }) }] });
    expect(on.tracing).toMatchObject({ enabled: true, exporter: [expect.any(CoreZipkinExporter)] });
  });
});
