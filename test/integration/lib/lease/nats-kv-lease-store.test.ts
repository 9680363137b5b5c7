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

    // node-c dies (stops renewing): just after the TTL the lease is free again, without
    // waiting for the server to expire the entry; one taker of two wins.
    const d = await open(1_500);
    const t0 = Date.now();
    let winners: string[] = [];
    while (winners.length === 0) {
      const [byB, byD] = await Promise.all([b.acquire("k", "node-b"), d.acquire("k", "node-d")]);
      winners = [...(byB ? ["node-b"] : []), ...(byD ? ["node-d"] : [])];
      if (winners.length === 0) await new Promise((r) => setTimeout(r, 50));
    }
    const waited = Date.now() - t0;
    expect(winners).toHaveLength(1);
    expect(await c.holder("k")).toBe(winners[0]);
    expect(waited).toBeGreaterThanOrEqual(1_400);
    expect(waited).toBeLessThan(2_200);
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
