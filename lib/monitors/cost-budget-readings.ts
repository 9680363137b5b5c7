import type { BudgetConfig } from "../../config/file-schema";
import { periodBounds, type BudgetStatus, type Principal } from "../costs/budget-ledger";

/** One budget of one principal, as the cost monitor checks it. */
export interface BudgetReading extends BudgetStatus {
  /** Stable across checks: `<rule>/<period>`, or `<rule>@<principal>/<period>` for a rule binding many principals. */
  name: string;
  principal: string;
}

/** Principals checked at most per period for `*` and `role:` budgets: the biggest spenders first. */
export const MAX_PRINCIPALS_CHECKED = 1_000;

export interface BudgetReadingSources {
  rules: readonly BudgetConfig[];
  /** Every budget binding `principal`, as BudgetLedger.status gives it. */
  status(principal: Principal): Promise<BudgetStatus[]>;
  /** Principals with spending recorded since `since`, most spent first. */
  spenders(since: Date): Promise<string[]>;
  /** A principal's roles (a user's or an API key's role), for `role:` budgets. */
  rolesOf(principalId: string): Promise<string[]>;
  now?: () => number;
  maxPrincipals?: number;
}

/** The name a budget of `principal` goes by in alerts (`cost.budget:<name>`). */
export function budgetName(rule: string, principal: string, period: string): string {
  return rule === principal ? `${rule}/${period}` : `${rule}@${principal}/${period}`;
}

/**
 * Every configured budget as it stands now, for each principal it binds: a
 * rule naming a principal is read for that principal; a `*` or `role:` rule
 * for each principal that spent in its current period (nobody else can be
 * near its limit). Returns whether the principals had to be cut to the limit.
 */
export async function readBudgets(sources: BudgetReadingSources): Promise<{ readings: BudgetReading[]; truncated: boolean }> {
  const now = new Date((sources.now ?? Date.now)());
  const max = sources.maxPrincipals ?? MAX_PRINCIPALS_CHECKED;
  const principals = new Set<string>();
  let truncated = false;
  const periods = new Set<BudgetConfig["period"]>();
  for (const rule of sources.rules) {
    if (rule.principal === "*" || rule.principal.startsWith("role:")) periods.add(rule.period);
    else principals.add(rule.principal);
  }
  for (const period of periods) {
    const spenders = await sources.spenders(periodBounds(period, now).start);
    if (spenders.length > max) truncated = true;
    for (const id of spenders.slice(0, max)) principals.add(id);
  }
  const needRoles = sources.rules.some((r) => r.principal.startsWith("role:"));
  const readings = new Map<string, BudgetReading>();
  for (const id of principals) {
    const roles = needRoles ? await sources.rolesOf(id) : [];
    for (const status of await sources.status({ id, roles })) {
      const name = budgetName(status.rule, id, status.period);
      // Two rules of one name (same principal and period): the tighter limit is the one that bites.
      const seen = readings.get(name);
      if (!seen || status.limitUsd < seen.limitUsd) readings.set(name, { ...status, name, principal: id });
    }
  }
  return { readings: [...readings.values()], truncated };
}
