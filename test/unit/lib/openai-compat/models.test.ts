import type { ExpertConfig } from "../../../../config/file-schema";
import { listModels, resolveModel } from "../../../../lib/openai-compat/models";

const experts: ExpertConfig[] = [
  { id: "claude", provider: "anthropic", model: "claude-sonnet-4-5", weight: 1, fallback: [] },
  { id: "gpt", provider: "openai", model: "gpt-4o", weight: 1, fallback: [] },
];

describe("model ids", () => {
  it("core/circle is every expert; core/circle:<ids> a circle of some; core/<id> one expert", () => {
    expect(resolveModel("core/circle", experts)).toEqual({ kind: "circle" });
    expect(resolveModel("core/circle:gpt,claude,gpt", experts)).toEqual({ kind: "circle", experts: ["gpt", "claude"] });
    expect(resolveModel("core/gpt", experts)).toEqual({ kind: "expert", expertId: "gpt" });
  });

  it("anything else is NOT_FOUND (404), naming the models there are", () => {
    for (const model of ["gpt-4o", "core/nobody", "core/circle:gpt,nobody", "core/circle:", "core/"]) {
      expect(() => resolveModel(model, experts)).toThrow(
        expect.objectContaining({ code: "NOT_FOUND", status: 404, data: { model, models: ["core/circle", "core/claude", "core/gpt"] } }),
      );
    }
  });

  it("lists the circle and each expert, owned by core", () => {
    expect(listModels(experts, 1_700_000_000)).toEqual({
      object: "list",
      data: [
        { id: "core/circle", object: "model", created: 1_700_000_000, owned_by: "core", core: { kind: "circle", experts: ["claude", "gpt"] } },
        { id: "core/claude", object: "model", created: 1_700_000_000, owned_by: "core", core: { kind: "expert", provider: "anthropic", model: "claude-sonnet-4-5" } },
        { id: "core/gpt", object: "model", created: 1_700_000_000, owned_by: "core", core: { kind: "expert", provider: "openai", model: "gpt-4o" } },
      ],
    });
  });
});
