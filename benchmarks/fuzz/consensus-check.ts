import { CoreError } from "../../lib/errors";
import type { ConsensusResult } from "../../lib/consensus";
import { MAX_KEY_POINTS_LIMIT, MAX_RESPONSE_BYTES, MAX_RESPONSES, MAX_TOTAL_BYTES, MAX_WEIGHT } from "../../lib/consensus/limits";
import { MAX_KEY_POINTS } from "../../lib/consensus/constants";

/**
 * What the consensus fuzz (benchmarks/fuzz/consensus-part.ts) holds each
 * result to, and its own reading of which inputs are valid (types.ts,
 * limits.ts as documented), written apart from validateConsensusInput so the
 * two can disagree.
 */

/** The error codes that mean "your input is wrong": what a caller may get for bad input. */
export const INPUT_ERROR_CODES = new Set(["VALIDATION_FAILED", "PAYLOAD_TOO_LARGE"]);

export type Outcome = { ok: true; result: ConsensusResult } | { ok: false; error: unknown };

/** "accepted", an input error's code, or what else was thrown (a crash). */
export function outcomeLabel(o: Outcome): string {
  if (o.ok) return "accepted";
  if (o.error instanceof CoreError) return o.error.code;
  return `thrown ${o.error instanceof Error ? o.error.name : typeof o.error}`;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
/** null counts as absent (the default), as validateConsensusInput reads `??`; a JSON client may send it for "unset". */
const absent = (v: unknown) => v === undefined || v === null;
const unit = (v: unknown) => absent(v) || (typeof v === "number" && v >= 0 && v <= 1);

/** Whether the documented contract (types.ts, limits.ts) accepts this input: numbers must be numbers. */
export function expectedValid(responses: unknown, options: unknown): boolean {
  if (!Array.isArray(responses) || responses.length === 0 || responses.length > MAX_RESPONSES) return false;
  const ids = new Set<string>();
  let total = 0;
  for (const r of responses) {
    if (!isObject(r)) return false;
    if (typeof r.expertId !== "string" || r.expertId === "" || ids.has(r.expertId)) return false;
    ids.add(r.expertId);
    if (typeof r.text !== "string") return false;
    const bytes = Buffer.byteLength(r.text, "utf8");
    if (bytes > MAX_RESPONSE_BYTES) return false;
    total += bytes;
    if (!absent(r.weight) && !(typeof r.weight === "number" && r.weight > 0 && r.weight <= MAX_WEIGHT)) return false;
    if (!absent(r.confidence) && !(typeof r.confidence === "number" && r.confidence > 0 && r.confidence <= 1)) return false;
    // What a response counts for is weight × confidence: a product that underflows to 0 would count for nothing (limits.ts refuses it).
    if (!((absent(r.weight) ? 1 : (r.weight as number)) * (absent(r.confidence) ? 1 : (r.confidence as number)) > 0)) return false;
  }
  if (total > MAX_TOTAL_BYTES) return false;
  if (options === undefined) return true;
  if (!isObject(options)) return false;
  if (Object.keys(options).some((k) => !["threshold", "cosineWeight", "maxKeyPoints"].includes(k))) return false;
  if (!unit(options.threshold) || !unit(options.cosineWeight)) return false;
  const k = options.maxKeyPoints;
  return absent(k) || (Number.isInteger(k) && (k as number) >= 0 && (k as number) <= MAX_KEY_POINTS_LIMIT);
}

const EPS = 1e-9;

function allFinite(value: unknown): boolean {
  if (typeof value === "number") return Number.isFinite(value);
  if (Array.isArray(value)) return value.every(allFinite);
  if (isObject(value)) return Object.values(value).every(allFinite);
  return true;
}
const inUnit = (x: number) => Number.isFinite(x) && x >= -EPS && x <= 1 + EPS;

/** Every invariant a result breaks (empty: none), given the responses it was computed from. */
export function invariantViolations(result: ConsensusResult, responses: ReadonlyArray<{ expertId: string; text: string }>, maxKeyPoints: number): string[] {
  const v: string[] = [];
  const ids = responses.map((r) => r.expertId);
  if (!inUnit(result.agreement)) v.push(`agreement not in [0, 1]: ${result.agreement}`);
  if (result.experts.length !== ids.length || result.experts.some((e, i) => e.expertId !== ids[i])) v.push("experts: not every expert accounted for, in input order");
  if (result.clusters.length < 1) v.push("no cluster");
  const members = result.clusters.flatMap((c) => c.members);
  if (members.length !== ids.length || new Set(members).size !== ids.length || members.some((m) => !ids.includes(m))) v.push("clusters: members are not a partition of the experts");
  const shares = result.clusters.map((c) => c.share);
  if (shares.some((s) => !inUnit(s))) v.push("a cluster's share is not in [0, 1]");
  const sum = shares.reduce((a, b) => a + b, 0);
  if (Math.abs(sum - 1) > 1e-6) v.push(`cluster shares sum to ${sum}`);
  if (result.clusters.some((c) => !(c.weight > 0) || !Number.isFinite(c.weight))) v.push("a cluster's weight is not a finite number > 0");
  if (result.clusters.some((c) => !inUnit(c.cohesion))) v.push("a cluster's cohesion is not in [0, 1]");
  const first = result.clusters[0];
  if (first && Math.abs(first.share - result.agreement) > EPS) v.push("agreement is not the winning cluster's share");
  if (first && (first.representative !== result.consensus.expertId || !first.members.includes(result.consensus.expertId))) v.push("the consensus is not the winning cluster's representative");
  if (result.clusters.some((c, i) => i > 0 && c.share > first!.share + EPS)) v.push("a later cluster outweighs the winning one");
  const consensusInput = responses.find((r) => r.expertId === result.consensus.expertId);
  if (!consensusInput || consensusInput.text !== result.consensus.text) v.push("the consensus text is not its expert's text");
  result.experts.forEach((e, i) => {
    if (!inUnit(e.agreement)) v.push(`experts[${i}].agreement not in [0, 1]: ${e.agreement}`);
    if (!Number.isInteger(e.cluster) || e.cluster < 0 || e.cluster >= result.clusters.length || !result.clusters[e.cluster]!.members.includes(e.expertId)) v.push(`experts[${i}].cluster does not hold it`);
    if (e.inConsensus !== (e.cluster === 0)) v.push(`experts[${i}].inConsensus disagrees with its cluster`);
  });
  const self = result.experts.find((e) => e.expertId === result.consensus.expertId);
  if (self && Math.abs(self.agreement - 1) > 1e-6) v.push(`the consensus expert's similarity to itself is ${self.agreement}`);
  if (result.dissent.length !== result.clusters.length - 1) v.push("dissent is not every other cluster");
  if (result.keyPoints.length > maxKeyPoints) v.push(`${result.keyPoints.length} key points, more than ${maxKeyPoints}`);
  if (result.keyPointDetails.some((k) => !inUnit(k.support) || !ids.includes(k.expertId) || k.experts.some((x) => !ids.includes(x)))) v.push("a key point's support or experts are wrong");
  if (result.vote) {
    const { share, turnout, options } = result.vote;
    if (!inUnit(share) || !inUnit(turnout)) v.push("vote share or turnout not in [0, 1]");
    if (options.some((o) => !inUnit(o.share) || o.experts.some((x) => !ids.includes(x)))) v.push("a vote option's share or voters are wrong");
    if (options.some((o, i) => i > 0 && o.share > options[0]!.share + EPS)) v.push("the vote's winner is not the option with the most weight");
  }
  // What a client gets is JSON: no NaN or Infinity (null on the way) anywhere.
  if (!allFinite(result)) v.push("a number that JSON cannot hold (NaN or Infinity)");
  return v;
}

export const maxKeyPointsOf = (options: unknown): number => (isObject(options) && typeof options.maxKeyPoints === "number" ? options.maxKeyPoints : MAX_KEY_POINTS);

/** The first difference between two results (numbers within 1e-9; `engine` aside), or undefined. */
export function firstDifference(a: unknown, b: unknown, path = "result"): string | undefined {
  if (typeof a === "number" && typeof b === "number") return a === b || Math.abs(a - b) <= EPS || (Number.isNaN(a) && Number.isNaN(b)) ? undefined : `${path}: ${a} vs ${b}`;
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) return `${path}: length ${a.length} vs ${b.length}`;
    for (let i = 0; i < a.length; i++) {
      const d = firstDifference(a[i], b[i], `${path}[${i}]`);
      if (d) return d;
    }
    return undefined;
  }
  if (isObject(a) && isObject(b)) {
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
      if (path === "result" && k === "engine") continue;
      const d = firstDifference(a[k], b[k], `${path}.${k}`);
      if (d) return d;
    }
    return undefined;
  }
  return a === b ? undefined : `${path}: ${JSON.stringify(a)?.slice(0, 80)} vs ${JSON.stringify(b)?.slice(0, 80)}`;
}
