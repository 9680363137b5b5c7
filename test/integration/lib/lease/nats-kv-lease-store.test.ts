import { UnavailableError } from "../../../../lib/errors";
import { NatsKvLeaseStore } from "../../../../lib/lease/nats-kv-lease-store";
import { PrivateNats } from "../../../helpers/nats-server";
import { deleteStreams } from "../../../helpers/nats-cleanup";
import { NATS_URL } from "../../../helpers/services";
import { uniqueName } from "../../../helpers/unique";

const bucket = uniqueName("leases");
const stores: NatsKvLeaseStore[] = [];

async function open(ttlMs: number): Promise<NatsKvLeaseStore> {
  const s = await NatsKvLeaseStore.open({ servers: [NATS_URL], bucket, ttlMs });
  stores.push(s);
  return s;
}

afterAll(async () => {
  await Promise.all(stores.map((s) => s.close()));
  await deleteStreams([`KV_${bucket}`]);
});

describe("NatsKvLeaseStore (real NATS JetStream)", () => {
  it("one holder at a time; renewal keeps it; release frees it; a holder that stops renewing loses it after the TTL", async () => {
    const [b, c] = [await open(1_500), await open(1_500)];
    expect(await b.acquire("k", "node-b")).toBe(true);
    expect(await c.acquire("k", "node-c")).toBe(false);
    expect(await b.acquire("k", "node-b")).toBe(true); // already ours
    expect(await b.renew("k", "node-b")).toBe(true);
    expect(await c.renew("k", "node-c")).toBe(false);
    expect(await c.holder("k")).toBe("node-b");

    await b.release("k");
    expect(await c.acquire("k", "node-c")).toBe(true);

    // node-c dies (stops renewing): after the TTL the lease is free again.
    const t0 = Date.now();
    while (!(await b.acquire("k", "node-b"))) await new Promise((r) => setTimeout(r, 100));
    const waited = Date.now() - t0;
    expect(waited).toBeGreaterThanOrEqual(1_000);
    expect(waited).toBeLessThan(4_000);
    expect(await c.renew("k", "node-c")).toBe(false);
  });

  it("says plainly what to do when the NATS server has no JetStream", async () => {
    const plain = await PrivateNats.start({ jetstream: false });
    try {
      const err = await NatsKvLeaseStore.open({ servers: [plain.url], bucket: "b", ttlMs: 1_000 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UnavailableError);
      expect((err as Error).message).toMatch(/Singleton actors need a NATS key-value bucket for their leases \(b\), which failed: .*Run nats-server with JetStream enabled \(-js\)/);
    } finally {
      await plain.dispose();
    }
  });
});
