import { DeadlineTimer } from "../../../../lib/resilience/deadline-timer";

// Fake timers: Date.now and setInterval advance only when the test says so, so
// the assertions hold however loaded the machine is.
beforeEach(() => jest.useFakeTimers({ now: 1_000_000 }));
afterEach(() => jest.useRealTimers());

describe("DeadlineTimer", () => {
  it("fires each deadline once, after it passed, within its resolution", () => {
    const timer = new DeadlineTimer(10);
    const fired: string[] = [];
    const t0 = Date.now();
    timer.schedule(t0 + 30, () => fired.push("a"));
    timer.schedule(t0 + 80, () => fired.push("b"));
    timer.schedule(t0 - 5, () => fired.push("past"));
    jest.advanceTimersByTime(10);
    expect(fired).toEqual(["past"]);
    jest.advanceTimersByTime(19); // t0 + 29: a not yet due
    expect(fired).toEqual(["past"]);
    jest.advanceTimersByTime(11); // t0 + 40: a fired within one resolution of its deadline
    expect(fired).toEqual(["past", "a"]);
    jest.advanceTimersByTime(39); // t0 + 79
    expect(fired).toEqual(["past", "a"]);
    jest.advanceTimersByTime(11); // t0 + 90
    expect(fired).toEqual(["past", "a", "b"]);
    expect(timer.size).toBe(0);
    jest.advanceTimersByTime(100);
    expect(fired).toHaveLength(3);
  });

  it("a cancelled deadline never fires, and the timer stops when nothing is pending", () => {
    const timer = new DeadlineTimer(5);
    let fired = 0;
    const cancel = timer.schedule(Date.now() + 20, () => fired++);
    expect(timer.size).toBe(1);
    cancel();
    cancel();
    expect(timer.size).toBe(0);
    jest.advanceTimersByTime(50);
    expect(fired).toBe(0);
    expect(jest.getTimerCount()).toBe(0);
  });

  it("handles many deadlines in the same bucket", () => {
    const timer = new DeadlineTimer(10);
    let fired = 0;
    const at = Date.now() + 20;
    const cancels = Array.from({ length: 1_000 }, () => timer.schedule(at, () => fired++));
    cancels.slice(0, 400).forEach((c) => c());
    jest.advanceTimersByTime(40);
    expect(fired).toBe(600);
  });
});
