import { consensusReference } from "../../../../lib/consensus";
import * as core from "../../../../index";

/** The result's shape is an interface scripts rely on (DESIGN.md §11). */
describe("the consensus result", () => {
  const responses = [
    { expertId: "claude", text: "The capital of Australia is Canberra, chosen as a compromise between Sydney and Melbourne. Final answer: Canberra" },
    { expertId: "gpt", text: "Canberra is the capital of Australia, a compromise between Sydney and Melbourne. Answer: Canberra." },
    { expertId: "gemini", text: "Sydney is the capital. Final answer: Sydney" },
  ];

  it("has the documented fields: key points as strings, the vote with counts", () => {
    const r = consensusReference(responses);
    expect(r.consensus).toEqual({ expertId: expect.stringMatching(/claude|gpt/), text: expect.any(String) });
    expect(r.clusters[0]).toEqual(expect.objectContaining({ members: ["claude", "gpt"], weight: 2, representative: r.consensus.expertId }));
    expect(r.experts.map((e) => e.expertId)).toEqual(["claude", "gpt", "gemini"]);
    expect(r.dissent).toEqual([expect.objectContaining({ expertId: "gemini", text: responses[2]!.text })]);
    expect(r.keyPoints.length).toBeGreaterThan(0);
    for (const point of r.keyPoints) expect(typeof point).toBe("string");
    expect(r.keyPointDetails.map((p) => p.text)).toEqual(r.keyPoints);
    expect(r.vote).toEqual(expect.objectContaining({ answer: "canberra", counts: { canberra: 2, sydney: 1 } }));
    expect(r.vote!.share).toBeCloseTo(2 / 3, 12);
  });

  it("leaves the vote out when no response gives a final answer", () => {
    const r = consensusReference([
      { expertId: "a", text: "PostgreSQL fits orders and payments well because of its transactions and constraints." },
      { expertId: "b", text: "A relational database such as PostgreSQL keeps orders, payments and stock consistent." },
    ]);
    expect("vote" in r).toBe(false);
  });

  it("is offered by the package's main export", () => {
    expect(typeof core.consensus).toBe("function");
    expect(typeof core.consensusReference).toBe("function");
    expect(typeof core.startNode).toBe("function");
  });
});
