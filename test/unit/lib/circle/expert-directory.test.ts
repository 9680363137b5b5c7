import type { ExpertConfig } from "../../../../config/file-schema";
import { listExperts } from "../../../../lib/circle/expert-directory";
import { PriceTable } from "../../../../lib/costs/price-table";
import { ActionNotFoundError } from "../../../../lib/errors";

const experts: ExpertConfig[] = [
  { id: "claude", provider: "anthropic", model: "claude-sonnet-4-5", weight: 2, fallback: ["local"], price: { inputPerMTok: 3, outputPerMTok: 15 } },
  { id: "local", provider: "ollama", model: "llama3.2", weight: 1, fallback: [] },
];

describe("listExperts", () => {
  it("lists every configured expert with its price and live status, and an unreachable one as unavailable with the reason", async () => {
    const listed = await listExperts(experts, new PriceTable({}), async (id) => {
      if (id === "local") throw new ActionNotFoundError("expert.local.status is not running on any node");
      return { nodeID: "n1", endpoint: "anthropic https://api.anthropic.com", breaker: "closed" };
    });
    expect(listed).toEqual([
      {
        id: "claude",
        provider: "anthropic",
        model: "claude-sonnet-4-5",
        weight: 2,
        fallback: ["local"],
        price: { inputPerMTok: 3, outputPerMTok: 15 },
        available: true,
        status: { nodeID: "n1", endpoint: "anthropic https://api.anthropic.com", breaker: "closed" },
      },
      {
        id: "local",
        provider: "ollama",
        model: "llama3.2",
        weight: 1,
        fallback: [],
        price: null,
        available: false,
        error: { code: "ACTION_NOT_FOUND", message: "expert.local.status is not running on any node", status: 404, retryable: false },
      },
    ]);
  });
});
