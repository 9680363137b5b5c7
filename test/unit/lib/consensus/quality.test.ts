import { consensusReference, createConsensus, type ConsensusResult } from "../../../../lib/consensus";
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

function judge(set: ConsensusFixture, result: ConsensusResult): Verdict {
  const majority = new Set(set.majority);
  const winners = result.clusters[0]!.members;
  return {
    majority: majority.has(result.consensus.expertId) && winners.every((m) => majority.has(m)),
    answer: set.finalAnswer === undefined || result.vote?.answer === set.finalAnswer,
    recall: winners.filter((m) => majority.has(m)).length / majority.size,
  };
}

function summarise(engine: string, verdicts: Verdict[], failures: string[]): { rate: number; line: string } {
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

  it.each(["native", "reference"] as const)("picks the labelled majority and final answer in at least 95 %% of the sets (%s engine)", async (engine) => {
    const native = createConsensus();
    expect(native.engine).toBe("native");
    const failures: string[] = [];
    const verdicts: Verdict[] = [];
    for (const set of sets) {
      const result = engine === "native" ? await native(set.responses) : consensusReference(set.responses);
      const verdict = judge(set, result);
      if (!verdict.majority || !verdict.answer) failures.push(set.name);
      verdicts.push(verdict);
    }
    const { rate, line } = summarise(engine, verdicts, failures);
    console.log(line);
    expect(rate).toBeGreaterThanOrEqual(0.95);
  });
});
