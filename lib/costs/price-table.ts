import type { PriceConfig } from "../../config/file-schema";

/** US dollars per million tokens, input and output. */
export type Price = PriceConfig;

export interface PricedUsage {
  inputTokens: number;
  outputTokens: number;
}

/** What one call cost, and whether a price was known for it. */
export interface Cost {
  usd: number;
  /** False when no price is configured for the model: `usd` is then 0, not a real figure. */
  priced: boolean;
}

/**
 * The price of an expert's calls: its own `price`, else the `prices` entry for
 * `<provider>/<model>`, else the one for `<model>`. Nothing is guessed: a model
 * without a configured price costs 0 and says so (`priced: false`).
 */
export class PriceTable {
  constructor(private readonly prices: Readonly<Record<string, Price>>) {}

  priceOf(expert: { provider: string; model: string; price?: Price | undefined }): Price | undefined {
    return expert.price ?? this.prices[`${expert.provider}/${expert.model}`] ?? this.prices[expert.model];
  }

  costOf(price: Price | undefined, usage: PricedUsage): Cost {
    if (!price) return { usd: 0, priced: false };
    return { usd: usdFor(price, usage), priced: true };
  }

  /** The most a call can cost: its prompt plus `maxOutputTokens` (for budget reservations). */
  worstCase(price: Price | undefined, inputTokens: number, maxOutputTokens: number): number {
    return price ? usdFor(price, { inputTokens, outputTokens: maxOutputTokens }) : 0;
  }
}

/** Dollars for `usage` at `price` (per million tokens). */
export function usdFor(price: Price, usage: PricedUsage): number {
  return (usage.inputTokens * price.inputPerMTok + usage.outputTokens * price.outputPerMTok) / 1_000_000;
}
