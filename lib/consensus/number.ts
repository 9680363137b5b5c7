import { MAX_FRACTION_DIGITS, MAX_NUMBER_DIGITS, MAX_NUMBER_EXPONENT } from "./constants";

/**
 * Numbers as people and models write them, read exactly (no floating point):
 * "1,250", "1 250", "$1,250.00", "-3.5", "−3,5", "1.25e3", "1.25 × 10^3",
 * "75%", "3/4", "1.5 million", "forty-two", "three hundred and five".
 * The canonical form is plain decimal ("1250", "0.75", "-3.5"), scientific
 * beyond 21 integer digits or 6 leading zeros ("1.5e30"), "n/d" for fractions
 * that do not end in decimal ("1/3"). native/src/number.rs is the same.
 */

/** Sign characters and whether they negate. */
const SIGNS = new Map([
  ["-", true],
  ["−", true],
  ["+", false],
]);
const CURRENCY = new Set(["$", "€", "£", "¥"]);
const GROUP_SEPARATORS = new Set([",", " ", "\u00a0", "\u202f", "\u2009", "'", "_"]);
const TIMES = new Set(["×", "x", "*", "·"]);
const MULTIPLIERS = new Map([
  ["thousand", 3],
  ["million", 6],
  ["billion", 9],
  ["trillion", 12],
]);
const UNITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"];
const TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"];

const isDigit = (c: string | undefined) => c !== undefined && c >= "0" && c <= "9";
const isLetter = (c: string | undefined) => c !== undefined && c >= "a" && c <= "z";

/** Formats mantissa digits × 10^exponent (digits without leading or trailing zeros). */
function formatDecimal(negative: boolean, digits: string, exponent: number): string {
  if (digits === "") return "0";
  const sign = negative ? "-" : "";
  const point = digits.length + exponent;
  if (exponent >= 0 && point <= 21) return sign + digits + "0".repeat(exponent);
  if (exponent < 0 && point > 0) return sign + digits.slice(0, point) + "." + digits.slice(point);
  if (exponent < 0 && point > -6) return sign + "0." + "0".repeat(-point) + digits;
  return sign + digits[0] + (digits.length > 1 ? "." + digits.slice(1) : "") + "e" + String(point - 1);
}

/** Canonical decimal of mantissa digits × 10^exponent, or undefined past the limits. */
function canonicalDecimal(negative: boolean, rawDigits: string, exponent: number): string | undefined {
  let start = 0;
  while (start < rawDigits.length && rawDigits[start] === "0") start++;
  let end = rawDigits.length;
  while (end > start && rawDigits[end - 1] === "0") {
    end--;
    exponent++;
  }
  const digits = rawDigits.slice(start, end);
  if (digits.length > MAX_NUMBER_DIGITS) return undefined;
  if (digits !== "" && Math.abs(digits.length + exponent) > MAX_NUMBER_EXPONENT) return undefined;
  return formatDecimal(negative, digits, exponent);
}

const MAX_FRACTION_MANTISSA = 10n ** 36n;

function gcd(a: bigint, b: bigint): bigint {
  while (b !== 0n) [a, b] = [b, a % b];
  return a;
}

/** w + n/d in lowest terms: decimal when it ends ("3/4" → "0.75", "1 7/8" → "1.875"), else "n/d". */
function canonicalFraction(negative: boolean, whole: string, numerator: string, denominator: string): string | undefined {
  let d = BigInt(denominator);
  let n = BigInt(whole) * d + BigInt(numerator);
  if (d === 0n) return undefined;
  const g = gcd(n, d);
  if (n === 0n) return "0";
  n /= g;
  d /= g;
  let twos = 0;
  let fives = 0;
  let rest = d;
  while (rest % 2n === 0n) {
    rest /= 2n;
    twos++;
  }
  while (rest % 5n === 0n) {
    rest /= 5n;
    fives++;
  }
  if (rest !== 1n) return (negative ? "-" : "") + `${n}/${d}`;
  const k = Math.max(twos, fives);
  const mantissa = n * 2n ** BigInt(k - twos) * 5n ** BigInt(k - fives);
  // The native engine computes in 128 bits; beyond 10^36 neither reads it as a number.
  if (mantissa >= MAX_FRACTION_MANTISSA) return undefined;
  return canonicalDecimal(negative, mantissa.toString(), -k);
}

/** Reads a word number at `chars[i]` ("forty-two", "three hundred and five"): value and where it ends. */
function readNumberWords(chars: readonly string[], i: number): { value: number; end: number } | undefined {
  const readWord = (at: number): { word: string; end: number } => {
    let end = at;
    while (isLetter(chars[end])) end++;
    return { word: chars.slice(at, end).join(""), end };
  };
  const skipGap = (at: number) => (chars[at] === " " || chars[at] === "-" ? at + 1 : at);
  // Below one hundred: "seven", "forty", "forty-two", "forty two".
  const belowHundred = (at: number): { value: number; end: number } | undefined => {
    const first = readWord(at);
    const unit = UNITS.indexOf(first.word);
    if (unit >= 0) return { value: unit, end: first.end };
    const tens = TENS.indexOf(first.word);
    if (tens < 2) return undefined;
    const next = readWord(skipGap(first.end));
    const ones = UNITS.indexOf(next.word);
    if (ones >= 1 && ones <= 9 && skipGap(first.end) !== first.end) return { value: tens * 10 + ones, end: next.end };
    return { value: tens * 10, end: first.end };
  };
  const head = belowHundred(i);
  if (!head) return undefined;
  let { value, end } = head;
  const hundred = readWord(skipGap(end));
  if (hundred.word === "hundred" && skipGap(end) !== end && value >= 1 && value <= 9) {
    value *= 100;
    end = hundred.end;
    let at = skipGap(end);
    if (at !== end) {
      const and = readWord(at);
      if (and.word === "and") at = skipGap(and.end);
      const tail = at !== end ? belowHundred(at) : undefined;
      if (tail && tail.value > 0) {
        value += tail.value;
        end = tail.end;
      }
    }
  }
  return { value, end };
}

/** Reads "× 10^3", "x10^-2", "* 10**3" at `i`: the power and where it ends. */
function readTimesTenPower(chars: readonly string[], i: number): { power: number; end: number } | undefined {
  let at = i;
  while (chars[at] === " ") at++;
  if (!TIMES.has(chars[at] ?? "")) return undefined;
  at++;
  while (chars[at] === " ") at++;
  if (chars[at] !== "1" || chars[at + 1] !== "0") return undefined;
  at += 2;
  if (chars[at] === "^") at++;
  else if (chars[at] === "*" && chars[at + 1] === "*") at += 2;
  else return undefined;
  const negative = SIGNS.get(chars[at] ?? "") ?? false;
  if (SIGNS.has(chars[at] ?? "")) at++;
  const start = at;
  while (isDigit(chars[at])) at++;
  if (at === start || at - start > 3) return undefined;
  const power = Number(chars.slice(start, at).join(""));
  return { power: negative ? -power : power, end: at };
}

/** Skips " million" (any multiplier word) at `i`: the power of ten it adds, and where it ends. */
function readMultiplier(chars: readonly string[], i: number): { power: number; end: number } {
  let at = i;
  if (chars[at] === " ") at++;
  let end = at;
  while (isLetter(chars[end])) end++;
  const power = MULTIPLIERS.get(chars.slice(at, end).join(""));
  return power !== undefined && end > at ? { power, end } : { power: 0, end: i };
}

/** The number `chars` starts with (canonical) and where it ends. */
export interface ReadNumber {
  value: string;
  end: number;
}

/**
 * The number that `chars` (lowercase code points) starts with, canonical, or
 * undefined when it does not start with one.
 */
export function parseLeadingNumber(chars: readonly string[]): string | undefined {
  return readNumber(chars, 0, true)?.value;
}

/** Reads a number at `from`; number words ("forty-two") only when `withWords`. */
export function readNumber(chars: readonly string[], from: number, withWords: boolean): ReadNumber | undefined {
  let i = from;
  let negative = false;
  const sign = chars[i];
  if (sign !== undefined && SIGNS.has(sign) && (isDigit(chars[i + 1]) || CURRENCY.has(chars[i + 1] ?? ""))) {
    negative = SIGNS.get(sign)!;
    i++;
  }
  if (CURRENCY.has(chars[i] ?? "") && isDigit(chars[i + 1])) i++;

  const done = (value: string | undefined, end: number) => (value === undefined ? undefined : { value, end });
  if (!isDigit(chars[i]) && !(chars[i] === "." && isDigit(chars[i + 1]))) {
    if (!withWords || !isLetter(chars[i]) || i !== from) return undefined;
    const words = readNumberWords(chars, i);
    if (!words) return undefined;
    const after = chars[words.end];
    if (isLetter(after) || (after === "-" && isLetter(chars[words.end + 1]))) return undefined;
    const multiplier = readMultiplier(chars, words.end);
    return done(canonicalDecimal(negative, String(words.value), multiplier.power), multiplier.end);
  }

  let start = i;
  while (isDigit(chars[i])) i++;
  let digits = chars.slice(start, i).join("");
  let grouped = false;
  // Thousands groups: one separator kind, groups of exactly three digits, after a lead of one to three.
  const separator = chars[i];
  if (separator !== undefined && GROUP_SEPARATORS.has(separator) && digits.length <= 3) {
    while (chars[i] === separator && isDigit(chars[i + 1]) && isDigit(chars[i + 2]) && isDigit(chars[i + 3]) && !isDigit(chars[i + 4])) {
      digits += chars[i + 1]! + chars[i + 2]! + chars[i + 3]!;
      i += 4;
      grouped = true;
    }
  }
  let fraction = "";
  if (chars[i] === "." && isDigit(chars[i + 1])) {
    start = ++i;
    while (isDigit(chars[i])) i++;
    fraction = chars.slice(start, i).join("");
  } else if (chars[i] === "," && !grouped && isDigit(chars[i + 1])) {
    // A decimal comma ("3,5"); ",250" after one to three digits was a thousands group above.
    start = ++i;
    while (isDigit(chars[i])) i++;
    fraction = chars.slice(start, i).join("");
  }
  if (!grouped && fraction === "") {
    // "3/4", or a mixed number "1 7/8".
    let whole = "0";
    let at = i;
    if (chars[at] === " " && isDigit(chars[at + 1])) {
      let end = at + 1;
      while (isDigit(chars[end])) end++;
      if (chars[end] === "/" && isDigit(chars[end + 1])) {
        whole = digits;
        digits = chars.slice(at + 1, end).join("");
        at = end;
      }
    }
    if (chars[at] === "/" && isDigit(chars[at + 1])) {
      start = at + 1;
      at = start;
      while (isDigit(chars[at])) at++;
      const denominator = chars.slice(start, at).join("");
      if (whole.length > MAX_FRACTION_DIGITS || digits.length > MAX_FRACTION_DIGITS || denominator.length > MAX_FRACTION_DIGITS) return undefined;
      return done(canonicalFraction(negative, whole, digits, denominator), at);
    }
  }
  let exponent = 0;
  if (chars[i] === "e" && (isDigit(chars[i + 1]) || ((chars[i + 1] === "-" || chars[i + 1] === "+") && isDigit(chars[i + 2])))) {
    let at = i + 1;
    const expNegative = chars[at] === "-";
    if (chars[at] === "-" || chars[at] === "+") at++;
    start = at;
    while (isDigit(chars[at])) at++;
    if (at - start > 3) return undefined;
    exponent = Number(chars.slice(start, at).join("")) * (expNegative ? -1 : 1);
    i = at;
  } else {
    const power = readTimesTenPower(chars, i);
    if (power) {
      exponent = power.power;
      i = power.end;
    }
  }
  if (chars[i] === "%") i++;
  const multiplier = readMultiplier(chars, i);
  if (digits.length + fraction.length > 2 * MAX_NUMBER_DIGITS + 10) return undefined;
  return done(canonicalDecimal(negative, digits + fraction, exponent + multiplier.power - fraction.length), multiplier.end);
}
