import { PriceTable } from "../../../../lib/costs/price-table";

describe("PriceTable", () => {
  const table = new PriceTable({ "gpt-4o": { inputPerMTok: 2.5, outputPerMTok: 10 }, "openai/gpt-4o": { inputPerMTok: 2, outputPerMTok: 8 } });

  it("prefers the expert's own price, then provider/model, then the model", () => {
    expect(table.priceOf({ provider: "openai", model: "gpt-4o", price: { inputPerMTok: 1, outputPerMTok: 1 } })).toEqual({ inputPerMTok: 1, outputPerMTok: 1 });
    expect(table.priceOf({ provider: "openai", model: "gpt-4o" })).toEqual({ inputPerMTok: 2, outputPerMTok: 8 });
    expect(table.priceOf({ provider: "openrouter", model: "gpt-4o" })).toEqual({ inputPerMTok: 2.5, outputPerMTok: 10 });
    expect(table.priceOf({ provider: "ollama", model: "llama3" })).toBeUndefined();
  });

  it("costs usage at the price per million tokens, and says when no price is known", () => {
    expect(table.costOf({ inputPerMTok: 3, outputPerMTok: 15 }, { inputTokens: 1_234, outputTokens: 567 })).toEqual({ usd: (1_234 * 3 + 567 * 15) / 1e6, priced: true });
    expect(table.costOf(undefined, { inputTokens: 10, outputTokens: 10 })).toEqual({ usd: 0, priced: false });
    expect(table.worstCase({ inputPerMTok: 3, outputPerMTok: 15 }, 100, 1_000)).toBeCloseTo(0.0153, 12);
  });
});
