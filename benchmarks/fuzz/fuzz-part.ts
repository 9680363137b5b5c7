/** What each part of `npm run fuzz` reports (benchmarks/fuzz/run.ts puts them in benchmarks/results/fuzz.{json,md}). */
export interface FuzzPartResult {
  part: "schemathesis" | "nats" | "consensus";
  /** The part's goal, as the issue states it. */
  goal: string;
  /** Cases actually generated and sent (counted from what ran, not from what was asked for). */
  cases: number;
  /** Cases asked for (the configured count). */
  requested: number;
  /** Failures by kind; empty when none. */
  failures: Record<string, number>;
  durationS: number;
  met: boolean;
  /** How each case ended, by outcome (statuses, error codes), for the record. */
  outcomes: Record<string, number>;
  /** A few failing cases, enough to reproduce them (seed and index, or the request). */
  examples: string[];
  notes: string[];
}

/** Counts by key. */
export class Tally {
  readonly counts: Record<string, number> = {};

  add(key: string, n = 1): void {
    this.counts[key] = (this.counts[key] ?? 0) + n;
  }

  get total(): number {
    return Object.values(this.counts).reduce((a, b) => a + b, 0);
  }
}

/** A positive integer from the environment, or the default. */
export function envCount(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer (got ${JSON.stringify(raw)})`);
  return n;
}

/** True when FUZZ_QUICK asks for the small counts CI uses. */
export const quick = (): boolean => process.env.FUZZ_QUICK === "1" || process.env.FUZZ_QUICK === "true";

/** Failures counted by kind, with the first few of each kind kept as examples. */
export class FailureLog {
  readonly tally = new Tally();
  readonly examples: string[] = [];

  constructor(private readonly perKind = 3) {}

  add(kind: string, example: string): void {
    this.tally.add(kind);
    if (this.tally.counts[kind]! <= this.perKind) this.examples.push(`${kind}: ${example}`);
  }
}
