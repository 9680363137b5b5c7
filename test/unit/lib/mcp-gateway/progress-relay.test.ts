import { ProgressRelay } from "../../../../lib/mcp-gateway/progress-relay";

describe("ProgressRelay", () => {
  it("delivers a broadcast to the call holding its token only, and nothing once closed", () => {
    const relay = new ProgressRelay();
    const seen: unknown[] = [];
    const token = relay.open((p) => seen.push(p));
    relay.deliver({ progressToken: "not-mine", progress: 1 });
    relay.deliver({ progressToken: token, progress: 1, total: 4, message: "a quarter" });
    relay.close(token);
    relay.deliver({ progressToken: token, progress: 2, total: 4 });
    expect(seen).toEqual([{ progress: 1, total: 4, message: "a quarter" }]);
    expect(relay.size).toBe(0);
  });

  it("waits briefly at the end of a call for a last report still on its way, and no longer than needed", async () => {
    const relay = new ProgressRelay();
    const seen: number[] = [];
    const token = relay.open((p) => seen.push(p.progress));
    relay.deliver({ progressToken: token, progress: 1, total: 2 });
    setTimeout(() => relay.deliver({ progressToken: token, progress: 2, total: 2 }), 10);
    const started = Date.now();
    await relay.settle(token, 1_000);
    expect(seen).toEqual([1, 2]);
    expect(Date.now() - started).toBeLessThan(500);
  });

  it("does not wait when the reports reached their total, or when there were none", async () => {
    const relay = new ProgressRelay();
    const done = relay.open(() => undefined);
    relay.deliver({ progressToken: done, progress: 3, total: 3 });
    const none = relay.open(() => undefined);
    const started = Date.now();
    await Promise.all([relay.settle(done, 1_000), relay.settle(none, 1_000)]);
    expect(Date.now() - started).toBeLessThan(100);
  });
});
