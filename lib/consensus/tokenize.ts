import { STOP_WORDS } from "./stop-words";

/**
 * Words, content tokens and sentences (native/README.md, "Tokenisation").
 * A word is a run of letters and digits (Unicode Alphabetic or Number); an
 * apostrophe between two such characters joins them and is dropped ("don't" →
 * "dont"). Han, Hiragana and Katakana characters are words of their own, since
 * those scripts do not separate words with spaces. Words are lowercased.
 */
const CJK = String.raw`\u3040-\u30FF\u31F0-\u31FF\u3400-\u4DBF\u4E00-\u9FFF\uF900-\uFAFF\u{20000}-\u{2FA1F}`;
const WORD_CHAR = String.raw`[[\p{Alphabetic}\p{N}]--[${CJK}]]`;
const WORD = new RegExp(String.raw`[${CJK}]|${WORD_CHAR}+(?:['’]${WORD_CHAR}+)*`, "gv");
const APOSTROPHES = /['’]/g;
const ALPHANUMERIC = /^[\p{Alphabetic}\p{N}]$/u;
const CJK_CHAR = new RegExp(String.raw`^[${CJK}]$`, "v");
const ASCII_WORD = /^[a-z]+$/;

/** Letters and digits of any script: what words are made of. */
export function isWordChar(ch: string): boolean {
  return ALPHANUMERIC.test(ch);
}

export function isCjk(ch: string): boolean {
  return CJK_CHAR.test(ch);
}

/**
 * White space as Unicode's White_Space property has it (what Rust's
 * `char::is_whitespace` tests), not JavaScript's `\s`, which differs on U+0085 and U+FEFF.
 */
export function isSpace(ch: string): boolean {
  const c = ch.charCodeAt(0);
  return (
    (c >= 0x09 && c <= 0x0d) ||
    c === 0x20 ||
    c === 0x85 ||
    c === 0xa0 ||
    c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 ||
    c === 0x2029 ||
    c === 0x202f ||
    c === 0x205f ||
    c === 0x3000
  );
}

export function trimSpace(s: string): string {
  let start = 0;
  let end = s.length;
  while (start < end && isSpace(s[start]!)) start++;
  while (end > start && isSpace(s[end - 1]!)) end--;
  return s.slice(start, end);
}

/** The lowercased words of a text, in order. */
export function words(text: string): string[] {
  const out: string[] = [];
  for (const match of text.matchAll(WORD)) {
    const word = match[0];
    out.push((word.length > 1 && (word.includes("'") || word.includes("’")) ? word.replace(APOSTROPHES, "") : word).toLowerCase());
  }
  return out;
}

/**
 * Harman's S-stemmer on plain ASCII words of four letters or more, so that
 * "answers" and "answer" are one term; words in -is are left alone ("analysis").
 */
export function stem(word: string): string {
  if (word.length < 4 || !ASCII_WORD.test(word)) return word;
  if (word.endsWith("ies") && !word.endsWith("eies") && !word.endsWith("aies")) return word.slice(0, -3) + "y";
  if (word.endsWith("es") && !word.endsWith("aes") && !word.endsWith("ees") && !word.endsWith("oes")) return word.slice(0, -1);
  if (word.endsWith("s") && !word.endsWith("us") && !word.endsWith("ss") && !word.endsWith("is")) return word.slice(0, -1);
  return word;
}

/** Words without stop words, stemmed. */
export function contentWords(allWords: readonly string[]): string[] {
  const out: string[] = [];
  for (const w of allWords) if (!STOP_WORDS.has(w)) out.push(stem(w));
  return out;
}

/** A response's terms: its content words, or, when every word is a stop word ("Yes it is"), all its words stemmed. */
export function documentTerms(allWords: readonly string[]): string[] {
  const content = contentWords(allWords);
  return content.length > 0 || allWords.length === 0 ? content : allWords.map(stem);
}

const LIST_MARKER = /^(?:[-*•>#]+|\d{1,3}[.)])/u;

/** A sentence as it stands in the text, as shown, and how many of its words the shown text drops (a "2)" list marker's number). */
export interface Sentence {
  raw: string;
  text: string;
  markerWords: number;
}

/** Trimmed, without a leading list marker ("- ", "2) "). */
function displaySentence(raw: string): { text: string; markerWords: number } {
  const trimmed = trimSpace(raw);
  const marker = LIST_MARKER.exec(trimmed);
  if (marker && trimmed.length > marker[0].length && isSpace(trimmed[marker[0].length]!)) {
    return { text: trimSpace(trimmed.slice(marker[0].length)), markerWords: marker[0].endsWith(".") || marker[0].endsWith(")") ? 1 : 0 };
  }
  return { text: trimmed, markerWords: 0 };
}

/**
 * Sentences: a text ends one at a line break, after "." "!" "?" "…" followed by
 * white space or the end, and after "。" "！" "？". Every piece of the text is in
 * one sentence (so their words, in order, are the text's words); the ones that
 * show nothing are marked by an empty `text`.
 */
export function splitSentences(text: string): Sentence[] {
  const out: Sentence[] = [];
  let start = 0;
  const push = (end: number) => {
    const raw = text.slice(start, end);
    out.push({ raw, ...displaySentence(raw) });
    start = end;
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === "\n") push(i + 1);
    else if (c === "。" || c === "！" || c === "？") push(i + 1);
    else if ((c === "." || c === "!" || c === "?" || c === "…") && (i + 1 === text.length || isSpace(text[i + 1]!))) push(i + 1);
  }
  if (start < text.length) push(text.length);
  return out;
}

/** The sentences a text shows (empty ones dropped). */
export function sentences(text: string): string[] {
  return splitSentences(text)
    .map((s) => s.text)
    .filter((t) => t.length > 0);
}
