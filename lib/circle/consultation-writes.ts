import type { Store } from "../store/store";

/** Writes started at once beyond which a caller waits for its own write (nothing is dropped: these rows are usage). */
export const MAX_WRITES_IN_FLIGHT = 1_000;

/** The writes of one store still in flight, by consultation id. */
const inFlight = new WeakMap<Store, Map<string, Promise<void>>>();

/**
 * Consultation rows written after their answer (the OpenAI pass-through's,
 * see PassThroughDeps.save), per store, so that every reader of this node
 * waits for them: ConsultationStore's get, list and spentSince, and the cost
 * summary, call `settled` first, so the consultation, its usage and its cost
 * are readable on this node the moment the answer is. The row itself is the
 * same statement, committed as durably (WAL flushed) — only later, by the
 * time it takes. A node that stops writes them before its store closes
 * (`flushWrites` from the node's StoreLifecycle). A write that fails is reported
 * to `onFailure` with its consultation's id; the answer had been given.
 */
export function writeAfterAnswer(store: Store, id: string, write: () => Promise<void>, onFailure: (id: string, err: unknown) => void): Promise<void> {
  let pending = inFlight.get(store);
  if (!pending) inFlight.set(store, (pending = new Map()));
  const writes = pending;
  // Started on the next turn of the event loop: the answer (resolved in this turn's microtasks) leaves first.
  const written = new Promise<void>((resolve) => setImmediate(resolve))
    .then(write)
    .catch((err: unknown) => onFailure(id, err))
    .finally(() => writes.delete(id));
  // Bounded: past the limit (a database slower than the answers), the answer waits for its row as it did before.
  const full = writes.size >= MAX_WRITES_IN_FLIGHT;
  writes.set(id, written);
  return full ? written : Promise.resolve();
}

/** Resolves once the writes of `store` started so far (or only consultation `id`'s) have finished; what starts later is not waited for. */
export async function settled(store: Store | undefined, id?: string): Promise<void> {
  const writes = store && inFlight.get(store);
  if (!writes || writes.size === 0) return;
  if (id !== undefined) await writes.get(id);
  else await Promise.all(writes.values());
}

/** Resolves once `store` has no write in flight: a stopping node, before it closes the store. */
export async function flushWrites(store: Store | undefined): Promise<void> {
  const writes = store && inFlight.get(store);
  while (writes && writes.size > 0) await Promise.all(writes.values());
}

/** Writes of `store` in flight (for tests). */
export function writesInFlight(store: Store): number {
  return inFlight.get(store)?.size ?? 0;
}
