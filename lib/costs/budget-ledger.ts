import type { BudgetConfig } from "../../config/file-schema";
import { MISSING_COUNTER, type LimitedCounter, type SharedStore } from "../coordination/shared-store";
import { BudgetExceededError } from "../errors";

/** Who spends: a user or API key id, and its roles (budgets may be set per role). */
export interface Principal {
  id: string;
  roles: readonly string[];
}

export type Period = BudgetConfig["period"];

/** Money is counted in whole nano-dollars: integer arithmetic, exact across nodes and scripts. */
const NANO = 1e9;
export const toNano = (usd: number): number => Math.round(usd * NANO);
export const fromNano = (nano: number): number => nano / NANO;

/** Start and end (UTC) of the period that holds `at`. Weeks start on Monday. */
export function periodBounds(period: Period, at: Date): { start: Date; end: Date } {
  const y = at.getUTCFullYear();
  const m = at.getUTCMonth();
  const d = at.getUTCDate();
  if (period === "day") return { start: new Date(Date.UTC(y, m, d)), end: new Date(Date.UTC(y, m, d + 1)) };
  if (period === "week") {
    const sinceMonday = (at.getUTCDay() + 6) % 7;
    return { start: new Date(Date.UTC(y, m, d - sinceMonday)), end: new Date(Date.UTC(y, m, d - sinceMonday + 7)) };
  }
  return { start: new Date(Date.UTC(y, m, 1)), end: new Date(Date.UTC(y, m + 1, 1)) };
}

/** A budget as it stands for one principal now. */
export interface BudgetStatus {
  /** The configured rule: a principal id, `role:<name>` or `*`. */
  rule: string;
  period: Period;
  limitUsd: number;
  /** Spent plus what consults in flight have reserved. */
  usedUsd: number;
  remainingUsd: number;
  periodStart: string;
  periodEnd: string;
}

export interface Reservation {
  /** What was reserved, in USD. */
  readonly amountUsd: number;
  /** Replaces the reservation by what the consult really cost. Idempotent. */
  settle(actualUsd: number): Promise<void>;
}

export interface BudgetLedgerOptions {
  rules: readonly BudgetConfig[];
  shared: SharedStore;
  /** What the principal spent since `since`, as recorded in the store: where a new counter starts. */
  spentSince(principalId: string, since: Date): Promise<number>;
  now?: () => number;
}

interface Applicable {
  rule: BudgetConfig;
  key: string;
  limitNano: number;
  start: Date;
  end: Date;
}

/**
 * Budgets per principal and period, enforced before anything is spent: a
 * consult reserves its worst case (every expert using its whole output
 * allowance), and settles to its actual cost when done. The counters live in
 * the shared store and change by one atomic script, so concurrent consults on
 * any number of nodes can never reserve past a limit together.
 */
export class BudgetLedger {
  private readonly now: () => number;

  constructor(private readonly options: BudgetLedgerOptions) {
    this.now = options.now ?? Date.now;
  }

  /** The rules that bind `principal`: its own, its roles', everyone's. */
  rulesFor(principal: Principal): BudgetConfig[] {
    return this.options.rules.filter(
      (r) => r.principal === principal.id || r.principal === "*" || (r.principal.startsWith("role:") && principal.roles.includes(r.principal.slice(5))),
    );
  }

  private applicable(principal: Principal): Applicable[] {
    const at = new Date(this.now());
    return this.rulesFor(principal).map((rule) => {
      const { start, end } = periodBounds(rule.period, at);
      // One counter per principal and period: rules of the same period share it, each with its own limit.
      return { rule, key: `budget:${principal.id}:${rule.period}:${start.toISOString().slice(0, 10)}`, limitNano: toNano(rule.limitUsd), start, end };
    });
  }

  /**
   * Reserves `amountUsd` against every budget of `principal`, or throws
   * BUDGET_EXCEEDED (nothing reserved) naming the budget that would be passed.
   */
  async reserve(principal: Principal, amountUsd: number): Promise<Reservation> {
    // Rules of one period share a counter: it is checked once, against the tightest of their limits.
    const tightest = new Map<string, Applicable>();
    for (const b of this.applicable(principal)) {
      const seen = tightest.get(b.key);
      if (!seen || b.limitNano < seen.limitNano) tightest.set(b.key, b);
    }
    const budgets = [...tightest.values()];
    const amount = toNano(amountUsd);
    if (budgets.length === 0) return { amountUsd, settle: async () => undefined };
    const counters: LimitedCounter[] = budgets.map((b) => ({
      key: b.key,
      limit: b.limitNano,
      // Kept a day past the period's end, then dropped.
      ttlSec: Math.ceil((b.end.getTime() - this.now()) / 1000) + 86_400,
    }));
    let refused = await this.options.shared.addWithinLimits(counters, amount);
    if (refused === MISSING_COUNTER) {
      // First use this period (or Redis lost the counters): they start from what the store recorded. Only then:
      // that sum waits for this node's writes in flight and reads every usage row of the period.
      const initial = await Promise.all(budgets.map((b) => this.options.spentSince(principal.id, b.start)));
      refused = await this.options.shared.addWithinLimits(
        counters.map((c, i) => ({ ...c, initial: toNano(initial[i]!) })),
        amount,
      );
    }
    if (refused >= 0) {
      const b = budgets[refused]!;
      const [used] = await this.options.shared.read([b.key]);
      throw new BudgetExceededError(
        `This consult could cost up to $${amountUsd.toFixed(4)}, which would pass the ${b.rule.period}ly budget of $${b.rule.limitUsd} for ${principal.id} ` +
          `($${fromNano(used ?? 0).toFixed(4)} used or reserved; it resets ${b.end.toISOString()}). Ask fewer experts, lower maxTokens, or wait.`,
        { data: { principal: principal.id, rule: b.rule.principal, period: b.rule.period, limitUsd: b.rule.limitUsd, usedUsd: fromNano(used ?? 0), requestedUsd: amountUsd, resetsAt: b.end.toISOString() } },
      );
    }
    const keys = budgets.map((b) => b.key);
    let settled = false;
    return {
      amountUsd,
      settle: async (actualUsd: number) => {
        if (settled) return;
        settled = true;
        const delta = toNano(actualUsd) - amount;
        if (delta !== 0) await this.options.shared.add(keys, delta);
      },
    };
  }

  /** Every budget of `principal` with what is used and what remains. */
  async status(principal: Principal): Promise<BudgetStatus[]> {
    const budgets = this.applicable(principal);
    const used = await this.options.shared.read(budgets.map((b) => b.key));
    return Promise.all(
      budgets.map(async (b, i) => {
        // A counter nobody touched this period yet reads 0: then what the store recorded.
        const usedUsd = (used[i] ?? 0) !== 0 ? fromNano(used[i]!) : await this.options.spentSince(principal.id, b.start);
        return {
          rule: b.rule.principal,
          period: b.rule.period,
          limitUsd: b.rule.limitUsd,
          usedUsd,
          remainingUsd: Math.max(0, b.rule.limitUsd - usedUsd),
          periodStart: b.start.toISOString(),
          periodEnd: b.end.toISOString(),
        };
      }),
    );
  }
}
