import { readdirSync, readFileSync, readlinkSync } from "node:fs";

/**
 * What benchmarks/soak reads from inside the CORE node it soaks, without any
 * code of its own in the node:
 *
 * - the node's Prometheus endpoint (Moleculer's process metrics, refreshed
 *   every 5 s): process_memory_rss, process_memory_heap_size_used and
 *   process_internal_active_handles (process.getActiveResourcesInfo().length:
 *   sockets, servers, timers, pending fs requests);
 * - the node's open sockets from /proc/<pid>/fd (every TCP, UDP and Unix
 *   socket the process holds; Linux only), which no metric exports;
 * - at the two checkpoints, through the node's inspector (started with
 *   --inspect=127.0.0.1:0): a forced full GC, then process.memoryUsage() and
 *   process.getActiveResourcesInfo() by type, read at that instant.
 */

export interface ProcessSample {
  rssBytes: number;
  heapUsedBytes: number;
  /** process.getActiveResourcesInfo().length. */
  activeHandles: number;
  /** Open socket descriptors of the process; undefined off Linux. */
  sockets: number | undefined;
}

/** The value of a metric without labels other than the node's, from Prometheus text. */
function metricValue(text: string, name: string): number {
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, "m").exec(text);
  if (!m) throw new Error(`the node's /metrics has no ${name} (is CORE_METRICS on?)`);
  return Number(m[1]);
}

/** RSS, heap used and active handles from the node's /metrics; sockets from /proc. */
export async function scrapeNode(metricsUrl: string, pid: number | undefined): Promise<ProcessSample> {
  const res = await fetch(metricsUrl);
  if (!res.ok) throw new Error(`GET ${metricsUrl} answered ${res.status}`);
  const text = await res.text();
  return {
    rssBytes: metricValue(text, "process_memory_rss"),
    heapUsedBytes: metricValue(text, "process_memory_heap_size_used"),
    activeHandles: metricValue(text, "process_internal_active_handles"),
    sockets: openSockets(pid),
  };
}

/** Socket descriptors of a process (links to `socket:[inode]` in /proc/<pid>/fd); undefined when /proc cannot tell. */
export function openSockets(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    let n = 0;
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        if (readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith("socket:")) n++;
      } catch {
        // Closed between the listing and the readlink.
      }
    }
    return n;
  } catch {
    return undefined;
  }
}

/** What a socket of the node is for, by its ports: known peers by their remote port, the rest by kind. */
export interface SocketPeers {
  /** Remote port → name (4222 → "NATS", an expert's port → "experts"). */
  remote: Map<number, string>;
  /** Local port → name (the API's port → "API clients"). */
  local: Map<number, string>;
}

/** TCP sockets of the network namespace by inode: local port, remote port, listening or not (/proc/<pid>/net/tcp and tcp6). */
function tcpTable(pid: number): Map<string, { localPort: number; remotePort: number; listening: boolean }> {
  const table = new Map<string, { localPort: number; remotePort: number; listening: boolean }>();
  for (const file of ["tcp", "tcp6"]) {
    let text: string;
    try {
      text = readFileSync(`/proc/${pid}/net/${file}`, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10) continue;
      const port = (addr: string) => parseInt(addr.slice(addr.indexOf(":") + 1), 16);
      // Field 3 is the state: 0A is LISTEN.
      table.set(f[9]!, { localPort: port(f[1]!), remotePort: port(f[2]!), listening: f[3] === "0A" });
    }
  }
  return table;
}

/** The node's open sockets counted by what they are for (Linux only; undefined elsewhere). */
export function socketsByPeer(pid: number | undefined, peers: SocketPeers): Record<string, number> | undefined {
  if (pid === undefined) return undefined;
  try {
    const tcp = tcpTable(pid);
    const counts: Record<string, number> = {};
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      let link: string;
      try {
        link = readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        continue;
      }
      const m = /^socket:\[(\d+)\]$/.exec(link);
      if (!m) continue;
      const t = tcp.get(m[1]!);
      const kind = !t
        ? "Unix or UDP"
        : t.listening
          ? "listening"
          : (peers.local.get(t.localPort) ?? peers.remote.get(t.remotePort) ?? `other TCP (remote port ${t.remotePort})`);
      counts[kind] = (counts[kind] ?? 0) + 1;
    }
    return counts;
  } catch {
    return undefined;
  }
}

export interface InspectedSample extends ProcessSample {
  /** process.getActiveResourcesInfo() counted by type (TCPSocketWrap, Timeout, …). */
  resources: Record<string, number>;
}

/** A Chrome DevTools Protocol session on the node's inspector, opened for one checkpoint and closed after it. */
export class InspectorSession {
  private seq = 0;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  private constructor(private readonly ws: WebSocket) {
    ws.addEventListener("message", (ev: MessageEvent) => {
      const msg = JSON.parse(String(ev.data)) as { id?: number; result?: unknown; error?: { message: string } };
      const waiter = msg.id === undefined ? undefined : this.pending.get(msg.id);
      if (!waiter) return;
      this.pending.delete(msg.id!);
      if (msg.error) waiter.reject(new Error(`inspector: ${msg.error.message}`));
      else waiter.resolve(msg.result);
    });
  }

  static open(url: string): Promise<InspectorSession> {
    const ws = new WebSocket(url);
    return new Promise((resolve, reject) => {
      ws.addEventListener("open", () => resolve(new InspectorSession(ws)), { once: true });
      ws.addEventListener("error", () => reject(new Error(`could not open the node's inspector at ${url}`)), { once: true });
    });
  }

  send(method: string, params: object = {}): Promise<unknown> {
    const id = ++this.seq;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.ws.send(JSON.stringify({ id, method, params }));
    });
  }

  /** Evaluates an expression in the node's main context and returns its value (it must be JSON). */
  async evaluate<T>(expression: string): Promise<T> {
    const result = (await this.send("Runtime.evaluate", { expression, returnByValue: true })) as { result: { value: T }; exceptionDetails?: { text: string } };
    if (result.exceptionDetails) throw new Error(`inspector: ${expression}: ${result.exceptionDetails.text}`);
    return result.result.value;
  }

  close(): void {
    this.ws.close();
  }
}

/** Forces two full GCs in the node (the second collects what the first's finalizers freed), then reads its memory and resources at that instant. */
export async function inspectAfterGc(inspectorUrl: string, pid: number | undefined): Promise<InspectedSample> {
  const session = await InspectorSession.open(inspectorUrl);
  try {
    await session.send("HeapProfiler.collectGarbage");
    await session.send("HeapProfiler.collectGarbage");
    const m = await session.evaluate<{ rss: number; heapUsed: number; resources: string[] }>(
      "({ rss: process.memoryUsage().rss, heapUsed: process.memoryUsage().heapUsed, resources: process.getActiveResourcesInfo() })",
    );
    const resources: Record<string, number> = {};
    for (const r of m.resources) resources[r] = (resources[r] ?? 0) + 1;
    return { rssBytes: m.rss, heapUsedBytes: m.heapUsed, activeHandles: m.resources.length, sockets: openSockets(pid), resources };
  } finally {
    session.close();
  }
}
