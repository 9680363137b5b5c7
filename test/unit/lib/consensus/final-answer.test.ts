import { answerRelation, finalAnswer } from "../../../../lib/consensus/final-answer";
import { sentences, words } from "../../../../lib/consensus/tokenize";

const answerOf = (text: string) => finalAnswer(text, words(text).length, sentences(text).at(-1));

describe("final answers", () => {
  it.each([
    ["7 days × 24 hours = 604,800 seconds.\n\n**Answer:** 604,800", "number", "604800"],
    ["Reasoning first. Final answer: (B)", "choice", "B"],
    ["The correct choice is (C).", "choice", "C"],
    ["Option D", "choice", "D"],
    ["B", "choice", "B"],
    ["Yes.", "yes-no", "yes"],
    ["No, because the wall is far too narrow to see from there. It is a myth that keeps coming back.", "yes-no", "no"],
    ["Answer: True", "yes-no", "yes"],
    ["Final answer: Canberra.", "text", "canberra"],
    ["The time complexity is linear overall. Answer: O(n log n)", "text", "o n log n"],
    ["答案是太平洋。", "text", "太平洋"],
    ["La respuesta final: 206 huesos.", "number", "206"],
    ["A cube has **12 edges**: 4 on top, 4 on the bottom and 4 vertical ones, as Euler's formula confirms for any convex polyhedron.", "number", "12"],
    ["**Mercury.** It's the innermost planet, with an orbital period of just 88 days around the Sun.", "text", "mercury"],
    ["A day has 86,400 seconds, so a week has 7 × 86,400 = 6.048 × 10^5 seconds.", "number", "604800"],
    ["Multiply the days by the hours, minutes and seconds in each. So there are 10,080 seconds in a week.", "number", "10080"],
    ["3.5 km", "number", "3.5"],
  ])("%j → %s %s", (text, kind, value) => {
    expect(answerOf(text)).toEqual({ kind, value });
  });

  it.each([
    "PostgreSQL is the safer choice for orders, payments and inventory because of its transactions and constraints.",
    "The fall time is t = √(2h/g), which does not depend on the mass of the object at all.",
    "Even as a 3-person startup, splitting the product into independent services lets each part scale on its own.",
    "",
    "   ",
  ])("%j has no final answer", (text) => {
    expect(answerOf(text)).toBeUndefined();
  });

  it("relates answers: same, conflicting, or not comparable", () => {
    expect(answerRelation({ kind: "number", value: "12" }, { kind: "number", value: "12" })).toBe("match");
    expect(answerRelation({ kind: "number", value: "12" }, { kind: "number", value: "8" })).toBe("conflict");
    expect(answerRelation({ kind: "text", value: "canberra" }, { kind: "text", value: "sydney" })).toBe("conflict");
    expect(answerRelation({ kind: "text", value: "canberra" }, { kind: "text", value: "capital canberra" })).toBe("none");
    expect(answerRelation({ kind: "number", value: "12" }, { kind: "choice", value: "B" })).toBe("none");
    expect(answerRelation(null, { kind: "choice", value: "B" })).toBe("none");
  });
});
