/**
 * Admits HTTP requests in batches when the node is busy: while requests
 * arrive several to an event-loop turn, each one waits for the end of the
 * turn in which it arrived, and every request of that turn then goes on
 * together. When they arrive one to a turn (a lone caller, a quiet node),
 * a request goes on at once and pays nothing but the turn's count.
 *
 * Why: Node serves each socket's request as its own callback, running it
 * through the whole pipeline (authentication, rate limit, schemas, RBAC, the
 * action, the answer) before reading the next socket, and then waits for the
 * client's next request. Released together, a turn's requests take each step
 * one after the other (their continuations queue behind each other), so
 * each step's code and data stay in the CPU's caches for the whole batch, and
 * their answers leave together: the client wakes once for many answers
 * rather than once for each (benchmarks/gateway measures it). The cost: one
 * `setImmediate` per turn that admits a request, and, on a busy node, the
 * wait until the turn's I/O callbacks are done.
 */
export class TurnBatch {
  /** Requests that asked for their turn since the current turn began (the turn's end is scheduled while this is above 0). */
  private arrived = 0;
  /** Whether the last turn that admitted anything admitted more than one request. */
  private busy = false;
  private gate: Promise<void> | undefined;
  private release: (() => void) | undefined;
  private readonly endTurn = () => {
    this.busy = this.arrived > 1;
    this.arrived = 0;
    const release = this.release;
    this.gate = undefined;
    this.release = undefined;
    release?.();
  };

  constructor(private readonly endOfTurn: (callback: () => void) => unknown = setImmediate) {}

  /**
   * Undefined when this request may go on now, else a promise that settles at
   * the end of this turn, shared by every request that waits in it.
   */
  turn(): Promise<void> | undefined {
    if (this.arrived++ === 0) this.endOfTurn(this.endTurn);
    if (!this.busy && this.arrived === 1) return undefined;
    this.gate ??= new Promise<void>((resolve) => (this.release = resolve));
    return this.gate;
  }
}
