import fc from "fast-check";
import { consensusRaw, loadNativeEngine, validateConsensusInput, type NativeEngine, type RawConsensus } from "../../../../lib/consensus";

/**
 * The native engine and the TypeScript reference agree: same clusters,
 * consensus, answers, key points and vote, every score within 1e-9, over
 * random response sets (many scripts, number formats, answer markers, empty and
 * whitespace-only texts, duplicates, one response, very long texts).
 */

const loaded = loadNativeEngine();
if ("error" in loaded) throw new Error(`the native consensus engine must be built for this test (npm run build:native): ${loaded.error.message}`);
const native: NativeEngine = loaded.engine;

const WORDS = [
  // English, with the vocabulary answers share.
  "the", "capital", "of", "Australia", "is", "Canberra", "Sydney", "largest", "city", "answer", "because", "PostgreSQL", "MongoDB",
  "transactions", "don't", "model’s", "Answers", "studies", "classes", "not", "yes", "No", "True", "option", "(B)", "B)", "[C]",
  // Other scripts and languages.
  "réponse", "finale", "Straße", "ΟΔΟΣ", "σοφία", "İstanbul", "naïve", "café", "Москва", "столица", "القاهرة", "עברית", "서울은",
  "太平洋", "最大の海は", "答案是", "答え", "はい", "いいえ", "हिन्दी", "ไทย", "🙂", "e\u0301", "ﬁ",
  // Numbers in many formats.
  "1,250", "1 250", "$1,250.00", "1.25e3", "1.25 × 10^3", "−3,5", "-3.50", "75%", "3/4", "1 7/8", ".375", "forty-two",
  "three hundred and five", "1.5 million", "10^5", "2h", "3-person", "=", "0", "007", "12345678901234567890123",
];
const PUNCTUATION = [" ", " ", " ", ", ", ". ", "! ", "? ", "\n", "\n\n", ": ", " — ", "。", "**", " = ", "\t", "\u00a0", "\u0085", "\ufeff"];
const PREFIXES = ["", "", "", "Final answer: ", "**Answer:** ", "- ", "1. ", "2) ", "答案：", "La respuesta final: ", "No, ", "Yes. "];

const word = fc.constantFrom(...WORDS);
const glue = fc.constantFrom(...PUNCTUATION);
const phrase = fc
  .tuple(fc.constantFrom(...PREFIXES), fc.array(fc.tuple(word, glue), { minLength: 0, maxLength: 40 }))
  .map(([prefix, parts]) => prefix + parts.map(([w, g]) => w + g).join(""));
const text = fc.oneof(
  { weight: 6, arbitrary: phrase },
  { weight: 1, arbitrary: fc.constantFrom("", " ", "\n\t ", "\u3000") },
  { weight: 1, arbitrary: fc.string({ unit: "grapheme", maxLength: 60 }) },
  { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 60 }) },
  { weight: 1, arbitrary: fc.tuple(phrase, fc.integer({ min: 20, max: 300 })).map(([p, times]) => (p + " ").repeat(times).slice(0, 16_000)) },
);
const response = fc.record({
  text,
  weight: fc.option(fc.double({ min: 0.01, max: 10, noNaN: true }), { nil: undefined }),
  confidence: fc.option(fc.double({ min: 0.01, max: 1, noNaN: true }), { nil: undefined }),
});
const responseSet = fc
  .tuple(fc.array(response, { minLength: 1, maxLength: 14 }), fc.array(fc.nat(), { maxLength: 4 }))
  // Duplicates: some responses repeated verbatim.
  .map(([rs, copies]) => [...rs, ...copies.map((c) => rs[c % rs.length]!)].map((r, i) => ({ ...r, expertId: `e${i}` })));
const options = fc.record({
  threshold: fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { nil: undefined }),
  cosineWeight: fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { nil: undefined }),
  maxKeyPoints: fc.option(fc.integer({ min: 0, max: 50 }), { nil: undefined }),
});

/** Every number compared within 1e-9, everything else exactly. */
function expectSame(a: unknown, b: unknown, path = "result"): void {
  if (typeof a === "number" && typeof b === "number") {
    if (Math.abs(a - b) > 1e-9) throw new Error(`${path}: native ${a} vs reference ${b}`);
    return;
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) throw new Error(`${path}: length ${a.length} vs ${b.length}`);
    a.forEach((x, i) => expectSame(x, b[i], `${path}[${i}]`));
    return;
  }
  if (a && b && typeof a === "object" && typeof b === "object") {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const k of keys) expectSame((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${path}.${k}`);
    return;
  }
  if (a !== b) throw new Error(`${path}: native ${JSON.stringify(a)} vs reference ${JSON.stringify(b)}`);
}

async function bothEngines(responses: unknown, opts: unknown): Promise<{ native: RawConsensus; reference: RawConsensus }> {
  const input = validateConsensusInput(responses, opts);
  const texts = input.responses.map((r) => r.text);
  const reference = consensusRaw(texts, input.weights, input.options);
  return { native: await native.consensus(texts, Array.from(input.weights), input.options), reference };
}

describe("native and reference engines agree", () => {
  it("on random response sets", async () => {
    await fc.assert(
      fc.asyncProperty(responseSet, options, async (responses, opts) => {
        const { native: n, reference: r } = await bothEngines(responses, opts);
        expectSame(n, r);
      }),
      { numRuns: 400 },
    );
  });

  it("on the async and the synchronous native entry points", async () => {
    const responses = [
      { expertId: "a", text: "The capital of Australia is Canberra. Final answer: Canberra" },
      { expertId: "b", text: "Canberra is Australia's capital. Answer: Canberra." },
      { expertId: "c", text: "Sydney is the capital. Final answer: Sydney" },
    ];
    const input = validateConsensusInput(responses);
    const texts = input.responses.map((r) => r.text);
    const sync = native.consensusSync(texts, Array.from(input.weights), input.options);
    expectSame(await native.consensus(texts, Array.from(input.weights), input.options), sync);
    expectSame(sync, consensusRaw(texts, input.weights, input.options));
    expect(sync.vote?.options[0]).toMatchObject({ kind: "text", value: "canberra", voters: [0, 1] });
  });

  it("on a single response, on only empty texts and on exact duplicates", async () => {
    for (const responses of [
      [{ expertId: "solo", text: "Only one expert answered. Final answer: 42" }],
      [{ expertId: "a", text: "" }, { expertId: "b", text: "   " }, { expertId: "c", text: "\n" }],
      [{ expertId: "a", text: "Same words here." }, { expertId: "b", text: "Same words here." }, { expertId: "c", text: "Same words here." }],
    ]) {
      const { native: n, reference: r } = await bothEngines(responses, {});
      expectSame(n, r);
    }
  });
});
