import { setBounded } from "../bounded-map";
import type { Alert, AlertSeverity } from "./alert";

/** Repeats of one alert within this window are dropped; a flap back is held until it ends. */
export const DEFAULT_ALERT_WINDOW_MS = 60_000;

/** Conditions tracked at most (each a monitor, key and node); the oldest quiet ones go first. */
const MAX_TRACKED = 10_000;

export interface AlertDispatcherOptions {
  /** Called for every alert that gets through, in order, synchronously. */
  deliver(alert: Alert): void;
  windowMs?: number;
  now?: () => number;
}

/** What `receive` did with an alert. */
export type ReceiveOutcome = "delivered" | "repeat" | "held";

/** One condition (monitor, key, node) as the dispatcher remembers it. */
interface Track {
  /** The last alert delivered for it. */
  last: Alert | undefined;
  /** When each (severity, state) was last delivered. */
  sentAt: Map<string, number>;
  /** The newest alert not delivered because it flapped back to a state sent within the window. */
  held: Alert | undefined;
  /** Alerts suppressed since the last delivery (repeats and flaps). */
  suppressed: number;
  timer: NodeJS.Timeout | undefined;
}

const conditionOf = (a: Pick<Alert, "monitor" | "key" | "nodeID">) => `${a.monitor}\u0000${a.key}\u0000${a.nodeID}`;
const tupleOf = (a: Pick<Alert, "severity" | "state">) => `${a.severity}|${a.state}`;

/**
 * What stands between the monitors and the people they page: an alert
 * repeating what was delivered for the same (monitor, key, node, severity,
 * state) within the window is dropped, and a condition flapping back to a
 * state delivered within the window is held, its newest alert delivered when
 * the window ends (carrying `details.suppressed`) unless it settled back to
 * what was delivered last. So receivers hear of a flapping dependency at most
 * once per state and window, and always end up knowing its current state.
 *
 * It also keeps the active alerts: the last delivered `raised` of each
 * condition, until its `resolved` is delivered.
 */
export class AlertDispatcher {
  private readonly tracks = new Map<string, Track>();
  private readonly activeAlerts = new Map<string, Alert>();
  private readonly windowMs: number;
  private readonly now: () => number;
  private closed = false;

  constructor(private readonly options: AlertDispatcherOptions) {
    this.windowMs = options.windowMs ?? DEFAULT_ALERT_WINDOW_MS;
    this.now = options.now ?? Date.now;
  }

  receive(alert: Alert): ReceiveOutcome {
    const id = conditionOf(alert);
    let track = this.tracks.get(id);
    if (!track) {
      this.prune();
      track = { last: undefined, sentAt: new Map(), held: undefined, suppressed: 0, timer: undefined };
      this.tracks.set(id, track);
    }
    const now = this.now();
    const tuple = tupleOf(alert);
    const sentAt = track.sentAt.get(tuple);
    if (this.closed || sentAt === undefined || now - sentAt >= this.windowMs) {
      this.deliver(track, alert);
      return "delivered";
    }
    track.suppressed++;
    if (track.last && tupleOf(track.last) === tuple) {
      // Back to what receivers were told last: whatever was held in between no longer matters.
      track.held = undefined;
      this.clearTimer(track);
      return "repeat";
    }
    track.held = alert;
    this.schedule(id, track);
    return "held";
  }

  /** The alerts raised and not resolved, oldest first. */
  active(): Alert[] {
    return [...this.activeAlerts.values()].sort((a, b) => a.at - b.at);
  }

  /** Active alerts per monitor and severity (what the `core_alerts_active` gauge shows). */
  activeCounts(): Map<string, { monitor: string; severity: AlertSeverity; count: number }> {
    const counts = new Map<string, { monitor: string; severity: AlertSeverity; count: number }>();
    for (const a of this.activeAlerts.values()) {
      const key = `${a.monitor}|${a.severity}`;
      const c = counts.get(key) ?? { monitor: a.monitor, severity: a.severity, count: 0 };
      c.count++;
      counts.set(key, c);
    }
    return counts;
  }

  /** Delivers what is held at once (the node is stopping: its last word must not be lost) and stops the timers. */
  close(): void {
    this.closed = true;
    for (const track of this.tracks.values()) {
      this.clearTimer(track);
      if (track.held) this.deliver(track, track.held);
    }
  }

  private deliver(track: Track, alert: Alert): void {
    const out = track.suppressed > 0 ? { ...alert, details: { ...alert.details, suppressed: track.suppressed } } : alert;
    track.last = out;
    track.sentAt.set(tupleOf(out), this.now());
    track.held = undefined;
    track.suppressed = 0;
    this.clearTimer(track);
    const id = conditionOf(out);
    if (out.state === "raised") {
      // Re-inserted so the map's order stays oldest-first for the bound below.
      this.activeAlerts.delete(id);
      setBounded(this.activeAlerts, id, out, MAX_TRACKED);
    } else {
      this.activeAlerts.delete(id);
    }
    this.options.deliver(out);
  }

  /** Wakes when the held alert's state leaves the window (it may be replaced by then: checked again). */
  private schedule(id: string, track: Track): void {
    this.clearTimer(track);
    const held = track.held!;
    const sentAt = track.sentAt.get(tupleOf(held)) ?? this.now();
    const wait = Math.max(0, sentAt + this.windowMs - this.now());
    track.timer = setTimeout(() => {
      track.timer = undefined;
      if (!track.held || this.tracks.get(id) !== track) return;
      const at = track.sentAt.get(tupleOf(track.held));
      if (at !== undefined && this.now() - at < this.windowMs) this.schedule(id, track);
      else this.deliver(track, track.held);
    }, wait);
    track.timer.unref();
  }

  private clearTimer(track: Track): void {
    if (track.timer) clearTimeout(track.timer);
    track.timer = undefined;
  }

  /** Forgets conditions quiet for a whole window (nothing held): a new alert for them is delivered anyway. */
  private prune(): void {
    if (this.tracks.size < MAX_TRACKED) return;
    const now = this.now();
    for (const [id, track] of this.tracks) {
      if (track.held) continue;
      if ([...track.sentAt.values()].every((at) => now - at >= this.windowMs)) this.tracks.delete(id);
    }
    // Still full (a storm of distinct conditions): drop the oldest, held or not.
    for (const [id, track] of this.tracks) {
      if (this.tracks.size < MAX_TRACKED) break;
      this.clearTimer(track);
      this.tracks.delete(id);
    }
  }
}
