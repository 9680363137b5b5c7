import { Transporters } from "moleculer";
import { gatherWrites } from "./gathered-writes";

/**
 * Moleculer's NATS transporter whose connection gathers its writes
 * (lib/transport/gathered-writes): the packets a busy node sends in one
 * event-loop turn leave in a few large writes. Same subjects and packets as
 * Moleculer's: nodes with and without it talk to each other.
 */
export class CoreNatsTransporter extends Transporters.NATS {
  override connect(): Promise<void> {
    return super.connect().then(() => {
      if (!gatherWrites(this.client)) this.logger.warn("NATS writes are not gathered: this nats client lacks the internals CORE relies on (lib/transport/gathered-writes.ts)");
    });
  }
}
