//! Words, terms and sentences (native/README.md §1; lib/consensus/tokenize.ts).

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

/// What `scan` finds, in text order.
pub enum Piece<'t, 'b> {
    /// A word that stands in the text as it is (lowercase, no apostrophes): a slice of it.
    InText(&'t str),
    /// A word rewritten (lowercased, apostrophes dropped), valid during the call.
    Rewritten(&'b str),
    /// A sentence ends at this byte offset (README §1: a line break, `.` `!` `?` `…`
    /// before white space or the end, `。！？`).
    Cut(usize),
}

/// One pass over `text`: its lowercased words and its sentence ends, in order.
/// Word characters and sentence terminators are disjoint, so a sentence never cuts a word.
pub fn scan<'t>(text: &'t str, mut f: impl for<'b> FnMut(Piece<'t, 'b>)) {
    let bytes = text.as_bytes();
    let mut buffer = String::new();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        // ASCII first: a table lookup per byte, no decoding.
        if b < 0x80 && !ASCII_WORD[b as usize] {
            i += 1;
            let cut = match b {
                b'\n' => true,
                b'.' | b'!' | b'?' => i == bytes.len() || is_space(char_at(text, i)),
                _ => false,
            };
            if cut {
                f(Piece::Cut(i));
            }
            continue;
        }
        let c = char_at(text, i);
        let width = c.len_utf8();
        if is_cjk(c) {
            f(Piece::InText(&text[i..i + width]));
            i += width;
            continue;
        }
        if !is_word_char(c) {
            i += width;
            let cut = match c {
                '。' | '！' | '？' => true,
                '…' => i == bytes.len() || is_space(char_at(text, i)),
                _ => false,
            };
            if cut {
                f(Piece::Cut(i));
            }
            continue;
        }
        // The word: word characters, and apostrophes with a word character after them.
        let start = i;
        let mut end = i + width;
        let mut apostrophes = false;
        let mut plain_lowercase_ascii = c.is_ascii_lowercase() || c.is_ascii_digit();
        while end < bytes.len() {
            let b = bytes[end];
            if b < 0x80 && ASCII_WORD[b as usize] {
                plain_lowercase_ascii &= !b.is_ascii_uppercase();
                end += 1;
                continue;
            }
            let n = char_at(text, end);
            if b >= 0x80 && is_word_char(n) && !is_cjk(n) {
                plain_lowercase_ascii = false;
                end += n.len_utf8();
            } else if is_apostrophe(n) && end + n.len_utf8() < bytes.len() && {
                let m = char_at(text, end + n.len_utf8());
                is_word_char(m) && !is_cjk(m)
            } {
                apostrophes = true;
                end += n.len_utf8();
            } else {
                break;
            }
        }
        let word = &text[start..end];
        i = end;
        if plain_lowercase_ascii && !apostrophes {
            f(Piece::InText(word));
            continue;
        }
        buffer.clear();
        let joined: String;
        let plain = if apostrophes {
            joined = word.chars().filter(|&c| !is_apostrophe(c)).collect();
            joined.as_str()
        } else {
            word
        };
        if plain.is_ascii() {
            buffer.push_str(plain);
            buffer.make_ascii_lowercase();
        } else {
            buffer.push_str(&plain.to_lowercase());
        }
        f(Piece::Rewritten(&buffer));
    }
}

/// Calls `f` with each lowercased word of `text`, in order.
pub fn for_each_word(text: &str, mut f: impl FnMut(&str)) {
    scan(text, |piece| match piece {
        Piece::InText(w) | Piece::Rewritten(w) => f(w),
        Piece::Cut(_) => {}
    });
}

/// ASCII letters and digits: the word characters below 0x80.
const ASCII_WORD: [bool; 128] = {
    let mut table = [false; 128];
    let mut b = 0;
    while b < 128 {
        table[b] = (b as u8).is_ascii_alphanumeric();
        b += 1;
    }
    table
};

/// The char starting at byte `i` of `text` (a char boundary), ASCII first.
fn char_at(text: &str, i: usize) -> char {
    let b = text.as_bytes()[i];
    if b < 0x80 {
        b as char
    } else {
        text[i..].chars().next().expect("a char boundary inside the text")
    }
}

/// The lowercased words of a text, in order.
pub fn words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for_each_word(text, |w| out.push(w.to_string()));
    out
}

/// Harman's S-stemmer (README §1) on ASCII words of four letters or more: the
/// stem, written into `buffer` when it differs, else the word itself.
pub fn stem_into<'a>(word: &'a str, buffer: &'a mut String) -> &'a str {
    if word.len() < 4 || !word.bytes().all(|b| b.is_ascii_lowercase()) {
        return word;
    }
    if word.ends_with("ies") && !word.ends_with("eies") && !word.ends_with("aies") {
        buffer.clear();
        buffer.push_str(&word[..word.len() - 3]);
        buffer.push('y');
        return buffer;
    }
    // "-es" → "-e" and "-s" → "" both drop the last letter.
    let es = word.ends_with("es") && !word.ends_with("aes") && !word.ends_with("ees") && !word.ends_with("oes");
    let s = !es && word.ends_with('s') && !word.ends_with("us") && !word.ends_with("ss") && !word.ends_with("is");
    let cut = usize::from(es || s);
    &word[..word.len() - cut]
}

/// Length in chars of a leading list marker (`-`/`*`/`•`/`>`/`#` run, or 1–3 digits and `.`/`)`).
fn list_marker_len(s: &str) -> usize {
    let bullets = s.chars().take_while(|c| matches!(c, '-' | '*' | '•' | '>' | '#')).count();
    if bullets > 0 {
        return bullets;
    }
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    if (1..=3).contains(&digits) && matches!(s.as_bytes().get(digits), Some(b'.') | Some(b')')) {
        return digits + 1;
    }
    0
}

/// Trimmed, without a leading list marker; and how many words the marker had (a "2)" has one).
pub fn display_sentence(raw: &str) -> (&str, usize) {
    let trimmed = trim_space(raw);
    let marker = list_marker_len(trimmed);
    if marker > 0 {
        let mut rest = trimmed.chars();
        for _ in 0..marker {
            rest.next();
        }
        let after = rest.as_str();
        if after.chars().next().is_some_and(is_space) {
            let digits = trimmed.starts_with(|c: char| c.is_ascii_digit());
            return (trim_space(after), usize::from(digits));
        }
    }
    (trimmed, 0)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::stop_words::is_stop_word;

    pub(crate) fn stem(word: &str) -> String {
        let mut buffer = String::new();
        stem_into(word, &mut buffer).to_string()
    }

    fn document_terms(all: &[String]) -> Vec<String> {
        let content: Vec<String> = all.iter().filter(|w| !is_stop_word(w)).map(|w| stem(w)).collect();
        if !content.is_empty() || all.is_empty() {
            content
        } else {
            all.iter().map(|w| stem(w)).collect()
        }
    }

    /// The sentences a text shows, as the engine cuts them.
    pub(crate) fn sentences(text: &str) -> Vec<String> {
        let mut ends = Vec::new();
        scan(text, |piece| {
            if let Piece::Cut(end) = piece {
                ends.push(end);
            }
        });
        if !text.is_empty() && ends.last() != Some(&text.len()) {
            ends.push(text.len());
        }
        let mut start = 0;
        ends.into_iter()
            .filter_map(|end| {
                let (shown, _) = display_sentence(&text[start..end]);
                start = end;
                (!shown.is_empty()).then(|| shown.to_string())
            })
            .collect()
    }

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
