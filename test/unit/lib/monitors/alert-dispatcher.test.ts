import type { Alert } from "../../../../lib/monitors/alert";
import { AlertDispatcher } from "../../../../lib/monitors/alert-dispatcher";

// Fake timers: Date.now and the held alerts' timers move only when the test says so.
beforeEach(() => jest.useFakeTimers({ now: 1_000_000 }));
afterEach(() => jest.useRealTimers());

const WINDOW = 60_000;

function alert(state: Alert["state"], severity: Alert["severity"] = "critical", over: Partial<Alert> = {}): Alert {
  return { monitor: "health", key: "health.shared", severity, state, nodeID: "n1", message: `redis ${state}`, at: Date.now(), ...over };
}

function dispatcher() {
  const delivered: Alert[] = [];
  const d = new AlertDispatcher({ deliver: (a) => delivered.push(a), windowMs: WINDOW });
  const seen = () => delivered.map((a) => `${a.severity}/${a.state}${a.details?.suppressed ? ` (+${String(a.details.suppressed)})` : ""}`);
  return { d, delivered, seen };
}

describe("AlertDispatcher", () => {
  it("delivers each change, and drops a repeat of the same (monitor, key, node, severity, state) within the window", () => {
    const { d, seen } = dispatcher();
    expect(d.receive(alert("raised"))).toBe("delivered");
    jest.advanceTimersByTime(10_000);
    expect(d.receive(alert("raised"))).toBe("repeat");
    expect(d.receive(alert("raised", "critical", { nodeID: "n2" }))).toBe("delivered");
    expect(d.receive(alert("raised", "critical", { key: "health.store" }))).toBe("delivered");
    expect(d.receive(alert("raised", "warning"))).toBe("delivered");
    // The next delivery of the condition says how many were suppressed since the last.
    expect(seen()).toEqual(["critical/raised", "critical/raised", "critical/raised", "warning/raised (+1)"]);
  });

  it("delivers a repeat again once the window has passed, counting what it suppressed", () => {
    const { d, seen } = dispatcher();
    d.receive(alert("raised"));
    jest.advanceTimersByTime(30_000);
    d.receive(alert("raised"));
    d.receive(alert("raised"));
    jest.advanceTimersByTime(30_000);
    expect(d.receive(alert("raised"))).toBe("delivered");
    expect(seen()).toEqual(["critical/raised", "critical/raised (+2)"]);
  });

  it("holds a flap back to a state sent within the window and delivers the latest state when the window ends", () => {
    const { d, seen } = dispatcher();
    d.receive(alert("raised")); // t=0
    jest.advanceTimersByTime(5_000);
    d.receive(alert("resolved")); // t=5 s: a change, delivered
    jest.advanceTimersByTime(5_000);
    expect(d.receive(alert("raised"))).toBe("held"); // t=10 s: raised was sent at t=0
    jest.advanceTimersByTime(5_000);
    expect(d.receive(alert("resolved"))).toBe("repeat"); // back to what was sent last: nothing held any more
    jest.advanceTimersByTime(5_000);
    expect(d.receive(alert("raised"))).toBe("held"); // t=20 s
    expect(seen()).toEqual(["critical/raised", "critical/resolved"]);
    jest.advanceTimersByTime(WINDOW - 20_000 - 1);
    expect(seen()).toHaveLength(2);
    jest.advanceTimersByTime(1); // t=60 s: raised's window from t=0 is over
    expect(seen()).toEqual(["critical/raised", "critical/resolved", "critical/raised (+3)"]);
    // The receivers now know the current state: raised, and it is active.
    expect(d.active().map((a) => a.state)).toEqual(["raised"]);
  });

  it("a flap that settles back to what was delivered last is never delivered", () => {
    const { d, seen } = dispatcher();
    d.receive(alert("raised"));
    d.receive(alert("resolved"));
    d.receive(alert("raised"));
    d.receive(alert("resolved"));
    jest.advanceTimersByTime(2 * WINDOW);
    expect(seen()).toEqual(["critical/raised", "critical/resolved"]);
    expect(d.active()).toEqual([]);
  });

  it("keeps the active alerts: the last raised per condition until resolved, counted per monitor and severity", () => {
    const { d } = dispatcher();
    d.receive(alert("raised", "warning"));
    d.receive(alert("raised", "critical"));
    d.receive(alert("raised", "warning", { key: "health.cache" }));
    d.receive(alert("raised", "high", { monitor: "cost", key: "cost.budget:a/day" }));
    expect(d.active().map((a) => `${a.key}:${a.severity}`)).toEqual(["health.shared:critical", "health.cache:warning", "cost.budget:a/day:high"]);
    expect([...d.activeCounts().values()]).toEqual([
      { monitor: "health", severity: "critical", count: 1 },
      { monitor: "health", severity: "warning", count: 1 },
      { monitor: "cost", severity: "high", count: 1 },
    ]);
    d.receive(alert("resolved", "critical"));
    expect(d.active().map((a) => a.key)).toEqual(["health.cache", "cost.budget:a/day"]);
  });

  it("on close, delivers what is held at once (the node's last word is not lost) and everything after it", () => {
    const { d, seen } = dispatcher();
    d.receive(alert("raised"));
    d.receive(alert("resolved"));
    d.receive(alert("raised"));
    d.close();
    expect(seen()).toEqual(["critical/raised", "critical/resolved", "critical/raised (+1)"]);
    expect(d.receive(alert("raised"))).toBe("delivered");
    expect(jest.getTimerCount()).toBe(0);
  });
});
