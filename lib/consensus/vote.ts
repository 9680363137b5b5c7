import { answerKey } from "./final-answer";
import type { FinalAnswer, RawVote, RawVoteOption } from "./types";

/**
 * Weighted majority vote over final answers (native/README.md, "Vote"): one
 * option per distinct answer, its share of the voters' weight; most weight
 * first, ties to the answer given first.
 */
export function vote(answers: readonly (FinalAnswer | null)[], weights: Float64Array, total: number): RawVote | null {
  const options = new Map<string, { option: RawVoteOption; weight: number; first: number }>();
  let votersWeight = 0;
  answers.forEach((answer, i) => {
    if (!answer) return;
    const key = answerKey(answer);
    let entry = options.get(key);
    if (!entry) options.set(key, (entry = { option: { kind: answer.kind, value: answer.value, share: 0, voters: [] }, weight: 0, first: i }));
    entry.option.voters.push(i);
    entry.weight += weights[i]!;
    votersWeight += weights[i]!;
  });
  if (options.size === 0) return null;
  const ranked = [...options.values()].sort((a, b) => b.weight - a.weight || a.first - b.first);
  return {
    turnout: votersWeight / total,
    options: ranked.map(({ option, weight }) => ({ ...option, share: weight / votersWeight })),
  };
}
