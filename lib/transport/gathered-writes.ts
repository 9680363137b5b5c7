/**
 * A write waits until this many microtask checkpoints in a row have added
 * nothing to it: answers to the messages of one inbound read leave a few
 * awaits apart (an actor's mailbox lets the next message in as each one
 * finishes), and nats.js wrote at the first checkpoint, one write per group.
 */
export const QUIET_CHECKPOINTS = 8;

/**
 * What a turn must have gathered, once quiet, to wait for the end of the turn
 * (`setImmediate`, for the answers to the turn's other inbound reads) instead
 * of leaving at once: a lone answer is not held back, nor charged a
 * `setImmediate` (about 5 µs of CPU a call at one call in flight).
 */
export const TURN_GATHER_BYTES = 32 * 1024;

/**
 * What a connection gathers at most before writing it at once all the same
 * (nats.js's own threshold is 32 KiB: two 16 KB packets). Measured side by
 * side (benchmarks/actor-call, 256 calls in flight): 64 and 128 KiB did best;
 * 1 MiB made two busy nodes take turns (a whole window of calls in one write,
 * the peer idle meanwhile) and lost at 1 KB.
 */
export const MAX_GATHERED_BYTES = 128 * 1024;

/** The parts of nats.js's ProtocolHandler (internal, nats 2.x) that gatherWrites replaces or reads. */
interface NatsProtocolHandler {
  flushPending(): void;
  outbound: { size(): number };
  pendingLimit: number;
}

const installed = Symbol("core.gatheredWrites");

function protocolOf(connection: unknown): (NatsProtocolHandler & { [installed]?: true }) | undefined {
  const protocol = (connection as { protocol?: Partial<NatsProtocolHandler> } | null | undefined)?.protocol;
  if (typeof protocol?.flushPending !== "function" || typeof protocol.outbound?.size !== "function" || typeof protocol.pendingLimit !== "number") return undefined;
  return protocol as NatsProtocolHandler;
}

/**
 * Makes a nats.js connection gather what it sends before writing it. nats.js
 * writes its buffer at the first microtask checkpoint after a publish; a node
 * answering many calls at once publishes from different microtask depths and
 * across several inbound reads of one event-loop turn, so it made one system
 * call, and woke nats-server and the peer, for each group. Here a write waits
 * until the microtask queue has been quiet for QUIET_CHECKPOINTS checkpoints;
 * if TURN_GATHER_BYTES or more are waiting by then, it waits for the end of
 * the turn. Past `maxBytes` the buffer is written at once. Same NATS messages,
 * fewer and larger writes.
 *
 * nats.js has no option for this, so its ProtocolHandler's `flushPending` is
 * replaced on this one connection. Answers false, changing nothing, when the
 * connection lacks the parts relied on (another nats.js major version).
 */
export function gatherWrites(connection: unknown, maxBytes = MAX_GATHERED_BYTES): boolean {
  const protocol = protocolOf(connection);
  if (!protocol) return false;
  if (protocol[installed]) return true;
  protocol[installed] = true;
  protocol.pendingLimit = Math.max(protocol.pendingLimit, maxBytes);
  const flushNow = protocol.flushPending.bind(protocol);
  let scheduled = false;
  let observed = 0;
  let quiet = 0;
  const flush = (): void => {
    scheduled = false;
    flushNow();
  };
  const whenQuiet = (): void => {
    const size = protocol.outbound.size();
    // Written meanwhile (the buffer reached maxBytes): the next publish schedules anew.
    if (size === 0) scheduled = false;
    else if (size !== observed) {
      observed = size;
      quiet = 0;
      queueMicrotask(whenQuiet);
    } else if (++quiet < QUIET_CHECKPOINTS) queueMicrotask(whenQuiet);
    else if (size >= TURN_GATHER_BYTES) setImmediate(flush);
    else flush();
  };
  protocol.flushPending = () => {
    const size = protocol.outbound.size();
    if (size >= protocol.pendingLimit) flushNow();
    else if (!scheduled) {
      scheduled = true;
      observed = size;
      quiet = 0;
      queueMicrotask(whenQuiet);
    }
  };
  return true;
}
