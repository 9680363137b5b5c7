import { COSINE_WEIGHT, CLUSTER_THRESHOLD, MAX_KEY_POINTS } from "./constants";
import { PayloadTooLargeError, ValidationError, type FieldIssue } from "../errors";
import type { ConsensusOptions, ExpertResponse, ResolvedOptions } from "./types";

/** Responses per aggregation: a circle of experts, with room for sampling the same model many times. */
export const MAX_RESPONSES = 256;
/** UTF-8 bytes per response: a long model answer is a few thousand words. */
export const MAX_RESPONSE_BYTES = 64 * 1024;
/** UTF-8 bytes over all responses; also keeps term numbers within the shingle key range. */
export const MAX_TOTAL_BYTES = 4 * 1024 * 1024;
export const MAX_KEY_POINTS_LIMIT = 50;
/** The largest weight: 256 of them still sum to a finite number with room for the shares' arithmetic. */
export const MAX_WEIGHT = 1e9;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * Checks an aggregation request: shape and values (VALIDATION_FAILED, 422, every
 * problem at once), then sizes (PAYLOAD_TOO_LARGE, 413, with the limit).
 */
export function validateConsensusInput(responses: unknown, options: unknown = {}): { responses: ExpertResponse[]; weights: Float64Array; options: ResolvedOptions; totalBytes: number } {
  const issues: FieldIssue[] = [];
  if (!Array.isArray(responses)) throw new ValidationError("responses must be an array of { expertId, text, weight?, confidence? }", { issues: [{ field: "responses", message: "expected an array" }] });
  if (responses.length === 0) throw new ValidationError("responses is empty: at least one response is needed", { issues: [{ field: "responses", message: "expected 1 to 256 responses" }] });
  if (responses.length > MAX_RESPONSES) {
    throw new PayloadTooLargeError(`Too many responses: ${responses.length}; at most ${MAX_RESPONSES} per aggregation`, { data: { limit: MAX_RESPONSES, received: responses.length } });
  }
  const weights = new Float64Array(responses.length);
  const seen = new Set<string>();
  responses.forEach((r: unknown, i) => {
    const at = `responses[${i}]`;
    if (!isObject(r)) return void issues.push({ field: at, message: "expected an object { expertId, text }" });
    if (typeof r.expertId !== "string" || r.expertId.length === 0) issues.push({ field: `${at}.expertId`, message: "expected a non-empty string" });
    else if (seen.has(r.expertId)) issues.push({ field: `${at}.expertId`, message: `duplicate expert id "${r.expertId.slice(0, 100)}"` });
    else seen.add(r.expertId);
    if (typeof r.text !== "string") issues.push({ field: `${at}.text`, message: "expected a string" });
    const weight = r.weight ?? 1;
    const confidence = r.confidence ?? 1;
    const weightOk = typeof weight === "number" && weight > 0 && weight <= MAX_WEIGHT;
    const confidenceOk = typeof confidence === "number" && confidence > 0 && confidence <= 1;
    if (!weightOk) issues.push({ field: `${at}.weight`, message: `expected a number > 0 and at most ${MAX_WEIGHT}`, received: r.weight });
    if (!confidenceOk) issues.push({ field: `${at}.confidence`, message: "expected a number in (0, 1]", received: r.confidence });
    weights[i] = Number(weight) * Number(confidence);
    // Both tiny (e.g. 1e-300 each): the product underflows to 0 and the response would count for nothing, dividing by 0 later.
    if (weightOk && confidenceOk && !(weights[i]! > 0)) issues.push({ field: `${at}.weight`, message: "weight × confidence is too small to count (it rounds to 0)", received: r.weight });
  });
  if (!isObject(options)) issues.push({ field: "options", message: "expected an object" });
  const o = isObject(options) ? options : {};
  const unit = (field: keyof ConsensusOptions, fallback: number): number => {
    const v = o[field] ?? fallback;
    if (typeof v !== "number" || !(v >= 0 && v <= 1)) issues.push({ field: `options.${field}`, message: "expected a number in [0, 1]", received: o[field] });
    return Number(v);
  };
  const resolved: ResolvedOptions = {
    threshold: unit("threshold", CLUSTER_THRESHOLD),
    cosineWeight: unit("cosineWeight", COSINE_WEIGHT),
    maxKeyPoints: typeof (o.maxKeyPoints ?? MAX_KEY_POINTS) === "number" ? Number(o.maxKeyPoints ?? MAX_KEY_POINTS) : Number.NaN,
  };
  if (!Number.isInteger(resolved.maxKeyPoints) || resolved.maxKeyPoints < 0 || resolved.maxKeyPoints > MAX_KEY_POINTS_LIMIT) {
    issues.push({ field: "options.maxKeyPoints", message: `expected an integer from 0 to ${MAX_KEY_POINTS_LIMIT}`, received: o.maxKeyPoints });
  }
  for (const key of Object.keys(o)) if (!["threshold", "cosineWeight", "maxKeyPoints"].includes(key)) issues.push({ field: `options.${key}`, message: "unknown option" });
  if (issues.length > 0) throw new ValidationError(`Invalid aggregation request: ${issues.map((i) => `${i.field}: ${i.message}`).join("; ")}`, { issues });

  const valid = responses as ExpertResponse[];
  let total = 0;
  valid.forEach((r, i) => {
    const bytes = Buffer.byteLength(r.text, "utf8");
    if (bytes > MAX_RESPONSE_BYTES) {
      throw new PayloadTooLargeError(`responses[${i}].text is ${bytes} bytes; at most ${MAX_RESPONSE_BYTES} per response`, { data: { field: `responses[${i}].text`, limit: MAX_RESPONSE_BYTES, received: bytes } });
    }
    total += bytes;
  });
  if (total > MAX_TOTAL_BYTES) throw new PayloadTooLargeError(`The responses total ${total} bytes; at most ${MAX_TOTAL_BYTES} per aggregation`, { data: { limit: MAX_TOTAL_BYTES, received: total } });
  // Lone surrogates cannot cross into the native engine (UTF-8); both engines see U+FFFD instead.
  return { responses: valid.map(({ expertId, text, weight, confidence }) => ({ expertId, text: text.toWellFormed(), weight, confidence })), weights, options: resolved, totalBytes: total };
}
