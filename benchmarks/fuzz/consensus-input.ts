import fc from "fast-check";
import { MAX_KEY_POINTS_LIMIT, MAX_RESPONSE_BYTES, MAX_RESPONSES, MAX_TOTAL_BYTES } from "../../lib/consensus/limits";

/**
 * Arbitrary input for `consensus(responses, options)`: mostly well-formed
 * response sets (many scripts, lone surrogates, empty texts, verbatim
 * duplicates, texts at and over the size limits) and every way the input can
 * be wrong (not an array, empty, thousands of responses, junk entries,
 * missing fields, duplicate or empty expert ids, NaN / negative / infinite /
 * huge / tiny weights and confidences, options out of range or unknown).
 */

export interface ConsensusCase {
  responses: unknown;
  options: unknown;
}

const WORDS = [
  "the", "capital", "of", "Australia", "is", "Canberra", "Sydney", "answer", "because", "not", "yes", "No", "True", "option", "(B)", "[C]",
  "réponse", "Straße", "ΟΔΟΣ", "İstanbul", "Москва", "القاهرة", "עברית", "서울은", "太平洋", "答案是", "はい", "हिन्दी", "ไทย", "🙂", "e\u0301", "ﬁ",
  "1,250", "1 250", "$1,250.00", "1.25e3", "−3,5", "75%", "3/4", "forty-two", "1.5 million", "10^5", "0", "007", "12345678901234567890123",
];
const GLUE = [" ", " ", ", ", ". ", "? ", "\n", "\n\n", ": ", "。", "**", "\t", "\u00a0", "\ufeff", "\u0000"];
const PREFIXES = ["", "", "Final answer: ", "**Answer:** ", "- ", "1. ", "答案：", "No, ", "Yes. "];

const phrase = fc
  .tuple(fc.constantFrom(...PREFIXES), fc.array(fc.tuple(fc.constantFrom(...WORDS), fc.constantFrom(...GLUE)), { maxLength: 40 }))
  .map(([prefix, parts]) => prefix + parts.map(([w, g]) => w + g).join(""));

/** A text of about `bytes` UTF-8 bytes made of `unit` repeated. */
const sized = (unit: string, bytes: number) => unit.repeat(Math.ceil(bytes / Math.max(1, Buffer.byteLength(unit)))).slice(0, bytes);

const text = fc.oneof(
  { weight: 8, arbitrary: phrase },
  { weight: 2, arbitrary: fc.constantFrom("", " ", "\n\t ", "\u3000", "\u0000") },
  { weight: 2, arbitrary: fc.string({ unit: "grapheme", maxLength: 80 }) },
  // Lone surrogates and control characters.
  { weight: 2, arbitrary: fc.string({ unit: "binary", maxLength: 80 }) },
  // Long: up to the per-response limit, at it, and just over it.
  { weight: 1, arbitrary: fc.tuple(phrase, fc.integer({ min: 1_000, max: 20_000 })).map(([p, n]) => sized(p + " ", n)) },
  { weight: 1, arbitrary: fc.tuple(phrase, fc.constantFrom(MAX_RESPONSE_BYTES - 1, MAX_RESPONSE_BYTES, MAX_RESPONSE_BYTES + 1, MAX_RESPONSE_BYTES * 2)).map(([p, n]) => sized(`${p}x `, n)) },
);

const weightLike = fc.oneof(
  { weight: 6, arbitrary: fc.constant(undefined) },
  { weight: 4, arbitrary: fc.double({ min: 0.01, max: 10, noNaN: true }) },
  {
    weight: 3,
    arbitrary: fc.constantFrom<unknown>(0, -0, -1, Number.NaN, Infinity, -Infinity, 1e308, Number.MAX_VALUE, Number.MIN_VALUE, 1e-300, 1.0000001, 2, "1", null, true, [], {}),
  },
  { weight: 1, arbitrary: fc.double() },
);
const confidenceLike = fc.oneof(
  { weight: 6, arbitrary: fc.constant(undefined) },
  { weight: 4, arbitrary: fc.double({ min: Number.MIN_VALUE, max: 1, noNaN: true }) },
  { weight: 3, arbitrary: fc.constantFrom<unknown>(0, -0, 1, -0.5, 1.5, Number.NaN, Infinity, Number.MIN_VALUE, 1e-300, "0.5", null, false) },
  { weight: 1, arbitrary: fc.double() },
);

/** An expert id: unique per position, usually; sometimes shared, empty or not a string. */
const expertIdLike = fc.oneof(
  { weight: 12, arbitrary: fc.constant("unique") },
  { weight: 2, arbitrary: fc.constantFrom("dup-a", "dup-b") },
  { weight: 1, arbitrary: fc.string({ unit: "grapheme", minLength: 1, maxLength: 30 }).map((s) => `u:${s}`) },
  { weight: 1, arbitrary: fc.constantFrom<unknown>("", 0, null, undefined, ["e"], { id: "e" }, "__proto__", "constructor") },
);

/** A well-formed response: a unique id (filled in by position), a text, a valid weight and confidence or none. */
const cleanResponse = fc.record({
  expertId: fc.constant("unique"),
  text,
  weight: fc.option(fc.double({ min: 0.01, max: 10, noNaN: true }), { nil: undefined }),
  // Mostly ordinary confidences; sometimes any in (0, 1], tiny ones included (fast-check's doubles favour them).
  confidence: fc.option(fc.oneof({ weight: 8, arbitrary: fc.double({ min: 0.05, max: 1, noNaN: true }) }, { weight: 1, arbitrary: fc.double({ min: Number.MIN_VALUE, max: 1, noNaN: true }) }), {
    nil: undefined,
  }),
});
/** Anything in each field, any field missing. */
const dirtyResponse = fc.record(
  { expertId: expertIdLike, text: fc.oneof({ weight: 8, arbitrary: text }, { weight: 1, arbitrary: fc.constantFrom<unknown>(undefined, null, 42, ["t"], { t: 1 }) }), weight: weightLike, confidence: confidenceLike },
  { requiredKeys: [] },
);
const response = fc.oneof({ weight: 25, arbitrary: cleanResponse }, { weight: 2, arbitrary: dirtyResponse });

const junkEntry = fc.constantFrom<unknown>(null, undefined, 0, "response", [], [{ expertId: "e", text: "t" }], true);

const entry = fc.oneof({ weight: 30, arbitrary: response }, { weight: 1, arbitrary: junkEntry });

/** Fills in "unique" ids by position, so most sets are valid; the rest keep what was drawn. */
function withIds(entries: unknown[]): unknown[] {
  return entries.map((e, i) => {
    if (typeof e !== "object" || e === null || Array.isArray(e)) return e;
    const r = e as Record<string, unknown>;
    return r.expertId === "unique" ? { ...r, expertId: `e${i}` } : r;
  });
}

/** Verbatim copies of some responses under new ids (clusters of equals); a copy keeps a non-positional id, so it may duplicate. */
function withCopies(rs: unknown[], copies: number[]): unknown[] {
  if (rs.length === 0) return rs;
  const extra = copies.map((c, k) => {
    const r = rs[c % rs.length];
    if (typeof r !== "object" || r === null || Array.isArray(r)) return r;
    const copy = r as Record<string, unknown>;
    return /^e\d+$/.test(String(copy.expertId)) ? { ...copy, expertId: `e${rs.length + k}` } : copy;
  });
  return [...rs, ...extra];
}

const smallSet = fc.tuple(fc.array(entry, { minLength: 1, maxLength: 12 }), fc.array(fc.nat(), { maxLength: 4 })).map(([rs, copies]) => withCopies(withIds(rs), copies));
const mediumSet = fc.array(entry, { minLength: 13, maxLength: 80 }).map(withIds);
/** At and around the response count limit. */
const limitSet = fc.integer({ min: MAX_RESPONSES - 2, max: MAX_RESPONSES + 2 }).chain((n) => fc.array(response, { minLength: n, maxLength: n }).map(withIds));
/** Thousands of short responses. */
const thousands = fc.integer({ min: 1_000, max: 5_000 }).map((n) => Array.from({ length: n }, (_, i) => ({ expertId: `e${i}`, text: `Answer ${i % 7}. Final answer: ${i % 3}` })));
/** Together over the total byte limit (each response under its own limit). */
const overTotal = fc.integer({ min: Math.floor(MAX_TOTAL_BYTES / MAX_RESPONSE_BYTES) - 1, max: Math.floor(MAX_TOTAL_BYTES / MAX_RESPONSE_BYTES) + 3 }).map((n) =>
  Array.from({ length: n }, (_, i) => ({ expertId: `e${i}`, text: sized(`Response ${i} says the answer is ${i % 5}. `, MAX_RESPONSE_BYTES - 16) })),
);
const notAnArray = fc.constantFrom<unknown>(undefined, null, {}, "responses", 3, { length: 2, 0: { expertId: "a", text: "t" } });

const responses = fc.oneof(
  { weight: 40, arbitrary: smallSet },
  { weight: 6, arbitrary: mediumSet },
  { weight: 2, arbitrary: fc.constant([]) },
  { weight: 2, arbitrary: notAnArray },
  { weight: 1, arbitrary: limitSet },
  { weight: 1, arbitrary: thousands },
  { weight: 1, arbitrary: overTotal },
);

const unit = fc.oneof({ weight: 6, arbitrary: fc.double({ min: 0, max: 1, noNaN: true }) }, { weight: 1, arbitrary: fc.constantFrom<unknown>(-0.1, 1.1, Number.NaN, Infinity, "0.5", null) });
const options = fc.oneof(
  { weight: 6, arbitrary: fc.constant(undefined) },
  {
    weight: 8,
    arbitrary: fc.record(
      {
        threshold: unit,
        cosineWeight: unit,
        maxKeyPoints: fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 0, max: MAX_KEY_POINTS_LIMIT }) }, { weight: 1, arbitrary: fc.constantFrom<unknown>(-1, MAX_KEY_POINTS_LIMIT + 1, 2.5, Number.NaN, "3", null) }),
      },
      { requiredKeys: [] },
    ),
  },
  { weight: 1, arbitrary: fc.constantFrom<unknown>(null, [], "fast", 7, { threshold: 0.5, colour: "red" }, { __proto__: null, threshold: 0.2 }) },
);

export const consensusCase: fc.Arbitrary<ConsensusCase> = fc.record({ responses, options });
