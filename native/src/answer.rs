//! Final answers (native/README.md §5; lib/consensus/final-answer.ts).

use crate::constants::{
    CONCLUDING_SENTENCE_MAX_WORDS, MAX_ANSWER_CHARS, SHORT_RESPONSE_MAX_TOKENS, TEXT_ANSWER_MAX_TOKENS,
};
use crate::engine::{AnswerKind, FinalAnswer};
use crate::number::{parse_leading_number, read_number};
use crate::stop_words::is_stop_word;
use crate::tokenize::{is_cjk, is_space, is_word_char, words};

const FILLER_CHARS: [char; 14] = ['*', '_', ':', '：', '=', '#', '>', '"', '\'', '`', '~', '≈', '–', '—'];
const FILLER_WORDS: [&str; 17] = [
    "would be",
    "will be",
    "is",
    "was",
    "est",
    "ist",
    "es",
    "é",
    "是",
    "final",
    "finale",
    "approximately",
    "approx",
    "about",
    "around",
    "roughly",
    "exactly",
];
const CHOICE_PREFIXES: [&str; 3] = ["option", "choice", "letter"];
const YES: [&str; 8] = ["yes", "true", "oui", "ja", "sí", "si", "sim", "はい"];
const NO: [&str; 7] = ["no", "false", "non", "nein", "não", "nao", "いいえ"];
const TRAILING: [char; 11] = ['*', '_', '`', '"', '\'', '.', '!', '?', ':', ';', ','];
const AFTER_LEADING_YES_NO: [char; 7] = [',', '.', '!', ';', ':', '—', '–'];

const MARKERS: [&str; 12] = [
    "final answer",
    "answer",
    "correct option",
    "correct choice",
    "r\u{e9}ponse",
    "antwort",
    "respuesta",
    "risposta",
    "resposta",
    "\u{7b54}\u{6848}",
    "\u{7b54}\u{3048}",
    "\u{56de}\u{7b54}",
];

/// The valid answer markers of `lower` as byte ranges, the last one first (by start;
/// "final answer" and the "answer" inside it both count).
fn marker_spans(lower: &str) -> impl Iterator<Item = (usize, usize)> {
    static FINDERS: std::sync::OnceLock<Vec<memchr::memmem::Finder<'static>>> = std::sync::OnceLock::new();
    let finders = FINDERS.get_or_init(|| MARKERS.iter().map(|m| memchr::memmem::Finder::new(m.as_bytes())).collect());
    let mut spans: Vec<(usize, usize)> = Vec::new();
    for (marker, finder) in MARKERS.iter().zip(finders) {
        let cjk = marker.chars().next().is_some_and(is_cjk);
        for at in finder.find_iter(lower.as_bytes()) {
            let end = at + marker.len();
            let before = lower[..at].chars().next_back();
            let after = lower[end..].chars().next();
            if cjk || (!before.is_some_and(is_word_char) && !after.is_some_and(is_word_char)) {
                spans.push((at, end));
            }
        }
    }
    spans.sort_unstable_by(|a, b| b.cmp(a));
    spans.into_iter()
}

/// Byte index just past the last answer marker in `lower` (the one that starts last).
fn after_last_marker(lower: &str) -> Option<usize> {
    marker_spans(lower).next().map(|(_, end)| end)
}

pub fn has_answer_marker(lower: &str) -> bool {
    after_last_marker(lower).is_some()
}

fn code_points(s: &str, n: usize) -> Vec<char> {
    s.chars().take(n).collect()
}

fn starts_with_word(chars: &[char], at: usize, word: &str) -> bool {
    let mut k = at;
    let mut last = None;
    for w in word.chars() {
        if chars.get(k) != Some(&w) {
            return false;
        }
        last = Some(w);
        k += 1;
    }
    last.is_some_and(is_cjk) || !chars.get(k).is_some_and(|&c| is_word_char(c))
}

fn skip_filler(chars: &[char], mut at: usize) -> usize {
    loop {
        let start = at;
        while at < chars.len() && (is_space(chars[at]) || FILLER_CHARS.contains(&chars[at])) {
            at += 1;
        }
        if let Some(word) = FILLER_WORDS.iter().find(|w| starts_with_word(chars, at, w)) {
            at += word.chars().count();
        }
        if at == start {
            return at;
        }
    }
}

fn cut_answer(chars: &[char]) -> &[char] {
    let mut end = 0;
    while end < chars.len() {
        let c = chars[end];
        if matches!(c, '\n' | '。' | '！' | '？') {
            break;
        }
        if matches!(c, '.' | '!' | '?' | ';') && chars.get(end + 1).is_none_or(|&n| is_space(n)) {
            break;
        }
        end += 1;
    }
    while end > 0 && (is_space(chars[end - 1]) || TRAILING.contains(&chars[end - 1])) {
        end -= 1;
    }
    &chars[..end]
}

fn read_choice(chars: &[char]) -> Option<String> {
    let mut at = 0;
    if let Some(prefix) = CHOICE_PREFIXES.iter().find(|p| starts_with_word(chars, 0, p)) {
        at += prefix.len();
        while chars.get(at) == Some(&' ') {
            at += 1;
        }
    }
    let open = matches!(chars.get(at), Some('(') | Some('['));
    if open {
        at += 1;
    }
    let letter = *chars.get(at)?;
    if !('a'..='j').contains(&letter) {
        return None;
    }
    let next = chars.get(at + 1).copied();
    let closes = matches!(next, Some(')') | Some(']'));
    let ends = next.is_none()
        || closes
        || (matches!(next, Some('.') | Some(':')) && chars.get(at + 2).is_none_or(|&c| is_space(c)));
    if !ends || (open && !closes && next.is_some()) {
        return None;
    }
    Some(letter.to_ascii_uppercase().to_string())
}

fn read_yes_no(chars: &[char]) -> Option<String> {
    if YES.iter().any(|w| starts_with_word(chars, 0, w)) {
        return Some("yes".into());
    }
    if NO.iter().any(|w| starts_with_word(chars, 0, w)) {
        return Some("no".into());
    }
    None
}

fn read_text(chars: &[char]) -> Option<String> {
    let text: String = chars.iter().collect();
    let content: Vec<String> = words(&text).into_iter().filter(|w| !is_stop_word(w)).collect();
    if content.is_empty() || content.len() > TEXT_ANSWER_MAX_TOKENS {
        return None;
    }
    let mut out = content[0].clone();
    for pair in content.windows(2) {
        let cjk = |w: &str| w.chars().next().is_some_and(is_cjk) && w.chars().count() == 1;
        if !(cjk(&pair[0]) && cjk(&pair[1])) {
            out.push(' ');
        }
        out.push_str(&pair[1]);
    }
    Some(out)
}

/// A candidate (lowercase chars) as a choice, yes/no, number or, unless `structured_only`, short text.
pub fn read_answer(chars: &[char], structured_only: bool) -> Option<FinalAnswer> {
    if chars.is_empty() {
        return None;
    }
    let found = read_choice(chars)
        .map(|v| (AnswerKind::Choice, v))
        .or_else(|| read_yes_no(chars).map(|v| (AnswerKind::YesNo, v)))
        .or_else(|| parse_leading_number(chars).map(|v| (AnswerKind::Number, v)))
        .or_else(|| if structured_only { None } else { read_text(chars).map(|v| (AnswerKind::Text, v)) });
    found.map(|(kind, value)| FinalAnswer { kind, value })
}

fn bold_answer(lower: &str) -> Option<FinalAnswer> {
    let mut spans: Vec<(&str, bool)> = Vec::new();
    let mut from = 0;
    while let Some(open) = lower[from..].find("**").map(|p| p + from) {
        let Some(close) = lower[open + 2..].find("**").map(|p| p + open + 2) else { break };
        spans.push((&lower[open + 2..close], open == 0 || lower.as_bytes()[open - 1] == b'\n'));
        from = close + 2;
    }
    spans.iter().rev().find_map(|&(text, opens_line)| {
        let chars = code_points(text, MAX_ANSWER_CHARS);
        let from = skip_filler(&chars, 0);
        read_answer(cut_answer(&chars[from..]), !opens_line)
    })
}

fn leading_yes_no(lower: &str) -> Option<FinalAnswer> {
    let chars = code_points(lower, MAX_ANSWER_CHARS);
    let head = &chars[skip_filler(&chars, 0)..];
    let value = read_yes_no(head)?;
    let word = YES.iter().chain(NO.iter()).find(|w| starts_with_word(head, 0, w))?;
    let next = head.get(word.chars().count());
    if next.is_some_and(|c| AFTER_LEADING_YES_NO.contains(c)) {
        Some(FinalAnswer { kind: AnswerKind::YesNo, value })
    } else {
        None
    }
}

fn concluding_number(last_sentence: &str) -> Option<FinalAnswer> {
    let all = code_points(&last_sentence.to_lowercase(), 4 * MAX_ANSWER_CHARS);
    let equals = all.iter().rposition(|&c| c == '=');
    let chars = match equals {
        Some(e) => &all[e + 1..],
        None => {
            if words(last_sentence).len() > CONCLUDING_SENTENCE_MAX_WORDS {
                return None;
            }
            &all[..]
        }
    };
    let mut found: Vec<String> = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let startable = i == 0 || !(is_word_char(chars[i - 1]) || matches!(chars[i - 1], '.' | ',' | '/'));
        let mut number = if startable { read_number(chars, i, false) } else { None };
        if let Some((_, end)) = &number {
            let next = chars.get(*end).copied();
            let glued = next.is_some_and(is_word_char)
                || (next == Some('-') && chars.get(end + 1).is_some_and(|&c| is_word_char(c)));
            if glued {
                number = None;
            }
        }
        match number {
            Some((value, end)) => {
                found.push(value);
                if equals.is_some() {
                    break;
                }
                i = end.max(i + 1);
            }
            None => i += 1,
        }
    }
    if found.len() == 1 {
        Some(FinalAnswer { kind: AnswerKind::Number, value: found.pop()? })
    } else {
        None
    }
}

/// The final answer of a response of `word_count` words (README §5, in its order).
#[cfg(test)]
pub fn final_answer(text: &str, word_count: usize, last_sentence: Option<&str>) -> Option<FinalAnswer> {
    let lower = text.to_lowercase();
    final_answer_of(&lower, after_last_marker(&lower), word_count, last_sentence)
}

/// A response's lowercased text and its answer markers (byte ranges, last first), read once.
pub struct LoweredResponse {
    pub lower: String,
    pub markers: Vec<(usize, usize)>,
}

impl LoweredResponse {
    pub fn marker_end(&self) -> Option<usize> {
        self.markers.first().map(|&(_, end)| end)
    }
}

pub fn lowered(text: &str) -> LoweredResponse {
    let lower = text.to_lowercase();
    let markers = marker_spans(&lower).collect();
    LoweredResponse { lower, markers }
}

/// The final answer, given the response read by `lowered`.
pub fn final_answer_of(
    lower: &str,
    marker: Option<usize>,
    word_count: usize,
    last_sentence: Option<&str>,
) -> Option<FinalAnswer> {
    if marker.is_some() || (1..=SHORT_RESPONSE_MAX_TOKENS).contains(&word_count) {
        let rest = code_points(&lower[marker.unwrap_or(0)..], 4 * MAX_ANSWER_CHARS);
        let from = skip_filler(&rest, 0);
        let end = (from + MAX_ANSWER_CHARS).min(rest.len());
        return read_answer(cut_answer(&rest[from..end]), false);
    }
    bold_answer(lower).or_else(|| leading_yes_no(lower)).or_else(|| last_sentence.and_then(concluding_number))
}

/// Same answer, conflicting answers, or not comparable (README §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relation {
    Match,
    Conflict,
    None,
}

pub fn answer_relation(a: Option<&FinalAnswer>, b: Option<&FinalAnswer>) -> Relation {
    let (Some(a), Some(b)) = (a, b) else { return Relation::None };
    if a.kind != b.kind {
        return Relation::None;
    }
    if a.value == b.value {
        return Relation::Match;
    }
    if a.kind != AnswerKind::Text {
        return Relation::Conflict;
    }
    let shares_word = b.value.split(' ').any(|w| a.value.split(' ').any(|x| x == w));
    if shares_word {
        Relation::None
    } else {
        Relation::Conflict
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tokenize::tests::sentences;

    fn answer_of(text: &str) -> Option<(AnswerKind, String)> {
        let last = sentences(text).pop();
        final_answer(text, words(text).len(), last.as_deref()).map(|a| (a.kind, a.value))
    }

    #[test]
    fn finds_final_answers() {
        use AnswerKind::*;
        for (text, kind, value) in [
            ("7 days × 24 hours = 604,800 seconds.\n\n**Answer:** 604,800", Number, "604800"),
            ("Reasoning first. Final answer: (B)", Choice, "B"),
            ("Yes.", YesNo, "yes"),
            (
                "No, because the wall is far too narrow to see from there. It is a myth that keeps coming back.",
                YesNo,
                "no",
            ),
            ("The time complexity is linear overall. Answer: O(n log n)", Text, "o n log n"),
            ("答案是太平洋。", Text, "太平洋"),
            ("La respuesta final: 206 huesos.", Number, "206"),
            (
                "**Mercury.** It's the innermost planet, with an orbital period of just 88 days around the Sun.",
                Text,
                "mercury",
            ),
            ("A day has 86,400 seconds, so a week has 7 × 86,400 = 6.048 × 10^5 seconds.", Number, "604800"),
        ] {
            assert_eq!(answer_of(text), Some((kind, value.to_string())), "{text}");
        }
        assert_eq!(
            answer_of("The fall time is t = √(2h/g), which does not depend on the mass of the object at all."),
            None
        );
        assert_eq!(answer_of(""), None);
    }

    #[test]
    fn relates_answers() {
        let text = |v: &str| FinalAnswer { kind: AnswerKind::Text, value: v.into() };
        assert_eq!(answer_relation(Some(&text("canberra")), Some(&text("sydney"))), Relation::Conflict);
        assert_eq!(answer_relation(Some(&text("canberra")), Some(&text("capital canberra"))), Relation::None);
        assert_eq!(answer_relation(Some(&text("x")), Some(&text("x"))), Relation::Match);
        assert_eq!(answer_relation(None, Some(&text("x"))), Relation::None);
    }
}
