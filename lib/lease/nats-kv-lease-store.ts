import { StringCodec, type KV, type NatsConnection } from "nats";
import { connectNats } from "../transport/nats-connection";
import { UnavailableError } from "../errors";
import type { LeaseStore } from "./lease-store";

const codec = StringCodec();

/**
 * How much older than the TTL a lease must look before it is taken over
 * without waiting for the server to expire it: room for the clocks of this
 * node and the NATS server to differ (NTP keeps them within milliseconds).
 */
const CLOCK_MARGIN_MS = 200;

/**
 * Leases in a NATS JetStream key-value bucket whose TTL (max age) is the lease
 * TTL. Taking a lease is an atomic create; renewing is a compare-and-set on the
 * revision we wrote, which also restarts the TTL; a holder that dies stops
 * writing and its entry expires.
 */
export class NatsKvLeaseStore implements LeaseStore {
  /** The revision of our last write per key: what a renewal must match. */
  private readonly revisions = new Map<string, number>();

  private constructor(private readonly nc: NatsConnection, private readonly kv: KV, readonly ttlMs: number) {}

  static async open(options: { servers: string[]; bucket: string; ttlMs: number; name?: string }): Promise<NatsKvLeaseStore> {
    const nc = await connectNats(options.servers.join(","), options.name ?? "core-leases");
    try {
      const kv = await nc.jetstream().views.kv(options.bucket, { ttl: options.ttlMs, history: 1 });
      return new NatsKvLeaseStore(nc, kv, options.ttlMs);
    } catch (err) {
      await nc.close();
      const reason = (err as Error).message;
      throw new UnavailableError(
        `Singleton actors need a NATS key-value bucket for their leases (${options.bucket}), which failed: ${reason}. ` +
          "Run nats-server with JetStream enabled (-js), or run no singleton actors on this node.",
        { cause: err, data: { bucket: options.bucket } },
      );
    }
  }

  async acquire(key: string, holder: string): Promise<boolean> {
    try {
      this.revisions.set(key, await this.kv.create(key, codec.encode(holder)));
      return true;
    } catch {
      // Taken (or NATS unreachable): ours only if the entry says so.
      const entry = await this.kv.get(key).catch(() => null);
      if (!entry || entry.operation !== "PUT") return false;
      if (codec.decode(entry.value) === holder) {
        this.revisions.set(key, entry.revision);
        return this.renew(key, holder);
      }
      // Its holder stopped renewing: the server expires the entry only some time after its TTL
      // (about a second, measured), so a lease last written longer than the TTL ago is taken over
      // at once, by a compare-and-set on the revision read (two takers cannot both win).
      if (Date.now() - entry.created.getTime() > this.ttlMs + CLOCK_MARGIN_MS) {
        try {
          this.revisions.set(key, await this.kv.update(key, codec.encode(holder), entry.revision));
          return true;
        } catch {
          return false;
        }
      }
      return false;
    }
  }

  async renew(key: string, holder: string): Promise<boolean> {
    const revision = this.revisions.get(key);
    if (revision === undefined) return false;
    try {
      this.revisions.set(key, await this.kv.update(key, codec.encode(holder), revision));
      return true;
    } catch {
      this.revisions.delete(key);
      return false;
    }
  }

  /** Deletes the entry only if our write is still the last one (previousSeq), so another holder's lease is never removed. */
  async release(key: string): Promise<void> {
    const revision = this.revisions.get(key);
    this.revisions.delete(key);
    if (revision === undefined) return;
    await this.kv.delete(key, { previousSeq: revision }).catch(() => undefined);
  }

  async holder(key: string): Promise<string | undefined> {
    const entry = await this.kv.get(key).catch(() => null);
    return entry && entry.operation === "PUT" ? codec.decode(entry.value) : undefined;
  }

  async close(): Promise<void> {
    await this.nc.drain().catch(() => this.nc.close());
  }
}
