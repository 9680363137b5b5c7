//! Words, terms and sentences (native/README.md §1; lib/consensus/tokenize.ts).

use crate::stop_words::is_stop_word;

/// Han, Hiragana and Katakana: a word per character.
pub fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF | 0x31F0..=0x31FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x2FA1F)
}

/// Letters and digits of any script (Unicode Alphabetic or Number).
pub fn is_word_char(c: char) -> bool {
    c.is_alphanumeric()
}

fn is_apostrophe(c: char) -> bool {
    c == '\'' || c == '\u{2019}'
}

/// Unicode White_Space (what the reference's `isSpace` tests).
pub fn is_space(c: char) -> bool {
    c.is_whitespace()
}

pub fn trim_space(s: &str) -> &str {
    s.trim_matches(is_space)
}

fn lowercase_into(word: &str, out: &mut Vec<String>) {
    if word.is_ascii() {
        out.push(word.to_ascii_lowercase());
    } else {
        out.push(word.to_lowercase());
    }
}

/// The lowercased words of a text, in order.
pub fn words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if is_cjk(c) {
            out.push(c.to_string());
            continue;
        }
        if !is_word_char(c) {
            continue;
        }
        current.clear();
        current.push(c);
        loop {
            match chars.peek() {
                Some(&n) if is_word_char(n) && !is_cjk(n) => {
                    current.push(n);
                    chars.next();
                }
                Some(&n) if is_apostrophe(n) => {
                    // Joins only when a word character follows: look one further.
                    let mut ahead = chars.clone();
                    ahead.next();
                    match ahead.next() {
                        Some(m) if is_word_char(m) && !is_cjk(m) => {
                            chars.next();
                        }
                        _ => break,
                    }
                }
                _ => break,
            }
        }
        lowercase_into(&current, &mut out);
    }
    out
}

/// Harman's S-stemmer on ASCII words of four letters or more; "-is" words kept.
pub fn stem(word: &str) -> String {
    if word.len() < 4 || !word.bytes().all(|b| b.is_ascii_lowercase()) {
        return word.to_string();
    }
    if word.ends_with("ies") && !word.ends_with("eies") && !word.ends_with("aies") {
        return format!("{}y", &word[..word.len() - 3]);
    }
    if word.ends_with("es") && !word.ends_with("aes") && !word.ends_with("ees") && !word.ends_with("oes") {
        return word[..word.len() - 1].to_string();
    }
    if word.ends_with('s') && !word.ends_with("us") && !word.ends_with("ss") && !word.ends_with("is") {
        return word[..word.len() - 1].to_string();
    }
    word.to_string()
}

/// Words without stop words, stemmed.
pub fn content_words(all: &[String]) -> Vec<String> {
    all.iter().filter(|w| !is_stop_word(w)).map(|w| stem(w)).collect()
}

/// A response's terms: content words, or all words stemmed when every word is a stop word.
pub fn document_terms(all: &[String]) -> Vec<String> {
    let content = content_words(all);
    if !content.is_empty() || all.is_empty() {
        content
    } else {
        all.iter().map(|w| stem(w)).collect()
    }
}

/// Length in chars of a leading list marker (`-`/`*`/`•`/`>`/`#` run, or 1–3 digits and `.`/`)`).
fn list_marker_len(s: &str) -> usize {
    let chars: Vec<char> = s.chars().take(5).collect();
    let run = chars.iter().take_while(|c| matches!(c, '-' | '*' | '•' | '>' | '#')).count();
    if run > 0 {
        // The run may be longer than the five chars looked at.
        return s.chars().take_while(|c| matches!(c, '-' | '*' | '•' | '>' | '#')).count();
    }
    let digits = chars.iter().take_while(|c| c.is_ascii_digit()).count();
    if (1..=3).contains(&digits) && matches!(chars.get(digits), Some('.') | Some(')')) {
        return digits + 1;
    }
    0
}

fn display_sentence(raw: &str) -> &str {
    let trimmed = trim_space(raw);
    let marker = list_marker_len(trimmed);
    if marker > 0 {
        let mut rest = trimmed.chars();
        for _ in 0..marker {
            rest.next();
        }
        let after = rest.as_str();
        if after.chars().next().is_some_and(is_space) {
            return trim_space(after);
        }
    }
    trimmed
}

/// Sentences: cut at line breaks, after `.` `!` `?` `…` before white space or the end, after `。！？`.
pub fn sentences(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut push = |end: usize, start: &mut usize| {
        let s = display_sentence(&text[*start..end]);
        if !s.is_empty() {
            out.push(s.to_string());
        }
        *start = end;
    };
    let mut iter = text.char_indices().peekable();
    while let Some((i, c)) = iter.next() {
        let end = i + c.len_utf8();
        let cut = match c {
            '\n' | '。' | '！' | '？' => true,
            '.' | '!' | '?' | '…' => iter.peek().is_none_or(|&(_, n)| is_space(n)),
            _ => false,
        };
        if cut {
            push(end, &mut start);
        }
    }
    if start < text.len() {
        push(text.len(), &mut start);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_of_any_script() {
        assert_eq!(
            words("Don't PANIC: ÉLAN vital, naïve café — 42 ΟΔΟΣ"),
            ["dont", "panic", "élan", "vital", "naïve", "café", "42", "οδος"]
        );
        assert_eq!(words("The model’s answer"), ["the", "models", "answer"]);
        assert_eq!(words("最大の海は太平洋"), ["最", "大", "の", "海", "は", "太", "平", "洋"]);
        assert_eq!(words("it's' x'"), ["its", "x"]);
    }

    #[test]
    fn terms_drop_stop_words_and_stem() {
        let terms = document_terms(&words("The answers are the studies of these classes"));
        assert_eq!(terms, ["answer", "study", "classe"]);
        assert_eq!(document_terms(&words("It is")), ["it", "is"]);
        assert_eq!(stem("analysis"), "analysis");
    }

    #[test]
    fn sentences_cut_and_lose_list_markers() {
        assert_eq!(
            sentences("First one. Second one!\n- third item\n2) fourth\nPi is 3.14 here。最後"),
            ["First one.", "Second one!", "third item", "fourth", "Pi is 3.14 here。", "最後"]
        );
        assert!(sentences("  \n\n ").is_empty());
    }
}
