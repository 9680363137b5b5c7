//! The algorithm end to end (native/README.md), on validated input: the steps
//! that are independent per response (or per similarity row) run in parallel
//! when the input is large enough to pay for it; term numbering, clustering,
//! ranking and the vote run in order. The result does not depend on the thread count.

use crate::answer::{answer_relation, final_answer_of, lowered};
use crate::cluster::cluster_responses;
use crate::engine::{FinalAnswer, Options, RawConsensus};
use crate::key_points::{key_points, Coverage, SentenceTerms};
use crate::similarity::{count_terms, inverse_document_frequencies, shingles, similarity_matrix, tfidf_vector};
use crate::stop_words::is_stop_word;
use crate::tokenize::{display_sentence, scan, stem_into, Piece};
use crate::vote::vote;
use rayon::prelude::*;
use rustc_hash::FxHashMap;

/// Below this much text the whole consensus takes a fraction of a millisecond (5 × 1 KB:
/// 0.15 ms in benchmarks/consensus), about what handing work to other threads costs.
const PARALLEL_MIN_BYTES: usize = 16 * 1024;

/// One response read once. Terms are numbered locally (`local`, in order of first
/// appearance); the global numbering is made from these lists in response order.
struct Prepared {
    local: Vec<String>,
    /// The response's terms as local numbers.
    terms: Vec<u32>,
    sentences: Vec<ShownSentence>,
    answer: Option<FinalAnswer>,
}

/// A sentence a response shows: text, local term numbers, byte range in the response.
struct ShownSentence {
    terms: Vec<u32>,
    /// Byte range of its text in the response.
    range: (usize, usize),
    /// Whether it states a final answer; None: to be read from its text when it matters.
    states_answer: Option<bool>,
}

enum Markers {
    None,
    Placed,
    Unplaced,
}

/// Local numbering of a response's terms.
#[derive(Default)]
struct LocalTerms {
    ids: FxHashMap<String, u32>,
}

impl LocalTerms {
    fn id(&mut self, term: &str) -> u32 {
        if let Some(&id) = self.ids.get(term) {
            return id;
        }
        let id = self.ids.len() as u32;
        self.ids.insert(term.to_string(), id);
        id
    }

    /// The terms in order of their numbers.
    fn into_list(self) -> Vec<String> {
        let mut list = vec![String::new(); self.ids.len()];
        for (term, id) in self.ids {
            list[id as usize] = term;
        }
        list
    }
}

/// Reads one response in one pass (`scan`): its terms, its shown sentences with
/// theirs, its word count. Each distinct word is classified once (stop word, or the
/// number of its stem); words standing in the text as they are need no copy.
struct Reader<'t> {
    text: &'t str,
    local: LocalTerms,
    in_text: FxHashMap<&'t str, Option<u32>>,
    rewritten: FxHashMap<String, Option<u32>>,
    stem_buffer: String,
    terms: Vec<u32>,
    /// Every word, stemmed, kept only while no content word has come (README §1 fallback).
    all_words: Vec<String>,
    word_count: usize,
    sentence_start: usize,
    sentence_terms: Vec<u32>,
    /// Whether the current sentence's first word gave a term (dropped when it is a "2)" marker's number).
    first_word_term: Option<bool>,
    sentences: Vec<ShownSentence>,
    last_shown: Option<&'t str>,
}

impl<'t> Reader<'t> {
    fn classify(local: &mut LocalTerms, stem_buffer: &mut String, word: &str) -> Option<u32> {
        if is_stop_word(word) {
            None
        } else {
            Some(local.id(stem_into(word, stem_buffer)))
        }
    }

    fn word(&mut self, term: Option<u32>, word: &str) {
        self.word_count += 1;
        if self.terms.is_empty() {
            self.all_words.push(stem_into(word, &mut self.stem_buffer).to_string());
        }
        if self.first_word_term.is_none() {
            self.first_word_term = Some(term.is_some());
        }
        if let Some(id) = term {
            self.terms.push(id);
            self.sentence_terms.push(id);
        }
    }

    fn in_text_word(&mut self, word: &'t str) {
        let term = match self.in_text.get(word) {
            Some(&term) => term,
            None => {
                let term = Self::classify(&mut self.local, &mut self.stem_buffer, word);
                self.in_text.insert(word, term);
                term
            }
        };
        self.word(term, word);
    }

    fn rewritten_word(&mut self, word: &str) {
        let term = match self.rewritten.get(word) {
            Some(&term) => term,
            None => {
                let term = Self::classify(&mut self.local, &mut self.stem_buffer, word);
                self.rewritten.insert(word.to_string(), term);
                term
            }
        };
        self.word(term, word);
    }

    fn cut(&mut self, end: usize) {
        let raw = &self.text[self.sentence_start..end];
        let (shown, marker_words) = display_sentence(raw);
        let mut terms = std::mem::take(&mut self.sentence_terms);
        if marker_words == 1 && self.first_word_term == Some(true) {
            terms.remove(0);
        }
        if !shown.is_empty() {
            let start = shown.as_ptr() as usize - self.text.as_ptr() as usize;
            self.sentences.push(ShownSentence { terms, range: (start, start + shown.len()), states_answer: None });
            self.last_shown = Some(shown);
        }
        self.sentence_start = end;
        self.first_word_term = None;
    }
}

fn prepare(text: &str) -> Prepared {
    let mut reader = Reader {
        text,
        // Room for the distinct words of a typical text (about one per 12 bytes), so the maps rarely grow.
        local: LocalTerms { ids: FxHashMap::with_capacity_and_hasher(text.len() / 12, Default::default()) },
        in_text: FxHashMap::with_capacity_and_hasher(text.len() / 12, Default::default()),
        rewritten: FxHashMap::default(),
        stem_buffer: String::new(),
        terms: Vec::new(),
        all_words: Vec::new(),
        word_count: 0,
        sentence_start: 0,
        sentence_terms: Vec::new(),
        first_word_term: None,
        sentences: Vec::new(),
        last_shown: None,
    };
    scan(text, |piece| match piece {
        Piece::InText(word) => reader.in_text_word(word),
        Piece::Rewritten(word) => reader.rewritten_word(word),
        Piece::Cut(end) => reader.cut(end),
    });
    if reader.sentence_start < text.len() {
        reader.cut(text.len());
    }
    let Reader { mut local, mut terms, all_words, word_count, mut sentences, last_shown, .. } = reader;
    if terms.is_empty() {
        terms = all_words.iter().map(|w| local.id(w)).collect();
    }
    let read = lowered(text);
    // A sentence states an answer when it holds a marker. Lowercasing an ASCII text keeps
    // byte offsets, so its markers are placed without reading the sentence again (a marker
    // inside a shown sentence is one in the text, and the other way round: README §4).
    let markers = if read.markers.is_empty() {
        Markers::None
    } else if text.is_ascii() {
        Markers::Placed
    } else {
        Markers::Unplaced
    };
    for sentence in &mut sentences {
        sentence.states_answer = match markers {
            Markers::None => Some(false),
            Markers::Placed => Some(read.markers.iter().any(|&(a, b)| a >= sentence.range.0 && b <= sentence.range.1)),
            Markers::Unplaced => None,
        };
    }
    Prepared {
        answer: final_answer_of(&read.lower, read.marker_end(), word_count, last_shown),
        local: local.into_list(),
        terms,
        sentences,
    }
}

/// A response's distinct global term numbers (ascending), their counts, its word pairs.
struct Counted {
    ids: Vec<u32>,
    counts: Vec<u32>,
    shingles: Vec<u64>,
}

/// `f` over `items`, in parallel or not, results in item order.
fn map<T: Sync, R: Send>(parallel: bool, items: &[T], f: impl Fn(&T) -> R + Sync + Send) -> Vec<R> {
    if parallel {
        items.par_iter().map(f).collect()
    } else {
        items.iter().map(f).collect()
    }
}

/// The consensus: large inputs entirely inside the background pool (background.rs), small ones here.
pub fn run(texts: &[String], weights: &[f64], options: &Options) -> RawConsensus {
    let parallel = texts.len() > 1 && texts.iter().map(String::len).sum::<usize>() >= PARALLEL_MIN_BYTES;
    if parallel {
        crate::background::pool().install(|| compute(texts, weights, options, true))
    } else {
        compute(texts, weights, options, false)
    }
}

/// The algorithm; the per-response and per-row steps in parallel (in the current rayon pool) when `parallel`.
pub(crate) fn compute(texts: &[String], weights: &[f64], options: &Options, parallel: bool) -> RawConsensus {
    let n = texts.len();
    let prepared = map(parallel, texts, |t| prepare(t));

    // Global term numbers in order of first appearance, response 0 first: each
    // response's local terms are already in that order.
    let mut vocabulary: FxHashMap<&str, u32> = FxHashMap::default();
    let global: Vec<Vec<u32>> = prepared
        .iter()
        .map(|p| {
            p.local
                .iter()
                .map(|term| {
                    let next = vocabulary.len() as u32;
                    *vocabulary.entry(term.as_str()).or_insert(next)
                })
                .collect()
        })
        .collect();
    let vocabulary_size = vocabulary.len();
    // Per response, in one parallel step: global term numbers, their counts, the word pairs.
    let per_response: Vec<Counted> = map(parallel, &(0..n).collect::<Vec<_>>(), |&i| {
        let global = &global[i];
        let ids: Vec<u32> = prepared[i].terms.iter().map(|&l| global[l as usize]).collect();
        let (ids_counted, counts) = count_terms(&prepared[i].terms, global);
        Counted { ids: ids_counted, counts, shingles: shingles(&ids) }
    });
    let mut counted = Vec::with_capacity(n);
    let mut shingle_sets = Vec::with_capacity(n);
    for c in per_response {
        counted.push((c.ids, c.counts));
        shingle_sets.push(c.shingles);
    }
    let mut document_frequency = vec![0u32; vocabulary_size];
    let mut postings: Vec<Vec<u32>> = vec![Vec::new(); vocabulary_size];
    for (d, (ids, _)) in counted.iter().enumerate() {
        for &id in ids {
            document_frequency[id as usize] += 1;
            postings[id as usize].push(d as u32);
        }
    }
    let idf = inverse_document_frequencies(&document_frequency, n);
    let vectors: Vec<_> = if parallel {
        counted.into_par_iter().map(|(ids, counts)| tfidf_vector(ids, &counts, &idf)).collect()
    } else {
        counted.into_iter().map(|(ids, counts)| tfidf_vector(ids, &counts, &idf)).collect()
    };
    let answers: Vec<Option<FinalAnswer>> = prepared.iter().map(|p| p.answer.clone()).collect();
    let matrix = similarity_matrix(
        &vectors,
        &shingle_sets,
        |i, j| answer_relation(answers[i].as_ref(), answers[j].as_ref()),
        options.cosine_weight,
        parallel,
    );

    let (clusters, cluster_of) = cluster_responses(&matrix, weights, options.threshold);
    let total: f64 = weights.iter().sum();
    let consensus = clusters[0].representative;
    // Key-point candidates come from the winning cluster only: only its responses' sentences are read.
    let sentence_terms_of = |i: usize| -> Vec<SentenceTerms> {
        let global = &global[i];
        prepared[i]
            .sentences
            .iter()
            .map(|s| {
                let mut terms: Vec<u32> = s.terms.iter().map(|&l| global[l as usize]).collect();
                terms.sort_unstable();
                terms.dedup();
                SentenceTerms { text: &texts[i][s.range.0..s.range.1], terms, states_answer: s.states_answer }
            })
            .collect()
    };
    let key_points = key_points(
        n,
        sentence_terms_of,
        &clusters[0].members,
        Coverage { postings: &postings, weights, total },
        options.max_key_points,
        parallel,
    );
    let vote = vote(&answers, weights, total);
    RawConsensus {
        consensus,
        agreement: clusters[0].share,
        similarity: (0..n).map(|i| matrix[i * n + consensus]).collect(),
        clusters,
        cluster_of,
        answers,
        key_points,
        vote,
    }
}
