//! Numbers read exactly, in the formats people write them (native/README.md §5;
//! lib/consensus/number.ts). Input: lowercase chars.

use crate::constants::{MAX_FRACTION_DIGITS, MAX_NUMBER_DIGITS, MAX_NUMBER_EXPONENT};

const CURRENCY: [char; 4] = ['$', '€', '£', '¥'];
const GROUP_SEPARATORS: [char; 7] = [',', ' ', '\u{a0}', '\u{202f}', '\u{2009}', '\'', '_'];
const TIMES: [char; 4] = ['×', 'x', '*', '·'];
const UNITS: [&str; 20] = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
];
const TENS: [&str; 10] = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"];
/// A fraction's decimal mantissa beyond this is not read (the reference uses the same bound).
const MAX_FRACTION_MANTISSA: u128 = 1_000_000_000_000_000_000_000_000_000_000_000_000;

fn sign_of(c: Option<char>) -> Option<bool> {
    match c {
        Some('-') | Some('−') => Some(true),
        Some('+') => Some(false),
        _ => None,
    }
}

fn multiplier_of(word: &str) -> Option<i64> {
    match word {
        "thousand" => Some(3),
        "million" => Some(6),
        "billion" => Some(9),
        "trillion" => Some(12),
        _ => None,
    }
}

fn at(chars: &[char], i: usize) -> Option<char> {
    chars.get(i).copied()
}

fn is_digit(c: Option<char>) -> bool {
    c.is_some_and(|c| c.is_ascii_digit())
}

fn is_letter(c: Option<char>) -> bool {
    c.is_some_and(|c| c.is_ascii_lowercase())
}

fn collect(chars: &[char], from: usize, to: usize) -> String {
    chars[from..to].iter().collect()
}

fn format_decimal(negative: bool, digits: &str, exponent: i64) -> String {
    if digits.is_empty() {
        return "0".to_string();
    }
    let sign = if negative { "-" } else { "" };
    let len = digits.len() as i64;
    let point = len + exponent;
    if exponent >= 0 && point <= 21 {
        return format!("{sign}{digits}{}", "0".repeat(exponent as usize));
    }
    if exponent < 0 && point > 0 {
        let p = point as usize;
        return format!("{sign}{}.{}", &digits[..p], &digits[p..]);
    }
    if exponent < 0 && point > -6 {
        return format!("{sign}0.{}{digits}", "0".repeat((-point) as usize));
    }
    let rest = if digits.len() > 1 { format!(".{}", &digits[1..]) } else { String::new() };
    format!("{sign}{}{rest}e{}", &digits[..1], point - 1)
}

fn canonical_decimal(negative: bool, raw: &str, mut exponent: i64) -> Option<String> {
    let trimmed = raw.trim_start_matches('0');
    let digits = trimmed.trim_end_matches('0');
    exponent += (trimmed.len() - digits.len()) as i64;
    if digits.len() > MAX_NUMBER_DIGITS {
        return None;
    }
    if !digits.is_empty() && (digits.len() as i64 + exponent).abs() > MAX_NUMBER_EXPONENT {
        return None;
    }
    Some(format_decimal(negative, digits, exponent))
}

fn gcd(mut a: u128, mut b: u128) -> u128 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

fn canonical_fraction(negative: bool, whole: &str, numerator: &str, denominator: &str) -> Option<String> {
    let mut d: u128 = denominator.parse().ok()?;
    let mut n: u128 = whole.parse::<u128>().ok()? * d + numerator.parse::<u128>().ok()?;
    if d == 0 {
        return None;
    }
    let g = gcd(n, d);
    if n == 0 {
        return Some("0".to_string());
    }
    n /= g;
    d /= g;
    let (mut twos, mut fives, mut rest) = (0u32, 0u32, d);
    while rest % 2 == 0 {
        rest /= 2;
        twos += 1;
    }
    while rest % 5 == 0 {
        rest /= 5;
        fives += 1;
    }
    if rest != 1 {
        return Some(format!("{}{n}/{d}", if negative { "-" } else { "" }));
    }
    let k = twos.max(fives);
    let mantissa = n.checked_mul(2u128.checked_pow(k - twos)?)?.checked_mul(5u128.checked_pow(k - fives)?)?;
    if mantissa >= MAX_FRACTION_MANTISSA {
        return None;
    }
    canonical_decimal(negative, &mantissa.to_string(), -(k as i64))
}

fn read_word(chars: &[char], from: usize) -> (String, usize) {
    let mut end = from;
    while is_letter(at(chars, end)) {
        end += 1;
    }
    (collect(chars, from, end), end)
}

fn skip_gap(chars: &[char], i: usize) -> usize {
    if matches!(at(chars, i), Some(' ') | Some('-')) {
        i + 1
    } else {
        i
    }
}

fn below_hundred(chars: &[char], from: usize) -> Option<(u64, usize)> {
    let (first, first_end) = read_word(chars, from);
    if first.is_empty() {
        return None;
    }
    if let Some(unit) = UNITS.iter().position(|u| *u == first) {
        return Some((unit as u64, first_end));
    }
    let tens = TENS.iter().position(|t| *t == first).filter(|&t| t >= 2)?;
    let gap = skip_gap(chars, first_end);
    let (next, next_end) = read_word(chars, gap);
    if let Some(ones) = UNITS.iter().position(|u| *u == next) {
        if (1..=9).contains(&ones) && gap != first_end {
            return Some((tens as u64 * 10 + ones as u64, next_end));
        }
    }
    Some((tens as u64 * 10, first_end))
}

fn read_number_words(chars: &[char], from: usize) -> Option<(u64, usize)> {
    let (mut value, mut end) = below_hundred(chars, from)?;
    let gap = skip_gap(chars, end);
    let (hundred, hundred_end) = read_word(chars, gap);
    if hundred == "hundred" && gap != end && (1..=9).contains(&value) {
        value *= 100;
        end = hundred_end;
        let mut at_ = skip_gap(chars, end);
        if at_ != end {
            let (and, and_end) = read_word(chars, at_);
            if and == "and" {
                at_ = skip_gap(chars, and_end);
            }
            let tail = if at_ != end { below_hundred(chars, at_) } else { None };
            if let Some((t, t_end)) = tail {
                if t > 0 {
                    value += t;
                    end = t_end;
                }
            }
        }
    }
    Some((value, end))
}

fn read_times_ten_power(chars: &[char], i: usize) -> Option<(i64, usize)> {
    let mut p = i;
    while at(chars, p) == Some(' ') {
        p += 1;
    }
    if !at(chars, p).is_some_and(|c| TIMES.contains(&c)) {
        return None;
    }
    p += 1;
    while at(chars, p) == Some(' ') {
        p += 1;
    }
    if at(chars, p) != Some('1') || at(chars, p + 1) != Some('0') {
        return None;
    }
    p += 2;
    if at(chars, p) == Some('^') {
        p += 1;
    } else if at(chars, p) == Some('*') && at(chars, p + 1) == Some('*') {
        p += 2;
    } else {
        return None;
    }
    let negative = sign_of(at(chars, p)).unwrap_or(false);
    if sign_of(at(chars, p)).is_some() {
        p += 1;
    }
    let start = p;
    while is_digit(at(chars, p)) {
        p += 1;
    }
    if p == start || p - start > 3 {
        return None;
    }
    let power: i64 = collect(chars, start, p).parse().ok()?;
    Some((if negative { -power } else { power }, p))
}

fn read_multiplier(chars: &[char], i: usize) -> (i64, usize) {
    let mut p = i;
    if at(chars, p) == Some(' ') {
        p += 1;
    }
    let (word, end) = read_word(chars, p);
    match multiplier_of(&word) {
        Some(power) if end > p => (power, end),
        _ => (0, i),
    }
}

/// The canonical number `chars` starts with at `from`, and where it ends;
/// number words ("forty-two") only when `with_words`.
pub fn read_number(chars: &[char], from: usize, with_words: bool) -> Option<(String, usize)> {
    let mut i = from;
    let mut negative = false;
    if let Some(neg) = sign_of(at(chars, i)) {
        let next = at(chars, i + 1);
        if is_digit(next) || next.is_some_and(|c| CURRENCY.contains(&c)) {
            negative = neg;
            i += 1;
        }
    }
    if at(chars, i).is_some_and(|c| CURRENCY.contains(&c)) && is_digit(at(chars, i + 1)) {
        i += 1;
    }

    let starts_number = is_digit(at(chars, i)) || (at(chars, i) == Some('.') && is_digit(at(chars, i + 1)));
    if !starts_number {
        if !with_words || !is_letter(at(chars, i)) || i != from {
            return None;
        }
        let (value, end) = read_number_words(chars, i)?;
        let after = at(chars, end);
        if is_letter(after) || (after == Some('-') && is_letter(at(chars, end + 1))) {
            return None;
        }
        let (power, multiplier_end) = read_multiplier(chars, end);
        return canonical_decimal(negative, &value.to_string(), power).map(|v| (v, multiplier_end));
    }

    let mut start = i;
    while is_digit(at(chars, i)) {
        i += 1;
    }
    let mut digits = collect(chars, start, i);
    let mut grouped = false;
    if let Some(separator) = at(chars, i) {
        if GROUP_SEPARATORS.contains(&separator) && digits.len() <= 3 {
            while at(chars, i) == Some(separator)
                && is_digit(at(chars, i + 1))
                && is_digit(at(chars, i + 2))
                && is_digit(at(chars, i + 3))
                && !is_digit(at(chars, i + 4))
            {
                digits.push_str(&collect(chars, i + 1, i + 4));
                i += 4;
                grouped = true;
            }
        }
    }
    let mut fraction = String::new();
    if at(chars, i) == Some('.') && is_digit(at(chars, i + 1)) {
        i += 1;
        start = i;
        while is_digit(at(chars, i)) {
            i += 1;
        }
        fraction = collect(chars, start, i);
    } else if at(chars, i) == Some(',') && !grouped && is_digit(at(chars, i + 1)) {
        // A decimal comma; ",250" after one to three digits was a thousands group above.
        i += 1;
        start = i;
        while is_digit(at(chars, i)) {
            i += 1;
        }
        fraction = collect(chars, start, i);
    }
    if !grouped && fraction.is_empty() {
        // "3/4", or a mixed number "1 7/8".
        let mut whole = "0".to_string();
        let mut p = i;
        if at(chars, p) == Some(' ') && is_digit(at(chars, p + 1)) {
            let mut end = p + 1;
            while is_digit(at(chars, end)) {
                end += 1;
            }
            if at(chars, end) == Some('/') && is_digit(at(chars, end + 1)) {
                whole = std::mem::replace(&mut digits, collect(chars, p + 1, end));
                p = end;
            }
        }
        if at(chars, p) == Some('/') && is_digit(at(chars, p + 1)) {
            start = p + 1;
            p = start;
            while is_digit(at(chars, p)) {
                p += 1;
            }
            let denominator = collect(chars, start, p);
            if whole.len() > MAX_FRACTION_DIGITS
                || digits.len() > MAX_FRACTION_DIGITS
                || denominator.len() > MAX_FRACTION_DIGITS
            {
                return None;
            }
            return canonical_fraction(negative, &whole, &digits, &denominator).map(|v| (v, p));
        }
    }
    let mut exponent: i64 = 0;
    let next = at(chars, i + 1);
    if at(chars, i) == Some('e')
        && (is_digit(next) || (matches!(next, Some('-') | Some('+')) && is_digit(at(chars, i + 2))))
    {
        let mut p = i + 1;
        let exp_negative = at(chars, p) == Some('-');
        if matches!(at(chars, p), Some('-') | Some('+')) {
            p += 1;
        }
        start = p;
        while is_digit(at(chars, p)) {
            p += 1;
        }
        if p - start > 3 {
            return None;
        }
        let e: i64 = collect(chars, start, p).parse().ok()?;
        exponent = if exp_negative { -e } else { e };
        i = p;
    } else if let Some((power, end)) = read_times_ten_power(chars, i) {
        exponent = power;
        i = end;
    }
    if at(chars, i) == Some('%') {
        i += 1;
    }
    let (power, end) = read_multiplier(chars, i);
    if digits.len() + fraction.len() > 2 * MAX_NUMBER_DIGITS + 10 {
        return None;
    }
    let exponent = exponent + power - fraction.len() as i64;
    canonical_decimal(negative, &(digits + &fraction), exponent).map(|v| (v, end))
}

/// The canonical number a lowercase candidate starts with.
pub fn parse_leading_number(chars: &[char]) -> Option<String> {
    read_number(chars, 0, true).map(|(v, _)| v)
}

#[cfg(test)]
mod tests {
    use super::parse_leading_number;

    fn read(s: &str) -> Option<String> {
        parse_leading_number(&s.chars().collect::<Vec<_>>())
    }

    #[test]
    fn common_formats() {
        for (text, expected) in [
            ("1,250", "1250"),
            ("1 250 km", "1250"),
            ("$1,250.00", "1250"),
            ("1.25 × 10^3", "1250"),
            ("−3,5", "-3.5"),
            ("22,50 €", "22.5"),
            (".375", "0.375"),
            ("75%", "75"),
            ("1 7/8 cups", "1.875"),
            ("2/6", "1/3"),
            ("1.5 million", "1500000"),
            ("forty-two", "42"),
            ("three hundred and five", "305"),
            ("0.0000001", "1e-7"),
            ("12345678901234567890123", "1.2345678901234567890123e22"),
            ("-0", "0"),
        ] {
            assert_eq!(read(text).as_deref(), Some(expected), "{text}");
        }
    }

    #[test]
    fn not_numbers() {
        for text in ["abc", "", "one-off", "oneself", "1/0", &"1".repeat(40), "1e999", "999999999 1/536870912"] {
            assert_eq!(read(text), None, "{text}");
        }
    }
}
