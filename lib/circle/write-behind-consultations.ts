import type { Consultation } from "./consultation";
import type { ConsultationFilter, ConsultationPage, ConsultationStore } from "./consultation-store";

/** What the circle reads and writes of consultations (ConsultationStore, or this write-behind in front of it). */
export type Consultations = Pick<ConsultationStore, "save" | "get" | "list" | "spentSince">;

/** How long after the answer an embedded node writes the consultation's row. */
export const WRITE_DELAY_MS = 5;

/**
 * Answers a consult before its row is written, on an embedded node (PGlite).
 * There the wait bought nothing: PGlite commits without flushing its WAL
 * (synchronous_commit off, and single-user PostgreSQL has no WAL writer), so a
 * crash of the process loses the last consultations whether or not the answer
 * waited for the write — and the write, WASM woken after an idle expert wait,
 * was most of CORE's own time in a consult (benchmarks/consult). What the
 * answer does promise still holds: this node reads its own writes (get, list
 * and budget seeding wait for the writes in flight), and a node that stops
 * finishes them first (`flush`). A write that fails is logged; the consult was
 * already answered. With PostgreSQL the circle awaits the write: other nodes
 * must find the consultation the moment its id is known.
 */
export class WriteBehindConsultations implements Consultations {
  private readonly pending = new Map<string, Promise<void>>();

  constructor(
    private readonly store: ConsultationStore,
    /** Told about a write that failed after its consult was answered. */
    private readonly onFailure: (consultationId: string, err: unknown) => void,
  ) {}

  save(consultation: Consultation): Promise<void> {
    // Started a few ms later: PGlite runs the statement on this thread (1–2 ms of WASM), and the
    // answer should leave before it, and so should the requests of the consult its caller sends
    // next (on the next turn of the event loop, the write delayed them: benchmarks/consult).
    const write = new Promise<void>((resolve) => setTimeout(resolve, WRITE_DELAY_MS))
      .then(() => this.store.save(consultation))
      .catch((err: unknown) => this.onFailure(consultation.id, err))
      .finally(() => this.pending.delete(consultation.id));
    this.pending.set(consultation.id, write);
    return Promise.resolve();
  }

  async get(id: string): Promise<Consultation | undefined> {
    await this.pending.get(id);
    return this.store.get(id);
  }

  async list(filter: ConsultationFilter, limit: number, cursor?: string): Promise<ConsultationPage> {
    await this.flush();
    return this.store.list(filter, limit, cursor);
  }

  async spentSince(principal: string, since: Date): Promise<number> {
    await this.flush();
    return this.store.spentSince(principal, since);
  }

  /** Resolves once every write started so far has finished (a stopping node calls it). */
  async flush(): Promise<void> {
    while (this.pending.size > 0) await Promise.all(this.pending.values());
  }

  /** Writes in flight (for tests and metrics). */
  get inFlight(): number {
    return this.pending.size;
  }
}
