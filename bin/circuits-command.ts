import type { ServiceBroker } from "moleculer";
import type { ExpertStatus } from "../lib/circle/expert-directory";
import { describeError } from "../lib/errors";
import { DEFAULT_PROVIDER_BREAKER } from "../lib/experts/provider-breaker";
import { toCoreError } from "../mixins/to-core-error";

/** One expert actor's breaker, as the node running it answered `expert.<id>.status` (or why it did not). */
export interface ExpertBreaker {
  expert: string;
  nodeID: string;
  status?: ExpertStatus;
  error?: string;
}

/** One entry of Moleculer's own breaker store: the caller-side breaker of one action endpoint (action on a node). */
export interface EndpointBreaker {
  action: string;
  nodeID: string;
  /** Moleculer's words: close, open, half_open, half_open_wait. */
  state: string;
  failures: number;
  calls: number;
  /** Failures / calls at which it opens, once `minRequestCount` calls were made in the window. */
  threshold: number;
  minRequestCount: number;
  halfOpenTimeMs: number;
}

const STATUS_TIMEOUT_MS = 3_000;

/** The state as the `experts` table and CORE's own breakers say it. */
function endpointState(state: string): string {
  switch (state) {
    case "close":
      return "closed";
    case "half_open":
      return "half-open";
    case "half_open_wait":
      return "half-open (trial call in flight)";
    default:
      return state;
  }
}

/** Every expert actor on every node, each asked for its breaker on that node (experts run on several nodes, each with its own breaker). */
export async function gatherExpertBreakers(broker: ServiceBroker): Promise<ExpertBreaker[]> {
  const running = broker.registry
    .getServiceList({ onlyAvailable: true, skipInternal: true })
    .filter((s: { name: string }) => s.name.startsWith("expert."))
    .map((s: { name: string; nodeID?: string }) => ({ expert: s.name.slice("expert.".length), nodeID: s.nodeID! }));
  const answers = await Promise.all(
    running.map(async ({ expert, nodeID }): Promise<ExpertBreaker> => {
      try {
        const status = (await broker.call(`expert.${expert}.status`, {}, { nodeID, timeout: STATUS_TIMEOUT_MS, retries: 0 })) as ExpertStatus;
        return { expert, nodeID, status };
      } catch (err) {
        return { expert, nodeID, error: describeError(toCoreError(err)) };
      }
    }),
  );
  return answers.sort((a, b) => a.expert.localeCompare(b.expert) || a.nodeID.localeCompare(b.nodeID));
}

interface StoreItem {
  ep: { id: string; action?: { name?: string } };
  state: string;
  count: number;
  failures: number;
  opts: { threshold?: number; minRequestCount?: number; halfOpenTime?: number };
}

/**
 * This node's caller-side breakers: Moleculer keeps them per action endpoint
 * in `broker.CircuitBreakerStore` (a Map its circuit-breaker middleware
 * exposes, counts reset every window). Only endpoints this node called are in it.
 */
export function endpointBreakersOf(broker: ServiceBroker): EndpointBreaker[] {
  const store = (broker as unknown as { CircuitBreakerStore?: Map<string, StoreItem> }).CircuitBreakerStore;
  if (!store) return [];
  return [...store.values()]
    .map((item) => ({
      action: item.ep.action?.name ?? "?",
      nodeID: item.ep.id,
      state: item.state,
      failures: item.failures,
      calls: item.count,
      threshold: item.opts.threshold ?? 0,
      minRequestCount: item.opts.minRequestCount ?? 0,
      halfOpenTimeMs: item.opts.halfOpenTime ?? 0,
    }))
    .sort((a, b) => a.action.localeCompare(b.action) || a.nodeID.localeCompare(b.nodeID));
}

/** Rows of the experts' breakers table (each expert's breaker guards its provider endpoint, with the policy every expert uses). */
export function expertBreakerRows(breakers: readonly ExpertBreaker[]): string[][] {
  const policy = `${DEFAULT_PROVIDER_BREAKER.failures} failures in a row; half-opens after ${DEFAULT_PROVIDER_BREAKER.halfOpenAfterMs / 1000} s`;
  const rows = [["Expert", "Node", "Endpoint", "Breaker", "Opens at"]];
  for (const b of breakers) rows.push([b.expert, b.nodeID, b.status?.endpoint ?? "", b.status ? b.status.breaker : `unreachable: ${b.error ?? "?"}`, b.status ? policy : ""]);
  return rows;
}

/** Rows of the endpoint breakers table; open ones first, they are what an operator looks for. */
export function endpointBreakerRows(breakers: readonly EndpointBreaker[]): string[][] {
  const rank = (s: string) => (s === "open" ? 0 : s.startsWith("half") ? 1 : 2);
  const rows = [["Action", "Node", "Breaker", "Failures / calls (window)", "Opens at"]];
  for (const b of [...breakers].sort((x, y) => rank(x.state) - rank(y.state))) {
    rows.push([b.action, b.nodeID, endpointState(b.state), `${b.failures} / ${b.calls}`, `${Math.round(b.threshold * 100)} % of ≥ ${b.minRequestCount} calls; half-opens after ${b.halfOpenTimeMs / 1000} s`]);
  }
  return rows;
}
