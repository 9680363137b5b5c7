import type { ExpertConfig } from "../../config/file-schema";
import { NotFoundError } from "../errors";

/** Every CORE model id starts with this: `core/circle`, `core/<expert-id>`. */
export const MODEL_PREFIX = "core/";
/** The whole circle: every configured expert, answered by their consensus. */
export const CIRCLE_MODEL = "core/circle";

/**
 * What a model id asks for:
 * - `core/circle`: a consult of every configured expert;
 * - `core/circle:<id>,<id>…`: a consult of the circle named by its members;
 * - `core/<expert-id>`: that one expert, passed through (streaming included).
 */
export type ModelTarget = { kind: "circle"; experts?: string[] } | { kind: "expert"; expertId: string };

/** One entry of `GET /v1/models`, with CORE's description of it under `core`. */
export interface ModelEntry {
  id: string;
  object: "model";
  created: number;
  owned_by: "core";
  core: { kind: "circle"; experts: string[] } | { kind: "expert"; provider: string; model: string };
}

export interface ModelList {
  object: "list";
  data: ModelEntry[];
}

function notFound(model: string, experts: readonly ExpertConfig[], why: string): NotFoundError {
  return new NotFoundError(`The model \`${model}\` does not exist: ${why}. GET /v1/models lists the models: ${CIRCLE_MODEL} and core/<expert-id>.`, {
    data: { model, models: [CIRCLE_MODEL, ...experts.map((e) => MODEL_PREFIX + e.id)] },
  });
}

/** The target of `model`, or NOT_FOUND (404) naming the models there are. */
export function resolveModel(model: string, experts: readonly ExpertConfig[]): ModelTarget {
  if (!model.startsWith(MODEL_PREFIX)) throw notFound(model, experts, `CORE's models start with "${MODEL_PREFIX}"`);
  const known = new Set(experts.map((e) => e.id));
  if (model === CIRCLE_MODEL) return { kind: "circle" };
  if (model.startsWith(`${CIRCLE_MODEL}:`)) {
    const members = model.slice(CIRCLE_MODEL.length + 1).split(",").map((id) => id.trim());
    const unknown = members.filter((id) => !known.has(id));
    if (members.length === 0 || unknown.length > 0) throw notFound(model, experts, `no expert ${unknown.map((id) => JSON.stringify(id)).join(", ")} is configured`);
    return { kind: "circle", experts: [...new Set(members)] };
  }
  const id = model.slice(MODEL_PREFIX.length);
  if (!known.has(id)) throw notFound(model, experts, `no expert "${id}" is configured`);
  return { kind: "expert", expertId: id };
}

/** `GET /v1/models`: the circle, then every configured expert. `created` is a time the list can stand by (the node's start). */
export function listModels(experts: readonly ExpertConfig[], created: number): ModelList {
  return {
    object: "list",
    data: [
      { id: CIRCLE_MODEL, object: "model", created, owned_by: "core", core: { kind: "circle", experts: experts.map((e) => e.id) } },
      ...experts.map((e): ModelEntry => ({ id: MODEL_PREFIX + e.id, object: "model", created, owned_by: "core", core: { kind: "expert", provider: e.provider, model: e.model } })),
    ],
  };
}
