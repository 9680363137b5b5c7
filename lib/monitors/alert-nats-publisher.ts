import type { NatsConnection } from "nats";
import { connectNats } from "../transport/nats-connection";
import type { Logger } from "../logger";
import { describeNatsUrl } from "../transport/wait-for-nats";
import type { CoreSubjects } from "../transport/subjects";
import type { Alert } from "./alert";

/** Alerts published before the connection is up, kept at most (the newest win). */
const PENDING_MAX = 256;

export interface AlertNatsPublisherOptions {
  /** NATS_URL: one server or several, comma-separated. */
  url: string;
  subjects: CoreSubjects;
  logger: Logger;
  /** The connection's name as the NATS server shows it. */
  name: string;
}

/**
 * Publishes each alert as JSON on `<prefix>.events.alerts.<monitor>` over a
 * plain NATS connection of its own (Moleculer's transporter subjects are
 * internal), so systems outside the cluster can subscribe to `core.events.>`.
 * Connects in the background and never throws at the caller: while NATS is
 * away, nats.js buffers what is published and the failure is logged once.
 */
export class AlertNatsPublisher {
  private nc: NatsConnection | undefined;
  private readonly pending: Alert[] = [];
  private closed = false;
  private failing = false;
  private readonly connecting: Promise<void>;

  constructor(private readonly options: AlertNatsPublisherOptions) {
    this.connecting = this.open();
  }

  /** The subject an alert goes to. */
  subjectOf(alert: Pick<Alert, "monitor">): string {
    return this.options.subjects.event(`alerts.${alert.monitor}`);
  }

  publish(alert: Alert): void {
    if (this.closed) return;
    if (!this.nc) {
      if (this.pending.push(alert) > PENDING_MAX) this.pending.shift();
      return;
    }
    try {
      this.nc.publish(this.subjectOf(alert), JSON.stringify(alert));
      this.failing = false;
    } catch (err) {
      if (!this.failing) this.options.logger.warn(`Publishing alerts on NATS failed: ${(err as Error).message}; further failures are not logged until one succeeds`);
      this.failing = true;
    }
  }

  /** Sends what is buffered, then closes. */
  async close(): Promise<void> {
    this.closed = true;
    // Still connecting (NATS away since the start): nothing was sent, nothing to wait for.
    if (!this.nc) {
      void this.connecting.then(() => this.nc?.close());
      return;
    }
    await this.nc.drain().catch(() => this.nc?.close());
  }

  private async open(): Promise<void> {
    try {
      const nc = await connectNats(this.options.url, this.options.name, { waitOnFirstConnect: true });
      if (this.closed) {
        await nc.close();
        return;
      }
      this.nc = nc;
      for (const alert of this.pending.splice(0)) this.publish(alert);
    } catch (err) {
      this.options.logger.warn(`Alerts will not be published on NATS (${describeNatsUrl(this.options.url)}): ${(err as Error).message}`);
    }
  }
}
