import Table from "cli-table3";
import type { Consultation } from "./consultation";

const oneLine = (text: string, max: number) => {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
};
const seconds = (ms: number) => `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
const usd = (x: number) => `$${x.toFixed(x > 0 && x < 0.01 ? 6 : 4)}`;
const percent = (x: number) => `${Math.round(x * 100)} %`;

/**
 * A consultation for a person at a terminal: the consensus, then one line per
 * expert (status, model, latency, tokens, cost, agreement, answer or error),
 * then the totals. Plain text, no colours: it reads the same in a pipe.
 */
export function renderConsultation(c: Consultation): string {
  const lines: string[] = [];
  const agreementOf = new Map(c.consensus?.experts.map((e) => [e.expertId, e.agreement]) ?? []);
  if (c.consensus) {
    const vote = c.consensus.vote ? `; vote: ${c.consensus.vote.answer} (${percent(c.consensus.vote.share)})` : "";
    lines.push(`Consensus of ${c.quorum.answered} of ${c.experts.length} experts (agreement ${percent(c.consensus.agreement)}${vote}), from ${c.consensus.consensus.expertId}:`);
    lines.push(...c.consensus.consensus.text.trim().split("\n").map((l) => `  ${l}`));
  } else {
    lines.push(`No consensus: ${c.error?.message ?? "the quorum was not reached"}`);
  }
  const table = new Table({
    head: ["expert", "status", "model", "latency", "tokens in/out", "cost", "agreement", "answer or error"],
    style: { head: [], border: [] },
    // No rule between rows: one line per expert.
    chars: { mid: "", "left-mid": "", "mid-mid": "", "right-mid": "" },
    wordWrap: false,
  });
  for (const o of c.outcomes) {
    if (o.status === "answered") {
      const a = o.answer;
      const by = a.answeredBy !== o.expertId ? ` (by ${a.answeredBy})` : "";
      const agreement = agreementOf.get(o.expertId);
      table.push([
        o.expertId + by,
        "answered",
        a.model,
        seconds(o.latencyMs),
        `${a.usage.inputTokens}/${a.usage.outputTokens}`,
        a.priced ? usd(a.costUsd) : "unpriced",
        agreement === undefined ? "" : percent(agreement),
        oneLine(a.text, 60),
      ]);
    } else {
      table.push([o.expertId, o.status, "", seconds(o.latencyMs), "", "", "", oneLine(`${o.error.code}: ${o.error.message}`, 60)]);
    }
  }
  lines.push(table.toString());
  lines.push(
    `${c.usage.inputTokens} input + ${c.usage.outputTokens} output tokens, ${usd(c.costUsd)}, ${seconds(c.durationMs)}${c.cached ? " (from the cache)" : ""}; consultation ${c.id}`,
  );
  return lines.join("\n");
}
