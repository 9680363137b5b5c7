/**
 * Each expert's recent answering time (an exponentially weighted mean), so a
 * consult can ask the expert expected to answer last first. The experts are
 * asked one after another on one thread, each request costing CPU to build and
 * write, and a consult waits for its slowest: asked last, the slowest would
 * start late by the others' requests (about 0.3 ms each under load,
 * benchmarks/consult). An expert not yet seen counts as the slowest.
 */
export class ExpertLatencies {
  private readonly means = new Map<string, number>();

  /** `weight`: how much the newest observation counts, in (0, 1]. */
  constructor(private readonly weight = 0.2) {
    if (!(weight > 0 && weight <= 1)) throw new RangeError(`weight must be in (0, 1], not ${weight}`);
  }

  /** One answer (or a wait that ran out) of `expertId` after `ms`. */
  observe(expertId: string, ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) return;
    const mean = this.means.get(expertId);
    this.means.set(expertId, mean === undefined ? ms : mean + this.weight * (ms - mean));
  }

  /** The expected answering time of `expertId` (ms); undefined before its first observation. */
  expected(expertId: string): number | undefined {
    return this.means.get(expertId);
  }

  /** Indices of `experts` in the order to ask them: unseen first, then slowest expected first; ties keep the given order. */
  dispatchOrder(experts: readonly string[]): number[] {
    const key = (i: number) => this.means.get(experts[i]!) ?? Infinity;
    return experts.map((_, i) => i).sort((a, b) => key(b) - key(a) || a - b);
  }
}
