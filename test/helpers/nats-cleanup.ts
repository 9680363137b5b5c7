import { connect } from "nats";
import { NATS_URL } from "./services";

/** Deletes the JetStream streams a test created on the shared NATS (KV buckets are streams named KV_<bucket>). */
export async function deleteStreams(names: string[], url = NATS_URL): Promise<void> {
  const nc = await connect({ servers: url });
  try {
    const jsm = await nc.jetstreamManager();
    for (const name of names) await jsm.streams.delete(name).catch(() => undefined);
  } finally {
    await nc.close();
  }
}
