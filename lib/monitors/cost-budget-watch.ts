import type { SharedStore } from "../coordination/shared-store";
import type { Alert, AlertSeverity } from "./alert";
import type { BudgetReading } from "./cost-budget-readings";

/** The shares of a limit that raise an alert, lowest first. */
export const COST_THRESHOLDS: ReadonlyArray<{ share: number; severity: AlertSeverity }> = [
  { share: 0.8, severity: "warning" },
  { share: 1, severity: "critical" },
];

/** Where the watch keeps what it raised, so a restarted or moved cost monitor raises nothing twice. */
export const COST_MARKS_KEY = "monitor:cost:marks";

/** What was raised for one budget in one period. */
interface Mark {
  periodStart: string;
  periodEnd: string;
  /** The highest share raised this period (0: none). */
  share: number;
  severity: AlertSeverity;
  /** The node that raised it: the resolving alert names the same one, so the pair matches. */
  nodeID: string;
}

type Marks = Record<string, Mark>;

export interface CostBudgetWatchOptions {
  /** Shared state (Redis in a cluster): where the marks live. */
  marks: Pick<SharedStore, "get" | "set">;
  nodeID: string;
  now?: () => number;
}

const usd = (x: number) => `$${x.toFixed(4)}`;
const percent = (share: number) => `${Math.floor(share * 100)} %`;
const PERIODLY: Readonly<Record<string, string>> = { day: "daily", week: "weekly", month: "monthly" };

/**
 * Turns budget readings into alerts `cost.budget:<name>`: raised once per
 * budget period per threshold (80 % warning, 100 % critical; a jump past both
 * raises only the critical one), resolved when a new period starts. What was
 * raised is kept in the shared state, one JSON document, so a cost monitor
 * that restarts or moves to another node neither raises an alert twice nor
 * forgets to resolve one. (One writer: the cost monitor is a singleton.)
 */
export class CostBudgetWatch {
  private readonly now: () => number;

  constructor(private readonly options: CostBudgetWatchOptions) {
    this.now = options.now ?? Date.now;
  }

  async evaluate(readings: readonly BudgetReading[]): Promise<Alert[]> {
    const marks = await this.load();
    const alerts: Alert[] = [];
    let changed = false;
    const now = this.now();
    const read = new Set<string>();
    for (const r of readings) {
      read.add(r.name);
      let mark = marks[r.name];
      if (mark && mark.periodStart !== r.periodStart) {
        if (mark.share > 0) alerts.push(this.resolved(r.name, mark, r));
        delete marks[r.name];
        mark = undefined;
        changed = true;
      }
      const share = r.limitUsd > 0 ? r.usedUsd / r.limitUsd : 0;
      const crossed = [...COST_THRESHOLDS].reverse().find((t) => share >= t.share);
      if (!crossed || (mark && mark.share >= crossed.share)) continue;
      const nodeID = mark?.nodeID ?? this.options.nodeID;
      marks[r.name] = { periodStart: r.periodStart, periodEnd: r.periodEnd, share: crossed.share, severity: crossed.severity, nodeID };
      changed = true;
      alerts.push(this.raised(r, share, crossed, nodeID));
    }
    // A budget nobody spent against in its new period has no reading: its period's end resolves it.
    for (const [name, mark] of Object.entries(marks)) {
      if (read.has(name) || Date.parse(mark.periodEnd) > now) continue;
      if (mark.share > 0) alerts.push(this.resolved(name, mark));
      delete marks[name];
      changed = true;
    }
    if (changed) await this.save(marks);
    return alerts;
  }

  private raised(r: BudgetReading, share: number, crossed: (typeof COST_THRESHOLDS)[number], nodeID: string): Alert {
    const used = `${usd(r.usedUsd)} of ${usd(r.limitUsd)} used (spent and reserved)`;
    const message =
      crossed.share >= 1
        ? `Budget ${r.name} has reached its limit: ${used}; consults that would pass it are refused until it resets at ${r.periodEnd}`
        : `Budget ${r.name} is at ${percent(share)} of its ${PERIODLY[r.period] ?? r.period} limit: ${used}; it resets at ${r.periodEnd}`;
    return {
      monitor: "cost",
      key: `cost.budget:${r.name}`,
      severity: crossed.severity,
      state: "raised",
      nodeID,
      message,
      value: r.usedUsd,
      threshold: r.limitUsd * crossed.share,
      details: {
        rule: r.rule,
        principal: r.principal,
        period: r.period,
        limitUsd: r.limitUsd,
        usedUsd: r.usedUsd,
        share,
        periodStart: r.periodStart,
        periodEnd: r.periodEnd,
        checkedBy: this.options.nodeID,
      },
      at: this.now(),
    };
  }

  private resolved(name: string, mark: Mark, now?: BudgetReading): Alert {
    const usedNow = now ? `: ${usd(now.usedUsd)} of ${usd(now.limitUsd)} used so far` : "";
    return {
      monitor: "cost",
      key: `cost.budget:${name}`,
      severity: mark.severity,
      state: "resolved",
      nodeID: mark.nodeID,
      message: `Budget ${name}: the period that reached ${percent(mark.share)} ended at ${mark.periodEnd}; a new one started${usedNow}`,
      details: { periodStart: mark.periodStart, periodEnd: mark.periodEnd, share: mark.share, checkedBy: this.options.nodeID },
      at: this.now(),
    };
  }

  private async load(): Promise<Marks> {
    const text = await this.options.marks.get(COST_MARKS_KEY);
    if (!text) return {};
    try {
      const parsed = JSON.parse(text) as unknown;
      return typeof parsed === "object" && parsed !== null && !Array.isArray(parsed) ? (parsed as Marks) : {};
    } catch {
      return {};
    }
  }

  private async save(marks: Marks): Promise<void> {
    // Kept until the longest period (a month) and the next have passed: long enough to resolve anything raised.
    const ttlMs = 63 * 86_400_000;
    await this.options.marks.set(COST_MARKS_KEY, JSON.stringify(marks), ttlMs);
  }
}
