import { ValidationError } from "../../../../lib/errors";
import { MAX_WEIGHT, validateConsensusInput } from "../../../../lib/consensus/limits";
import { consensus, consensusReference } from "../../../../index";

const issuesOf = (responses: unknown, options?: unknown) => {
  try {
    validateConsensusInput(responses, options);
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    return (err as ValidationError).issues.map((i) => `${i.field}: ${i.message}`);
  }
  throw new Error("expected a ValidationError");
};

describe("validateConsensusInput", () => {
  it("refuses a weight × confidence that rounds to 0, before either engine divides by it", async () => {
    const responses = [
      { expertId: "a", text: "Paris.", weight: 0.5, confidence: 5e-324 },
      { expertId: "b", text: "Paris." },
    ];
    expect(issuesOf(responses)).toEqual(["responses[0].weight: weight × confidence is too small to count (it rounds to 0)"]);
    await expect(consensus(responses)).rejects.toMatchObject({ code: "VALIDATION_FAILED", status: 422 });
    expect(() => consensusReference(responses)).toThrow(ValidationError);
  });

  it("bounds weights so that their sum stays finite", async () => {
    const huge = Array.from({ length: 3 }, (_, i) => ({ expertId: `e${i}`, text: "Paris.", weight: 1e308 }));
    expect(issuesOf(huge)).toHaveLength(3);
    const largest = huge.map((r) => ({ ...r, weight: MAX_WEIGHT }));
    const result = await consensus(largest);
    expect(Number.isFinite(result.agreement)).toBe(true);
    expect(result.clusters[0]!.weight).toBe(3 * MAX_WEIGHT);
  });

  it("takes maxKeyPoints as a number only", () => {
    expect(issuesOf([{ expertId: "a", text: "x" }], { maxKeyPoints: "3" })).toEqual(["options.maxKeyPoints: expected an integer from 0 to 50"]);
    expect(validateConsensusInput([{ expertId: "a", text: "x" }], { maxKeyPoints: 3 }).options.maxKeyPoints).toBe(3);
  });
});
