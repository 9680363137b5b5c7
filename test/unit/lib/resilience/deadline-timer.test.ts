import { DeadlineTimer } from "../../../../lib/resilience/deadline-timer";

describe("DeadlineTimer", () => {
  it("fires each deadline once, after it passed, within its resolution", async () => {
    const timer = new DeadlineTimer(10);
    const fired: Array<[string, number]> = [];
    const t0 = Date.now();
    timer.schedule(t0 + 30, () => fired.push(["a", Date.now() - t0]));
    timer.schedule(t0 + 80, () => fired.push(["b", Date.now() - t0]));
    timer.schedule(t0 - 5, () => fired.push(["past", Date.now() - t0]));
    await new Promise((r) => setTimeout(r, 150));
    expect(fired.map(([name]) => name)).toEqual(["past", "a", "b"]);
    const [, a] = fired[1]!;
    const [, b] = fired[2]!;
    expect(a).toBeGreaterThanOrEqual(29);
    expect(a).toBeLessThan(80);
    expect(b).toBeGreaterThanOrEqual(79);
    expect(timer.size).toBe(0);
  });

  it("a cancelled deadline never fires, and the timer stops when nothing is pending", async () => {
    const timer = new DeadlineTimer(5);
    let fired = 0;
    const cancel = timer.schedule(Date.now() + 20, () => fired++);
    expect(timer.size).toBe(1);
    cancel();
    cancel();
    expect(timer.size).toBe(0);
    await new Promise((r) => setTimeout(r, 50));
    expect(fired).toBe(0);
  });

  it("handles many deadlines in the same bucket", async () => {
    const timer = new DeadlineTimer(10);
    let fired = 0;
    const at = Date.now() + 20;
    const cancels = Array.from({ length: 1_000 }, () => timer.schedule(at, () => fired++));
    cancels.slice(0, 400).forEach((c) => c());
    await new Promise((r) => setTimeout(r, 60));
    expect(fired).toBe(600);
  });
});
