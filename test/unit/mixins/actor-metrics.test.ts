import { ServiceBroker } from "moleculer";
import { metricValues } from "../../helpers/metric-values";
import { ACTOR_METRICS, ActorMetrics } from "../../../mixins/actor-metrics";

/** The per-actor series on a broker's registry (no reporter: the registry is read directly). */

let broker: ServiceBroker;
beforeEach(() => {
  broker = new ServiceBroker({ logger: false, metrics: { enabled: true, reporter: [] } });
});

describe("ActorMetrics", () => {
  it("counts each actor's messages by outcome and keeps its mailbox depth", () => {
    const metrics = ActorMetrics.for(broker);
    for (let i = 0; i < 3; i++) metrics.message("a", "handled");
    metrics.message("a", "failed");
    metrics.message("b", "refused");
    metrics.message("b", "expired");
    metrics.message("b", "expired");
    metrics.depth("a", 4);
    metrics.depth("a", 2);
    metrics.depth("b", 1);
    expect(metricValues(broker, ACTOR_METRICS.messages)).toEqual([
      { actor: "a", outcome: "handled", value: 3 },
      { actor: "a", outcome: "failed", value: 1 },
      { actor: "b", outcome: "refused", value: 1 },
      { actor: "b", outcome: "expired", value: 2 },
    ]);
    expect(metricValues(broker, ACTOR_METRICS.mailboxDepth)).toEqual([
      { actor: "a", value: 2 },
      { actor: "b", value: 1 },
    ]);
  });

  it("an actor's restart counter appears at 0 with its first message, and counts the supervisor's restarts", () => {
    const actor = ActorMetrics.for(broker);
    const supervisor = ActorMetrics.for(broker); // another instance on the same registry, as in services/supervisor
    actor.message("a", "handled");
    expect(metricValues(broker, ACTOR_METRICS.restarts)).toEqual([{ actor: "a", value: 0 }]);
    supervisor.restarted("a");
    actor.message("a", "handled"); // does not put it back to 0
    supervisor.restarted("a");
    expect(metricValues(broker, ACTOR_METRICS.restarts)).toEqual([{ actor: "a", value: 2 }]);
    // Restarted before any message: the message leaves the count alone.
    supervisor.restarted("b");
    actor.message("b", "handled");
    expect(metricValues(broker, ACTOR_METRICS.restarts)).toEqual([
      { actor: "a", value: 2 },
      { actor: "b", value: 1 },
    ]);
  });

  it("keeps counting after the registry's series are cleared", () => {
    const metrics = ActorMetrics.for(broker);
    metrics.message("a", "handled");
    broker.metrics.getMetric(ACTOR_METRICS.messages)!.clear();
    broker.metrics.getMetric(ACTOR_METRICS.restarts)!.clear();
    metrics.message("a", "handled");
    expect(metricValues(broker, ACTOR_METRICS.messages)).toEqual([{ actor: "a", outcome: "handled", value: 1 }]);
    expect(metricValues(broker, ACTOR_METRICS.restarts)).toEqual([{ actor: "a", value: 0 }]);
  });

  it("is a no-op when metrics are off", () => {
    const off = new ServiceBroker({ logger: false, metrics: false });
    const metrics = ActorMetrics.for(off);
    expect(() => {
      metrics.message("a", "handled");
      metrics.depth("a", 1);
      metrics.restarted("a");
    }).not.toThrow();
    expect(off.metrics.list()).toEqual([]);
  });
});
