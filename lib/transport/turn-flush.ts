/**
 * How many bytes a connection gathers in one event-loop turn before it writes
 * them at once all the same (nats.js's own threshold is 32 KiB: two 16 KB
 * packets). Measured side by side (benchmarks/actor-call, 256 calls in
 * flight): 64 and 128 KiB did best; 1 MiB made two busy nodes take turns (a
 * whole window of calls in one write, the peer idle meanwhile) and lost at 1 KB.
 */
export const TURN_FLUSH_MAX_BYTES = 128 * 1024;

/** The parts of nats.js's ProtocolHandler (internal, nats 2.x) that the turn flush replaces or reads. */
interface NatsProtocolHandler {
  flushPending(): void;
  outbound: { size(): number };
  pendingLimit: number;
}

const installed = Symbol("core.turnFlush");

function protocolOf(connection: unknown): (NatsProtocolHandler & { [installed]?: true }) | undefined {
  const protocol = (connection as { protocol?: Partial<NatsProtocolHandler> } | null | undefined)?.protocol;
  if (typeof protocol?.flushPending !== "function" || typeof protocol.outbound?.size !== "function" || typeof protocol.pendingLimit !== "number") return undefined;
  return protocol as NatsProtocolHandler;
}

/**
 * Makes a nats.js connection write what it has to send once per event-loop
 * turn (at its end, in `setImmediate`) instead of at the first microtask
 * checkpoint after each publish. A node answering many calls publishes their
 * packets from different microtask depths of one turn, and nats.js wrote each
 * group as it came: one system call, one wake-up of nats-server and of the
 * peer per group. Gathered, a turn's packets leave in one write; a packet
 * waits at most for the rest of its turn. Past `maxBytes` the buffer is
 * written at once, as nats.js does past its own threshold.
 *
 * nats.js has no option for this, so its ProtocolHandler's `flushPending` is
 * replaced on this one connection. Answers false, changing nothing, when the
 * connection lacks the parts relied on (another nats.js major version).
 */
export function flushOncePerTurn(connection: unknown, maxBytes = TURN_FLUSH_MAX_BYTES): boolean {
  const protocol = protocolOf(connection);
  if (!protocol) return false;
  if (protocol[installed]) return true;
  protocol[installed] = true;
  protocol.pendingLimit = Math.max(protocol.pendingLimit, maxBytes);
  const flushNow = protocol.flushPending.bind(protocol);
  let scheduled = false;
  const flushAtTurnEnd = (): void => {
    scheduled = false;
    flushNow();
  };
  protocol.flushPending = () => {
    if (protocol.outbound.size() >= protocol.pendingLimit) flushNow();
    else if (!scheduled) {
      scheduled = true;
      setImmediate(flushAtTurnEnd);
    }
  };
  return true;
}
