import { connect, type ConnectionOptions, type NatsConnection } from "nats";

/** NATS_URL may list several servers, separated by commas. */
export function natsServers(url: string): string[] {
  return url
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
}

/**
 * A connection of CORE's own beside Moleculer's transporter (ingress, jobs,
 * alerts, leases): named after its use and node so `nats server report
 * connections` tells them apart, and reconnecting for as long as the node
 * lives (every 500 ms), as the transporter does.
 */
export function connectNats(url: string, name: string, options: Partial<ConnectionOptions> = {}): Promise<NatsConnection> {
  return connect({ servers: natsServers(url), name, maxReconnectAttempts: -1, reconnectTimeWait: 500, ...options });
}
