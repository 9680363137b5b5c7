import { fromPlainError, MemoryPressureError } from "../../../../lib/errors";
import { LoadShedding, SHED_ACTIONS } from "../../../../lib/monitors/load-shedding";

const cause = { usedRatio: 0.9134, level: "critical", retryAfterSec: 10 };

describe("LoadShedding", () => {
  it("takes every call until started", () => {
    const s = new LoadShedding("n1");
    expect(s.active).toBe(false);
    expect(s.refusal("circle.consult")).toBeUndefined();
  });

  it("while active, refuses with a retryable 503 MEMORY_PRESSURE that says why and when to retry", () => {
    const s = new LoadShedding("n1");
    expect(s.start(cause, 1_000)).toBe(true);
    const err = s.refusal("circle.consult")!;
    expect(err).toBeInstanceOf(MemoryPressureError);
    expect(err).toMatchObject({
      code: "MEMORY_PRESSURE",
      status: 503,
      retryable: true,
      data: { action: "circle.consult", nodeID: "n1", usedRatio: 0.913, level: "critical", retryAfterSec: 10 },
    });
    expect(err.message).toBe("Node n1 is refusing new work: its memory is at 91 % of its limit (critical); retry in 10 s or on another node");
  });

  it("keeps when it began across updates, and stops", () => {
    const s = new LoadShedding("n1");
    s.start(cause, 1_000);
    expect(s.start({ ...cause, usedRatio: 0.97, level: "emergency" }, 2_000)).toBe(false);
    expect(s.since).toBe(1_000);
    expect(s.refusal("openai.chatCompletions")!.data).toMatchObject({ level: "emergency", usedRatio: 0.97 });
    expect(s.stop()).toBe(true);
    expect(s.stop()).toBe(false);
    expect(s.refusal("circle.consult")).toBeUndefined();
    expect(s.since).toBeUndefined();
  });

  it("is per node: one node shedding leaves another alone", () => {
    const a = new LoadShedding("a");
    const b = new LoadShedding("b");
    a.start(cause);
    expect(a.active).toBe(true);
    expect(b.refusal("circle.consult")).toBeUndefined();
  });

  it("survives the wire as the same class, still retryable", () => {
    const s = new LoadShedding("n1");
    s.start(cause);
    const back = fromPlainError(JSON.parse(JSON.stringify(s.refusal("circle.consult")!.toJSON())));
    expect(back).toBeInstanceOf(MemoryPressureError);
    expect(back).toMatchObject({ code: "MEMORY_PRESSURE", status: 503, retryable: true, data: { retryAfterSec: 10 } });
  });

  it("sheds the consult entry points", () => {
    expect(SHED_ACTIONS).toEqual(expect.arrayContaining(["circle.consult", "openai.chatCompletions"]));
  });
});
