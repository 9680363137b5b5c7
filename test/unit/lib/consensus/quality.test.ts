import { consensusReference, type ConsensusResult } from "../../../../lib/consensus";
import { loadConsensusFixtures, type ConsensusFixture } from "../../../helpers/consensus-fixtures";

/**
 * The labelled fixture set: the engine must pick the labelled majority (the
 * consensus answer is a majority member's and no dissenter is in the winning
 * cluster) and the labelled final answer in at least 95 % of the sets.
 */

interface Verdict {
  majority: boolean;
  answer: boolean;
  /** Share of the majority inside the winning cluster (reported, not required). */
  recall: number;
}

export function judge(set: ConsensusFixture, result: ConsensusResult): Verdict {
  const majority = new Set(set.majority);
  const winners = result.clusters[0]!.members;
  return {
    majority: majority.has(result.consensus.expertId) && winners.every((m) => majority.has(m)),
    answer: set.finalAnswer === undefined || result.vote?.answer === set.finalAnswer,
    recall: winners.filter((m) => majority.has(m)).length / majority.size,
  };
}

export function summarise(engine: string, verdicts: Verdict[], failures: string[]): { rate: number; line: string } {
  const right = verdicts.filter((v) => v.majority && v.answer).length;
  const rate = right / verdicts.length;
  const recall = verdicts.reduce((s, v) => s + v.recall, 0) / verdicts.length;
  const line =
    `consensus quality (${engine}): ${right}/${verdicts.length} sets right (${(rate * 100).toFixed(1)} %); ` +
    `majority ${verdicts.filter((v) => v.majority).length}, final answer ${verdicts.filter((v) => v.answer).length}; ` +
    `mean share of the majority in the winning cluster ${(recall * 100).toFixed(1)} %` +
    (failures.length ? `; missed: ${failures.join(", ")}` : "");
  return { rate, line };
}

describe("consensus quality on the labelled fixtures", () => {
  const sets = loadConsensusFixtures();

  it("has at least 40 labelled sets covering every category", () => {
    expect(sets.length).toBeGreaterThanOrEqual(40);
    expect(new Set(sets.map((s) => s.category))).toEqual(new Set(["paraphrase", "substantive-disagreement", "one-dissenter", "numeric-formats", "multiple-choice", "yes-no"]));
  });

  it("picks the labelled majority and final answer in at least 95 % of the sets (reference engine)", () => {
    const failures: string[] = [];
    const verdicts = sets.map((set) => {
      const verdict = judge(set, consensusReference(set.responses));
      if (!verdict.majority || !verdict.answer) failures.push(set.name);
      return verdict;
    });
    const { rate, line } = summarise("reference", verdicts, failures);
    console.log(line);
    expect(rate).toBeGreaterThanOrEqual(0.95);
  });
});
