import { ServiceBroker } from "moleculer";
import { connect, StringCodec, type NatsConnection } from "nats";
import { CoreNatsTransporter } from "../../../../lib/transport/core-nats-transporter";
import { gatherWrites, QUIET_CHECKPOINTS, TURN_GATHER_BYTES } from "../../../../lib/transport/gathered-writes";
import { startTestBroker } from "../../../helpers/broker";
import { NATS_URL } from "../../../helpers/services";
import { uniqueName } from "../../../helpers/unique";

const sc = StringCodec();
/** Resolves in a later turn of the event loop (a timer), after the end-of-turn writes of this one. */
const endOfTurn = () => new Promise<void>((resolve) => setTimeout(resolve, 1));

/** Lets `n` microtask checkpoints pass, in this turn. */
async function checkpoints(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await Promise.resolve();
}

/** Counts the socket writes of a real connection (nats.js's transport `send`, one write each). */
function countWrites(connection: unknown): { readonly count: number } {
  const transport = (connection as { protocol: { transport: { send(frame: Uint8Array): void } } }).protocol.transport;
  const counter = { count: 0 };
  const send = transport.send.bind(transport);
  transport.send = (frame) => {
    counter.count++;
    send(frame);
  };
  return counter;
}

/** Publishes three messages from three microtask depths of one turn. */
async function publishAtThreeDepths(nc: NatsConnection, subject: string): Promise<void> {
  nc.publish(subject, sc.encode("a"));
  await Promise.resolve();
  nc.publish(subject, sc.encode("b"));
  await Promise.resolve();
  await Promise.resolve();
  nc.publish(subject, sc.encode("c"));
}

describe("gatherWrites", () => {
  const connections: NatsConnection[] = [];
  const open = async () => {
    const nc = await connect({ servers: NATS_URL });
    connections.push(nc);
    return nc;
  };
  afterAll(async () => {
    await Promise.all(connections.map((nc) => nc.close()));
  });
  /** A connection gathering its writes, idle (its connect-time writes done), its writes counted from here. */
  const gathering = async (maxBytes?: number) => {
    const nc = await open();
    expect(gatherWrites(nc, maxBytes)).toBe(true);
    await nc.flush();
    await endOfTurn();
    return { nc, writes: countWrites(nc) };
  };

  it("writes what a few microtask checkpoints publish at once, in order, where nats.js wrote at each checkpoint", async () => {
    const [gathered, plain, receiver] = [await open(), await open(), await open()];
    expect(gatherWrites(gathered)).toBe(true);
    const subject = uniqueName("gathered-writes");
    const received: string[] = [];
    receiver.subscribe(subject, { callback: (_err, msg) => received.push(sc.decode(msg.data)) });
    await receiver.flush();
    await Promise.all([gathered.flush(), plain.flush()]);
    await endOfTurn();

    const [gatheredWrites, plainWrites] = [countWrites(gathered), countWrites(plain)];
    await publishAtThreeDepths(plain, subject);
    await endOfTurn();
    await publishAtThreeDepths(gathered, subject);
    expect(gatheredWrites.count).toBe(0);
    await endOfTurn();

    expect(plainWrites.count).toBe(3);
    expect(gatheredWrites.count).toBe(1);
    await gathered.flush();
    await receiver.flush();
    for (let i = 0; i < 100 && received.length < 6; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(received).toEqual(["a", "b", "c", "a", "b", "c"]);
  });

  it("writes a small gathering once the microtask queue is quiet, before the turn ends", async () => {
    const { nc, writes } = await gathering();
    await publishAtThreeDepths(nc, uniqueName("gathered-writes-quiet"));
    await checkpoints(QUIET_CHECKPOINTS - 2);
    expect(writes.count).toBe(0);
    await checkpoints(4);
    expect(writes.count).toBe(1);
  });

  it("holds a large gathering to the end of the turn", async () => {
    const { nc, writes } = await gathering();
    const subject = uniqueName("gathered-writes-large");
    nc.publish(subject, new Uint8Array(TURN_GATHER_BYTES / 2));
    await checkpoints(2);
    nc.publish(subject, new Uint8Array(TURN_GATHER_BYTES / 2));
    await checkpoints(QUIET_CHECKPOINTS * 4);
    expect(writes.count).toBe(0);
    await new Promise<void>((resolve) => setImmediate(resolve));
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(writes.count).toBe(1);
  });

  it("writes at once when it has gathered maxBytes", async () => {
    const { nc, writes } = await gathering(64 * 1024);
    const payload = new Uint8Array(40 * 1024);
    const subject = uniqueName("gathered-writes-big");
    nc.publish(subject, payload);
    expect(writes.count).toBe(0);
    nc.publish(subject, payload); // 80 KiB gathered: past 64 KiB
    expect(writes.count).toBe(1);
    nc.publish(subject, payload);
    await endOfTurn();
    expect(writes.count).toBe(2);
  });

  it("is installed once however often it is asked", async () => {
    const nc = await open();
    expect(gatherWrites(nc)).toBe(true);
    expect(gatherWrites(nc)).toBe(true);
    await nc.flush();
    await endOfTurn();
    const writes = countWrites(nc);
    await publishAtThreeDepths(nc, uniqueName("gathered-writes-twice"));
    await endOfTurn();
    expect(writes.count).toBe(1);
  });

  it("changes nothing on what is not a nats.js 2.x connection", () => {
    expect(gatherWrites(undefined)).toBe(false);
    expect(gatherWrites({})).toBe(false);
    expect(gatherWrites({ protocol: { flushPending: () => undefined } })).toBe(false);
  });
});

describe("CoreNatsTransporter", () => {
  const namespace = uniqueName("gathered-writes-brokers");
  let server: ServiceBroker;
  let client: ServiceBroker;

  beforeAll(async () => {
    server = await startTestBroker({ namespace, nodeId: "server", services: [{ name: "echo", actions: { echo: (ctx: { params: unknown }) => ctx.params } }] });
    client = await startTestBroker({ namespace, nodeId: "client" });
    await client.waitForServices("echo", 10_000);
  });
  afterAll(async () => {
    await Promise.all([client?.stop(), server?.stop()]);
  });

  it("is the cluster's transporter: its connection gathers its writes, and a burst of calls is answered whole", async () => {
    const transporter = (server as unknown as { transit: { tx: CoreNatsTransporter } }).transit.tx;
    expect(transporter).toBeInstanceOf(CoreNatsTransporter);
    const writes = countWrites(transporter.client);
    await publishAtThreeDepths(transporter.client as NatsConnection, uniqueName("gathered-writes-transporter"));
    await endOfTurn();
    expect(writes.count).toBe(1);

    const calls = 400;
    const answers = await Promise.all(Array.from({ length: calls }, (_, i) => client.call("echo.echo", { i, pad: "x".repeat(512) })));
    expect(answers.map((a) => (a as { i: number }).i)).toEqual(Array.from({ length: calls }, (_, i) => i));
  });

  it("talks with a node on Moleculer's own NATS transporter, both ways: the packets are Moleculer's", async () => {
    const plain = new ServiceBroker({ namespace, nodeID: "plain", logger: false, serializer: "JSON", transporter: { type: "NATS", options: { url: NATS_URL } } });
    plain.createService({ name: "plain", actions: { twice: (ctx: { params: { n: number } }) => ctx.params.n * 2 } });
    await plain.start();
    try {
      await Promise.all([plain.waitForServices("echo", 10_000), client.waitForServices("plain", 10_000)]);
      const [fromPlain, fromCore] = await Promise.all([
        Promise.all(Array.from({ length: 50 }, (_, i) => plain.call("echo.echo", { i }))),
        Promise.all(Array.from({ length: 50 }, (_, i) => client.call("plain.twice", { n: i }))),
      ]);
      expect(fromPlain).toEqual(Array.from({ length: 50 }, (_, i) => ({ i })));
      expect(fromCore).toEqual(Array.from({ length: 50 }, (_, i) => i * 2));
    } finally {
      await plain.stop();
    }
  });
});
