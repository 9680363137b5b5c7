import { Transporters } from "moleculer";
import { flushOncePerTurn } from "./turn-flush";

/**
 * Moleculer's NATS transporter whose connection writes once per event-loop
 * turn (lib/transport/turn-flush): the packets a busy node sends in one turn
 * leave in one write. Same subjects and packets as Moleculer's: nodes with
 * and without it talk to each other.
 */
export class CoreNatsTransporter extends Transporters.NATS {
  override connect(): Promise<void> {
    return super.connect().then(() => {
      if (!flushOncePerTurn(this.client)) this.logger.warn("NATS writes are not gathered per event-loop turn: this nats client lacks the internals CORE relies on (lib/transport/turn-flush.ts)");
    });
  }
}
