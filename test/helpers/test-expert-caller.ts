import type { ExpertConfig } from "../../config/file-schema";
import { PriceTable } from "../../lib/costs/price-table";
import { ExpertCaller, type ExpertCallerOptions } from "../../lib/experts/expert-caller";
import { createProviderClient, type ProviderEnv } from "../../lib/providers/create-provider-client";

/**
 * An ExpertCaller for `expert` through its real provider client (its key read
 * from `env`), priced at the expert's own price, with retry backoffs short
 * enough for a test; `overrides` replace whole options.
 */
export function testExpertCaller(expert: ExpertConfig, env: ProviderEnv, overrides: Partial<ExpertCallerOptions> = {}): ExpertCaller {
  return new ExpertCaller({
    expert,
    client: createProviderClient(expert, env),
    prices: new PriceTable({}),
    retry: { backoff: { initialMs: 10, maxMs: 20, factor: 2 } },
    ...overrides,
  });
}
