import { numberFrom, type Store } from "../store/store";
import { settled } from "../circle/consultation-writes";

/** What costs can be grouped by; each maps to one column expression (nothing else reaches the SQL). */
export const COST_DIMENSIONS = {
  provider: "provider",
  model: "model",
  principal: "principal",
  expert: "expert_id",
  day: "to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD')",
} as const;

export type CostDimension = keyof typeof COST_DIMENSIONS;

export interface CostQuery {
  groupBy: readonly CostDimension[];
  /** ISO times: from inclusive, to exclusive. */
  from?: string;
  to?: string;
  principal?: string;
}

export interface CostRow {
  provider?: string;
  model?: string;
  principal?: string;
  expert?: string;
  day?: string;
  calls: number;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
  /** Calls made to models without a configured price (their cost counts as 0). */
  unpricedCalls: number;
}

export interface CostSummary {
  rows: CostRow[];
  total: Omit<CostRow, CostDimension>;
}


/**
 * Usage and cost of every provider call recorded, grouped by any of provider,
 * model, principal, expert and day (UTC), most expensive first. Sums are
 * exact (numeric in the database) and converted to numbers at the end.
 */
export async function summariseCosts(store: Store, query: CostQuery): Promise<CostSummary> {
  // The usage of answers whose rows are still being written (pass-throughs) counts here already.
  await settled(store);
  const where: string[] = [];
  const params: unknown[] = [];
  if (query.from) where.push(`at >= $${params.push(query.from)}`);
  if (query.to) where.push(`at < $${params.push(query.to)}`);
  if (query.principal) where.push(`principal = $${params.push(query.principal)}`);
  const dims = [...new Set(query.groupBy)];
  const select = dims.map((d) => `${COST_DIMENSIONS[d]} AS "${d}"`);
  const { rows } = await store.query<Record<string, unknown>>(
    `SELECT ${[...select, "count(*) AS calls", "sum(input_tokens) AS input_tokens", "sum(output_tokens) AS output_tokens", "sum(cost_usd) AS cost_usd", "count(*) FILTER (WHERE NOT priced) AS unpriced"].join(", ")}
       FROM usage_records ${where.length ? `WHERE ${where.join(" AND ")}` : ""}
       ${dims.length ? `GROUP BY ${dims.map((_, i) => i + 1).join(", ")}` : ""}
      ORDER BY sum(cost_usd) DESC NULLS LAST${dims.length ? `, ${dims.map((_, i) => i + 1).join(", ")}` : ""}`,
    params,
  );
  const out: CostRow[] = rows
    .filter((r) => numberFrom(r.calls) > 0)
    .map((r) => {
      const row: CostRow = {
        calls: numberFrom(r.calls),
        inputTokens: numberFrom(r.input_tokens),
        outputTokens: numberFrom(r.output_tokens),
        costUsd: numberFrom(r.cost_usd),
        unpricedCalls: numberFrom(r.unpriced),
      };
      for (const d of dims) row[d] = String(r[d]);
      return row;
    });
  const total = out.reduce(
    (t, r) => ({ calls: t.calls + r.calls, inputTokens: t.inputTokens + r.inputTokens, outputTokens: t.outputTokens + r.outputTokens, costUsd: t.costUsd + r.costUsd, unpricedCalls: t.unpricedCalls + r.unpricedCalls }),
    { calls: 0, inputTokens: 0, outputTokens: 0, costUsd: 0, unpricedCalls: 0 },
  );
  return { rows: out, total };
}
