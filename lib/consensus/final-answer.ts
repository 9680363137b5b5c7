import { CONCLUDING_SENTENCE_MAX_WORDS, MAX_ANSWER_CHARS, SHORT_RESPONSE_MAX_TOKENS, TEXT_ANSWER_MAX_TOKENS } from "./constants";
import { parseLeadingNumber, readNumber } from "./number";
import { isCjk, isSpace, isWordChar, words } from "./tokenize";
import { STOP_WORDS } from "./stop-words";
import type { AnswerKind, FinalAnswer } from "./types";

/**
 * The short final answer a response gives, if any (native/README.md, "Final
 * answers"): the text after the last answer marker ("Final answer: 42",
 * "**Answer:** (B)", "The answer is yes"), or the whole response when it is a
 * few words ("B", "Yes.", "3.5 km"); read as a choice, yes/no, a number or a
 * short text, in that order. native/src/answer.rs is the same.
 */

/** Lowercase; the last one in the text wins. CJK markers match inside CJK text. */
const MARKERS = ["final answer", "answer", "correct option", "correct choice", "réponse", "antwort", "respuesta", "risposta", "resposta", "答案", "答え", "回答"];
/** Skipped between a marker and its answer. */
const FILLER_CHARS = new Set(["*", "_", ":", "：", "=", "#", ">", '"', "'", "`", "~", "≈", "–", "—"]);
const FILLER_WORDS = ["would be", "will be", "is", "was", "est", "ist", "es", "é", "是", "final", "finale", "approximately", "approx", "about", "around", "roughly", "exactly"];
const CHOICE_PREFIXES = ["option", "choice", "letter"];
const YES = ["yes", "true", "oui", "ja", "sí", "si", "sim", "はい"];
const NO = ["no", "false", "non", "nein", "não", "nao", "いいえ"];
/** Trailing characters dropped from an answer ("B.", "**42**"). */
const TRAILING = new Set(["*", "_", "`", '"', "'", ".", "!", "?", ":", ";", ","]);

function codePointBefore(s: string, index: number): string | undefined {
  if (index <= 0) return undefined;
  const low = s.charCodeAt(index - 1);
  if (low >= 0xdc00 && low <= 0xdfff && index >= 2) return s.slice(index - 2, index);
  return s[index - 1];
}

function codePointAt(s: string, index: number): string | undefined {
  const cp = s.codePointAt(index);
  return cp === undefined ? undefined : String.fromCodePoint(cp);
}

/** Up to `n` code points of `s` from `from` (never splitting a character). */
function codePoints(s: string, from: number, n: number): string[] {
  const out: string[] = [];
  for (let i = from; i < s.length && out.length < n; ) {
    const c = codePointAt(s, i)!;
    out.push(c);
    i += c.length;
  }
  return out;
}

/** Index just past the last answer marker in `lower`, or -1. */
function afterLastMarker(lower: string): number {
  let best = -1;
  let bestEnd = -1;
  for (const marker of MARKERS) {
    const cjk = isCjk(marker[0]!);
    let from = lower.length;
    while (from >= 0) {
      const at = lower.lastIndexOf(marker, from);
      if (at < 0 || at <= best) break;
      const before = codePointBefore(lower, at);
      const after = codePointAt(lower, at + marker.length);
      if (cjk || ((before === undefined || !isWordChar(before)) && (after === undefined || !isWordChar(after)))) {
        best = at;
        bestEnd = at + marker.length;
        break;
      }
      from = at - 1;
    }
  }
  return bestEnd;
}

function startsWithWord(chars: readonly string[], at: number, word: string): boolean {
  const w = Array.from(word);
  for (let k = 0; k < w.length; k++) if (chars[at + k] !== w[k]) return false;
  const next = chars[at + w.length];
  return isCjk(w[w.length - 1]!) || next === undefined || !isWordChar(next);
}

/** Skips filler characters and words ("**:** is approximately") from `at`. */
function skipFiller(chars: readonly string[], at: number): number {
  for (;;) {
    const start = at;
    while (at < chars.length && (isSpace(chars[at]!) || FILLER_CHARS.has(chars[at]!))) at++;
    for (const word of FILLER_WORDS) {
      if (startsWithWord(chars, at, word)) {
        at += Array.from(word).length;
        break;
      }
    }
    if (at === start) return at;
  }
}

/** The answer's characters up to the end of its line or sentence, trailing punctuation dropped. */
function cutAnswer(chars: readonly string[]): string[] {
  let end = 0;
  while (end < chars.length) {
    const c = chars[end]!;
    if (c === "\n" || c === "。" || c === "！" || c === "？") break;
    if ((c === "." || c === "!" || c === "?" || c === ";") && (end + 1 === chars.length || isSpace(chars[end + 1]!))) break;
    end++;
  }
  while (end > 0 && (isSpace(chars[end - 1]!) || TRAILING.has(chars[end - 1]!))) end--;
  return chars.slice(0, end);
}

/** "(b)", "b)", "b", "option b", "[b]", "b. paris": a letter from a to j. */
function readChoice(chars: readonly string[]): string | undefined {
  let at = 0;
  for (const prefix of CHOICE_PREFIXES) {
    if (startsWithWord(chars, at, prefix)) {
      at += prefix.length;
      while (chars[at] === " ") at++;
      break;
    }
  }
  const open = chars[at] === "(" || chars[at] === "[";
  if (open) at++;
  const letter = chars[at];
  if (letter === undefined || letter < "a" || letter > "j") return undefined;
  const next = chars[at + 1];
  const closes = next === ")" || next === "]";
  if (next === undefined || closes || ((next === "." || next === ":") && (chars[at + 2] === undefined || isSpace(chars[at + 2]!)))) {
    if (open && !closes && next !== undefined) return undefined;
    return letter.toUpperCase();
  }
  return undefined;
}

function readYesNo(chars: readonly string[]): string | undefined {
  if (YES.some((w) => startsWithWord(chars, 0, w))) return "yes";
  if (NO.some((w) => startsWithWord(chars, 0, w))) return "no";
  return undefined;
}

/** Content words joined by spaces, except between CJK characters ("太平洋", "o n log n"). */
function readText(chars: readonly string[]): string | undefined {
  const content = words(chars.join("")).filter((w) => !STOP_WORDS.has(w));
  if (content.length === 0 || content.length > TEXT_ANSWER_MAX_TOKENS) return undefined;
  let out = content[0]!;
  for (let k = 1; k < content.length; k++) out += (isCjk(content[k - 1]!) && isCjk(content[k]!) ? "" : " ") + content[k];
  return out;
}

const READERS: readonly [AnswerKind, (c: readonly string[]) => string | undefined][] = [
  ["choice", readChoice],
  ["yes-no", readYesNo],
  ["number", parseLeadingNumber],
  ["text", readText],
];

/** Reads a candidate answer (lowercase code points) as a choice, yes/no, number or, unless `structuredOnly`, short text. */
export function readAnswer(chars: readonly string[], structuredOnly = false): FinalAnswer | undefined {
  if (chars.length === 0) return undefined;
  for (const [kind, read] of READERS) {
    if (structuredOnly && kind === "text") break;
    const value = read(chars);
    if (value !== undefined) return { kind, value };
  }
  return undefined;
}

/**
 * The last bold span that reads as an answer: a choice, yes/no or number
 * anywhere ("A cube has **12 edges**"), a short text only when the span opens
 * the response or a line ("**Mercury.** It is the innermost planet"); bold
 * words inside prose are emphasis, not answers.
 */
function boldAnswer(lower: string): FinalAnswer | undefined {
  const spans: { text: string; opensLine: boolean }[] = [];
  for (let open = lower.indexOf("**"); open >= 0; ) {
    const close = lower.indexOf("**", open + 2);
    if (close < 0) break;
    spans.push({ text: lower.slice(open + 2, close), opensLine: open === 0 || lower[open - 1] === "\n" });
    open = lower.indexOf("**", close + 2);
  }
  for (let k = spans.length - 1; k >= 0; k--) {
    const chars = codePoints(spans[k]!.text, 0, MAX_ANSWER_CHARS);
    const answer = readAnswer(cutAnswer(chars.slice(skipFiller(chars, 0))), !spans[k]!.opensLine);
    if (answer) return answer;
  }
  return undefined;
}

/** Punctuation after a leading "Yes"/"No" that makes it the answer ("No, because…"; not "No one knows"). */
const AFTER_LEADING_YES_NO = new Set([",", ".", "!", ";", ":", "—", "–"]);

/** A response that opens with "Yes," / "No." answers yes or no. */
function leadingYesNo(lower: string): FinalAnswer | undefined {
  const chars = codePoints(lower, 0, MAX_ANSWER_CHARS);
  const from = skipFiller(chars, 0);
  const head = chars.slice(from);
  const value = readYesNo(head);
  if (value === undefined) return undefined;
  const word = [...YES, ...NO].find((w) => startsWithWord(head, 0, w))!;
  return AFTER_LEADING_YES_NO.has(head[Array.from(word).length] ?? "") ? { kind: "yes-no", value } : undefined;
}

/**
 * The number a response's last sentence concludes with: the first one after its
 * last "=" ("7 × 86,400 = 604,800 seconds"), else, in a short sentence, its only
 * number ("So a week has 604,800 seconds."). Digits only; a number glued to a
 * word ("2h", "3-person") is not an answer.
 */
function concludingNumber(lastSentence: string): FinalAnswer | undefined {
  let chars = codePoints(lastSentence.toLowerCase(), 0, 4 * MAX_ANSWER_CHARS);
  const equals = chars.lastIndexOf("=");
  const afterEquals = equals >= 0;
  if (afterEquals) chars = chars.slice(equals + 1);
  else if (words(lastSentence).length > CONCLUDING_SENTENCE_MAX_WORDS) return undefined;
  const found: string[] = [];
  for (let i = 0; i < chars.length; ) {
    const prev = chars[i - 1];
    const startable = prev === undefined || !(isWordChar(prev) || prev === "." || prev === "," || prev === "/");
    let number = startable ? readNumber(chars, i, false) : undefined;
    if (number) {
      const next = chars[number.end];
      if ((next !== undefined && isWordChar(next)) || (next === "-" && chars[number.end + 1] !== undefined && isWordChar(chars[number.end + 1]!))) number = undefined;
    }
    if (number) {
      found.push(number.value);
      if (afterEquals) break;
      i = Math.max(number.end, i + 1);
    } else i++;
  }
  return found.length === 1 ? { kind: "number", value: found[0]! } : undefined;
}

/**
 * The final answer of a response with `wordCount` words, looked for in this
 * order: after the last answer marker; the whole response when it is a few
 * words; the last bold span that is an answer; a leading "Yes," or "No."; the
 * number the last sentence concludes with.
 */
export function finalAnswer(text: string, wordCount: number, lastSentence: string | undefined): FinalAnswer | undefined {
  const lower = text.toLowerCase();
  const end = afterLastMarker(lower);
  if (end >= 0 || (wordCount >= 1 && wordCount <= SHORT_RESPONSE_MAX_TOKENS)) {
    const rest = codePoints(lower, Math.max(end, 0), 4 * MAX_ANSWER_CHARS);
    const from = skipFiller(rest, 0);
    return readAnswer(cutAnswer(rest.slice(from, from + MAX_ANSWER_CHARS)));
  }
  return boldAnswer(lower) ?? leadingYesNo(lower) ?? (lastSentence === undefined ? undefined : concludingNumber(lastSentence));
}

/**
 * How two final answers relate: the same answer; a conflict (same kind, other
 * value; for short texts, not a word in common: "canberra" vs "sydney", while
 * "canberra" vs "capital canberra" is no conflict); or not comparable.
 */
export function answerRelation(a: FinalAnswer | null, b: FinalAnswer | null): "match" | "conflict" | "none" {
  if (!a || !b || a.kind !== b.kind) return "none";
  if (a.value === b.value) return "match";
  if (a.kind !== "text") return "conflict";
  const words = new Set(a.value.split(" "));
  return b.value.split(" ").some((w) => words.has(w)) ? "none" : "conflict";
}

/** Whether a sentence states a final answer ("Final answer: 42"): such lines are votes, not key points. */
export function hasAnswerMarker(lower: string): boolean {
  return afterLastMarker(lower) >= 0;
}

/** One key per distinct answer: the kind and its canonical value. */
export function answerKey(answer: FinalAnswer): string {
  return `${answer.kind}:${answer.value}`;
}
