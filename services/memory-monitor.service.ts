import { defineActor, type ActorDefinition, type ActorSelf } from "../actors/actor-spec";
import { ALERT_EVENT, type Alert } from "../lib/monitors/alert";
import { processRssLimit, readProcessMemory, type RssLimit } from "../lib/monitors/memory-limit";
import { MemoryWatch, type MemoryStatus } from "../lib/monitors/memory-watch";
import { formatMb } from "../lib/monitors/memory-format";
import { loadSheddingOf } from "../mixins/load-shedding.middleware";
import { MemoryMetrics } from "../mixins/memory-metrics";
import type { NodeRuntime } from "../mixins/node-runtime";

interface State {
  watch: MemoryWatch | undefined;
  timer: NodeJS.Timeout | undefined;
}

/**
 * `memory-monitor` runs on every node: it samples the node's heap and RSS
 * every CORE_MEMORY_SAMPLE_MS, raises and resolves the level and prediction
 * alerts (event `monitor.alert`), keeps the memory metrics, and makes the node
 * shed new consults from the critical level down to below its exit threshold.
 * `memory-monitor.status` (call it with `nodeID`) answers the latest sample.
 * The logic is lib/monitors/memory-watch's; this is the glue.
 */
export default function createMemoryMonitorActor(runtime: Pick<NodeRuntime, "config">): ActorDefinition[] {
  const { limitMb, sampleMs, window, predictSec } = runtime.config.memory;
  // What a refused caller is told to wait: a couple of samples, the soonest shedding can end.
  const retryAfterSec = Math.max(1, Math.ceil((2 * sampleMs) / 1000));

  const sample = (self: ActorSelf<State>, rssLimit: RssLimit, metrics: MemoryMetrics): MemoryStatus => {
    const watch = self.state.watch!;
    const { status, alerts } = watch.observe({ at: Date.now(), ...readProcessMemory(), rssLimitBytes: rssLimit.bytes });
    metrics.sampled(status);
    const shedding = loadSheddingOf(self.broker);
    if (status.shedding) {
      if (shedding.start({ usedRatio: status.usedRatio, level: status.level, retryAfterSec })) {
        self.logger.warn(`Refusing new consults (503 MEMORY_PRESSURE) until memory falls back: ${formatMb(status.rssBytes)} RSS, ${Math.round(status.usedRatio * 100)} % of the limit`);
      }
    } else if (shedding.stop()) {
      self.logger.info(`Taking new consults again: memory at ${Math.round(status.usedRatio * 100)} % of the limit`);
    }
    for (const alert of alerts) emit(self, alert);
    return status;
  };

  const monitor = defineActor<State>({
    name: "memory-monitor",
    kind: "monitor",
    mailbox: { concurrency: 4, capacity: 64 },
    state: () => ({ watch: undefined, timer: undefined }),
    started(self) {
      const rssLimit = processRssLimit(limitMb);
      const metrics = MemoryMetrics.for(self.broker);
      self.state.watch = new MemoryWatch({ nodeID: self.nodeID, window, horizonSec: predictSec });
      const first = sample(self, rssLimit, metrics);
      self.logger.info(
        `Memory monitor: RSS limit ${formatMb(rssLimit.bytes)} (${rssLimit.source}), heap limit ${formatMb(first.heapLimitBytes)}; ` +
          `sampling every ${sampleMs} ms, trend over ${window} samples, alerting ${predictSec} s before predicted exhaustion`,
      );
      self.state.timer = setInterval(() => {
        try {
          sample(self, rssLimit, metrics);
        } catch (err) {
          self.crash(err);
        }
      }, sampleMs);
      self.state.timer.unref();
    },
    stopped(self) {
      clearInterval(self.state.timer);
      // Nobody would lift it once the monitor is gone; a restarted monitor sheds again from its first sample if it must.
      if (loadSheddingOf(self.broker).stop()) self.logger.info("Memory monitor stopped: no longer shedding load");
    },
    actions: {
      status: {
        handler(_ctx, self): MemoryStatus {
          return self.state.watch!.status!;
        },
      },
    },
  });
  return [monitor as unknown as ActorDefinition];
}

function emit(self: ActorSelf<State>, alert: Alert): void {
  const log = alert.state === "raised" ? self.logger.warn : self.logger.info;
  log.call(self.logger, `Alert ${alert.state}: ${alert.key} (${alert.severity}): ${alert.message}`);
  self.broker.emit(ALERT_EVENT, alert).catch((err: unknown) => self.logger.warn(`Could not emit ${ALERT_EVENT} ${alert.key}: ${(err as Error).message}`));
}
