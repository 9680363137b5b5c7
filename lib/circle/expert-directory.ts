import type { ExpertConfig } from "../../config/file-schema";
import type { Price, PriceTable } from "../costs/price-table";
import type { BreakerState } from "../experts/provider-breaker";
import { outcomeError, type OutcomeError } from "./fan-out";

/** What a running expert says of itself (`expert.<id>.status`). */
export interface ExpertStatus {
  nodeID: string;
  /** The provider endpoint it calls (never with its key). */
  endpoint: string;
  breaker: BreakerState;
}

/** One configured expert as `circle.experts` lists it. */
export interface ExpertListing {
  id: string;
  provider: string;
  model: string;
  weight: number;
  fallback: string[];
  /** USD per million tokens; null when no price is configured (its calls are counted as unpriced). */
  price: Price | null;
  /** Whether some node runs it and it answered. */
  available: boolean;
  status?: ExpertStatus;
  /** Why it is not available. */
  error?: OutcomeError;
}

/**
 * Every configured expert with its price and, from the node that runs it, its
 * endpoint and breaker state. Asked of all at once; one that cannot be reached
 * is listed as unavailable with the reason, never left out.
 */
export async function listExperts(
  experts: readonly ExpertConfig[],
  prices: PriceTable,
  statusOf: (id: string) => Promise<ExpertStatus>,
): Promise<ExpertListing[]> {
  return Promise.all(
    experts.map(async (e): Promise<ExpertListing> => {
      const base = { id: e.id, provider: e.provider, model: e.model, weight: e.weight, fallback: [...e.fallback], price: prices.priceOf(e) ?? null };
      try {
        return { ...base, available: true, status: await statusOf(e.id) };
      } catch (err) {
        return { ...base, available: false, error: outcomeError(err) };
      }
    }),
  );
}
