//! Entity extraction without a language model, from what documentation already marks up:
//! headings, link texts, bold terms, inline code and code identifiers, and capitalised names in
//! prose. Relations are co-occurrence within chunks, weighted by normalised PMI and pruned, so a
//! pair every chunk mentions scores below a pair that only ever appears together.
//!
//! One pass over the Markdown per chunk, no allocation per character: it must not slow ingestion
//! (the target is hundreds of chunks per second per core).

use std::collections::HashMap;

use super::entity::{EntityMention, EntityRelation, EntityType, entity_key};

/// Longest name kept, in words: longer headings and link texts are sentences, not names.
const MAX_NAME_WORDS: usize = 6;
/// Longest name kept, in characters.
const MAX_NAME_CHARS: usize = 80;
/// Mentions kept per chunk (most frequent first): bounds the pairs a chunk adds to O(n²).
pub const MAX_MENTIONS_PER_CHUNK: usize = 40;
/// Relations kept per entity (heaviest first).
pub const MAX_RELATIONS_PER_ENTITY: usize = 10;

/// Capitalised words that start sentences or stand for the reader, not for an entity.
const STOPWORDS: [&str; 40] = [
    "a", "an", "and", "as", "at", "but", "by", "for", "from", "he", "here", "how", "i", "if", "in", "it", "its", "let",
    "note", "now", "of", "on", "or", "our", "see", "she", "so", "that", "the", "then", "there", "these", "they",
    "this", "to", "we", "what", "when", "you", "your",
];
/// Link texts that name nothing.
const EMPTY_LINK_TEXTS: [&str; 8] = ["here", "click here", "link", "this", "this page", "more", "read more", "source"];
/// Keywords after which a code block names something.
const DEFINING_KEYWORDS: [&str; 10] =
    ["fn", "struct", "enum", "trait", "class", "def", "function", "interface", "type", "mod"];

/// The entities one chunk of Markdown mentions, most mentioned first (at most
/// [`MAX_MENTIONS_PER_CHUNK`]).
pub fn extract_entities(markdown: &str) -> Vec<EntityMention> {
    let mut found = Found::default();
    let mut in_code = false;
    for line in markdown.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            in_code = !in_code;
            continue;
        }
        if in_code {
            code_identifiers(trimmed, &mut found);
        } else if let Some(heading) = trimmed.strip_prefix('#') {
            let text = heading.trim_start_matches('#').trim().trim_end_matches('#').trim();
            let kind =
                if text.starts_with('`') && text.ends_with('`') { EntityType::Technology } else { EntityType::Concept };
            found.add(text, kind);
            inline_markup(text, &mut found);
        } else {
            inline_markup(trimmed, &mut found);
            capitalised_names(trimmed, &mut found);
        }
    }
    found.into_mentions()
}

/// Relations between entities that share chunks: normalised PMI over the chunks given (one
/// entry per chunk, as [`extract_entities`] returned them), positive only, at most
/// [`MAX_RELATIONS_PER_ENTITY`] per entity, heaviest first; pairs seen in fewer than `min_count`
/// chunks are dropped. Sorted by source, then target key.
pub fn related_entities(chunks: &[Vec<EntityMention>], min_count: u32) -> Vec<EntityRelation> {
    let total = chunks.len() as f64;
    let mut single: HashMap<&str, u32> = HashMap::new();
    let mut pairs: HashMap<(&str, &str), u32> = HashMap::new();
    for chunk in chunks {
        let mut keys: Vec<&str> = chunk.iter().map(|m| m.key.as_str()).collect();
        keys.sort_unstable();
        keys.dedup();
        for (i, a) in keys.iter().enumerate() {
            *single.entry(a).or_default() += 1;
            for b in &keys[i + 1..] {
                *pairs.entry((a, b)).or_default() += 1;
            }
        }
    }
    let mut relations: Vec<EntityRelation> = pairs
        .into_iter()
        .filter(|&(_, count)| count >= min_count.max(1))
        .filter_map(|((a, b), count)| {
            let p_ab = f64::from(count) / total;
            let p_a = f64::from(single[a]) / total;
            let p_b = f64::from(single[b]) / total;
            // NPMI: 1 when the two only ever appear together, 0 when independent.
            let npmi = if p_ab >= 1.0 { 0.0 } else { (p_ab / (p_a * p_b)).ln() / -p_ab.ln() };
            (npmi > 0.0).then(|| EntityRelation {
                source: a.to_owned(),
                target: b.to_owned(),
                relation_type: super::entity::CO_OCCURS.to_owned(),
                weight: npmi as f32,
                count,
            })
        })
        .collect();
    relations.sort_by(|x, y| {
        y.weight.total_cmp(&x.weight).then_with(|| (&x.source, &x.target).cmp(&(&y.source, &y.target)))
    });
    let mut kept: HashMap<String, usize> = HashMap::new();
    relations.retain(|r| {
        let full = |key: &str| kept.get(key).is_some_and(|&n| n >= MAX_RELATIONS_PER_ENTITY);
        if full(&r.source) || full(&r.target) {
            return false;
        }
        *kept.entry(r.source.clone()).or_default() += 1;
        *kept.entry(r.target.clone()).or_default() += 1;
        true
    });
    relations.sort_by(|x, y| (&x.source, &x.target).cmp(&(&y.source, &y.target)));
    relations
}

/// One entity of a page: its key, the spelling and type its mentions use most, and how often
/// the page mentions it.
#[derive(Debug, Clone, PartialEq)]
pub struct PageEntity {
    pub key: String,
    pub name: String,
    pub entity_type: EntityType,
    pub count: u32,
    /// The first chunk that mentions it.
    pub first_chunk: usize,
}

/// The distinct entities of a page's chunks (as [`extract_entities`] returned them), merged by
/// key, most mentioned first.
pub fn page_entities(chunks: &[Vec<EntityMention>]) -> Vec<PageEntity> {
    struct Tally<'a> {
        count: u32,
        first_chunk: usize,
        names: HashMap<&'a str, u32>,
        types: HashMap<EntityType, u32>,
    }
    let mut by_key: HashMap<&str, Tally<'_>> = HashMap::new();
    for (chunk, mentions) in chunks.iter().enumerate() {
        for m in mentions {
            let tally = by_key.entry(&m.key).or_insert_with(|| Tally {
                count: 0,
                first_chunk: chunk,
                names: HashMap::new(),
                types: HashMap::new(),
            });
            tally.count += m.count;
            *tally.names.entry(&m.name).or_default() += m.count;
            *tally.types.entry(m.entity_type).or_default() += m.count;
        }
    }
    let mut entities: Vec<PageEntity> = by_key
        .into_iter()
        .filter_map(|(key, tally)| {
            Some(PageEntity {
                key: key.to_owned(),
                name: most(&tally.names)?.to_owned(),
                entity_type: most(&tally.types)?,
                count: tally.count,
                first_chunk: tally.first_chunk,
            })
        })
        .collect();
    entities.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.key.cmp(&b.key)));
    entities
}

/// The most counted value (ties: the smallest, so the choice is stable).
fn most<K: Ord + Copy>(counts: &HashMap<K, u32>) -> Option<K> {
    counts.iter().max_by(|a, b| a.1.cmp(b.1).then_with(|| b.0.cmp(a.0))).map(|(k, _)| *k)
}

/// Longest description kept, in characters.
const MAX_DESCRIPTION_CHARS: usize = 300;
/// Verbs that make a sentence about X a definition of X ("X is ...", "X provides ...").
const DEFINING_VERBS: [&str; 10] = [
    " is ",
    " are ",
    " was ",
    " provides ",
    " lets ",
    " allows ",
    " means ",
    " refers to ",
    " describes ",
    " contains ",
];

/// The best sentence of `markdown` about `name`, scored: prose only (no headings, code or
/// tables), containing the name; a sentence that starts with the name and defines it
/// ("Tokio is an asynchronous runtime") beats one that merely mentions it. `None` when no prose
/// sentence names it.
pub fn describe(markdown: &str, name: &str) -> Option<(String, f32)> {
    let needle = name.trim_matches('`').to_lowercase();
    if needle.is_empty() {
        return None;
    }
    let mut best: Option<(String, f32)> = None;
    let mut in_code = false;
    for line in markdown.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            in_code = !in_code;
            continue;
        }
        if in_code || trimmed.starts_with('#') || trimmed.starts_with('|') || trimmed.is_empty() {
            continue;
        }
        for sentence in sentences(trimmed) {
            let plain = strip_markup(sentence);
            let lower = plain.to_lowercase();
            let Some(at) = lower.find(&needle) else { continue };
            let words = plain.split_whitespace().count();
            if words < 4 {
                continue;
            }
            let mut score = 1.0_f32;
            if at <= 4 {
                score += 1.0;
                let rest = &lower[at + needle.len()..];
                if DEFINING_VERBS.iter().any(|verb| rest.starts_with(verb) || rest.starts_with(&verb[1..])) {
                    score += 2.0;
                }
            }
            // Prefer sentences of a readable length.
            score -= (words.abs_diff(20) as f32 / 40.0).min(0.9);
            if best.as_ref().is_none_or(|(_, s)| score > *s) {
                best = Some((truncate_chars(&plain, MAX_DESCRIPTION_CHARS), score));
            }
        }
    }
    best
}

/// Sentences of one line: split after `.`, `!` or `?` followed by a space.
fn sentences(line: &str) -> impl Iterator<Item = &str> {
    let mut rest = line;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let end = rest
            .match_indices(['.', '!', '?'])
            .map(|(i, _)| i + 1)
            .find(|&i| rest[i..].starts_with(' ') || i == rest.len())
            .unwrap_or(rest.len());
        let (sentence, tail) = rest.split_at(end);
        rest = tail.trim_start();
        Some(sentence.trim())
    })
}

/// Prose without Markdown emphasis, code ticks and link targets (`[text](url)` -> `text`).
fn strip_markup(sentence: &str) -> String {
    let mut out = String::with_capacity(sentence.len());
    let mut chars = sentence.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '*' | '_' | '`' | '[' => {}
            ']' if chars.peek() == Some(&'(') => {
                for skipped in chars.by_ref() {
                    if skipped == ')' {
                        break;
                    }
                }
            }
            ']' => {}
            other => out.push(other),
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn truncate_chars(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text.to_owned(),
    }
}

/// Mentions found so far in one chunk, merged by key.
#[derive(Default)]
struct Found {
    by_key: HashMap<String, usize>,
    mentions: Vec<EntityMention>,
}

impl Found {
    fn add(&mut self, name: &str, entity_type: EntityType) {
        let name = name.trim();
        if name.is_empty() || name.len() > MAX_NAME_CHARS || name.split_whitespace().count() > MAX_NAME_WORDS {
            return;
        }
        let Some(key) = entity_key(name) else { return };
        if STOPWORDS.contains(&key.as_str()) || key.chars().all(|c| c.is_ascii_digit() || c.is_ascii_punctuation()) {
            return;
        }
        match self.by_key.get(&key) {
            Some(&i) => {
                let mention = &mut self.mentions[i];
                mention.count += 1;
                // A name seen as code or configuration anywhere is that, not a plain concept.
                if mention.entity_type == EntityType::Concept {
                    mention.entity_type = entity_type;
                }
            }
            None => {
                self.by_key.insert(key.clone(), self.mentions.len());
                let name = name.trim_matches(|c: char| matches!(c, '`' | '*' | '_')).to_owned();
                self.mentions.push(EntityMention { key, name, entity_type, count: 1 });
            }
        }
    }

    fn into_mentions(mut self) -> Vec<EntityMention> {
        self.mentions.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.key.cmp(&b.key)));
        self.mentions.truncate(MAX_MENTIONS_PER_CHUNK);
        self.mentions
    }
}

/// Inline code, link texts and bold terms of one line of prose.
fn inline_markup(line: &str, found: &mut Found) {
    for code in delimited(line, "`", "`") {
        found.add(code, code_type(code));
    }
    for text in delimited(line, "[", "](") {
        let plain = text.trim_matches('`');
        if !EMPTY_LINK_TEXTS.contains(&plain.to_lowercase().as_str()) {
            found.add(text, if text.starts_with('`') { code_type(plain) } else { EntityType::Concept });
        }
    }
    for term in delimited(line, "**", "**") {
        found.add(term, EntityType::Concept);
    }
    // Emphasis introduces terms ("a *workspace* is ...") and names files (*Cargo.toml*); long
    // emphasised phrases are stress, not names.
    for term in emphasis(line).filter(|t| t.split_whitespace().count() <= 3) {
        let file_like = term.contains('.') || term.contains('/');
        found.add(term, if file_like { code_type(term) } else { EntityType::Concept });
    }
}

/// Spans in single `*` or `_` emphasis: the opening mark follows a non-word character and
/// precedes a non-space, the closing one the reverse (so `snake_case` and `**bold**` are not
/// emphasis).
fn emphasis(line: &str) -> impl Iterator<Item = &str> + '_ {
    let bytes = line.as_bytes();
    let mut at = 0;
    std::iter::from_fn(move || {
        while at < bytes.len() {
            let mark = bytes[at];
            let opens = matches!(mark, b'*' | b'_')
                && (at == 0 || !(bytes[at - 1].is_ascii_alphanumeric() || bytes[at - 1] == mark))
                && bytes.get(at + 1).is_some_and(|&b| !b.is_ascii_whitespace() && b != mark);
            if !opens {
                at += 1;
                continue;
            }
            let start = at + 1;
            let close = (start + 1..bytes.len()).find(|&i| {
                bytes[i] == mark
                    && !bytes[i - 1].is_ascii_whitespace()
                    && bytes.get(i + 1).is_none_or(|&b| !(b.is_ascii_alphanumeric() || b == mark))
            });
            match close {
                Some(end) => {
                    at = end + 1;
                    return line.get(start..end);
                }
                None => at = bytes.len(),
            }
        }
        None
    })
}

/// The spans between `open` and the next `close`, left to right.
fn delimited<'a>(line: &'a str, open: &'a str, close: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    let mut rest = line;
    std::iter::from_fn(move || {
        let start = rest.find(open)? + open.len();
        let len = rest[start..].find(close)?;
        let span = &rest[start..start + len];
        rest = &rest[start + len + close.len()..];
        Some(span)
    })
}

/// Inline code that configures (environment variables, flags, settings files, `key = value`)
/// or names a technology (everything else).
fn code_type(code: &str) -> EntityType {
    let env_var = code.len() > 2
        && code.contains('_')
        && code.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
    let settings_file = [".toml", ".json", ".yaml", ".yml", ".conf", ".ini", ".env"].iter().any(|e| code.ends_with(e));
    if env_var || code.starts_with('-') || code.contains('=') || settings_file {
        EntityType::Configuration
    } else {
        EntityType::Technology
    }
}

/// Names a code line defines (`fn parse`, `struct Config`, `class Crawler`, `def run`).
fn code_identifiers(line: &str, found: &mut Found) {
    let mut words = line.split(|c: char| !(c.is_alphanumeric() || c == '_'));
    while let Some(word) = words.next() {
        if DEFINING_KEYWORDS.contains(&word)
            && let Some(name) = words.find(|w| !w.is_empty())
            && name.chars().next().is_some_and(|c| c.is_alphabetic() || c == '_')
        {
            found.add(name, EntityType::Technology);
        }
    }
}

/// Runs of capitalised words in prose ("Rust", "PostgreSQL", "Visual Studio Code"), leaving out
/// a sentence's first word when it stands alone (it is capitalised by grammar, not by name).
fn capitalised_names(line: &str, found: &mut Found) {
    let line = line.trim_start_matches(|c: char| matches!(c, '-' | '*' | '>' | '+') || c.is_whitespace());
    let mut run: Vec<&str> = Vec::new();
    let mut run_starts_sentence = false;
    let mut sentence_start = true;
    fn flush(run: &mut Vec<&str>, starts_sentence: bool, found: &mut Found) {
        // A lone capitalised word opening a sentence is capitalised by grammar, not by name.
        let grammar_only = starts_sentence && run.len() == 1;
        if !run.is_empty() && !grammar_only {
            found.add(&run.join(" "), EntityType::Concept);
        }
        run.clear();
    }
    for raw in line.split_whitespace() {
        if raw.starts_with('`') || raw.starts_with('[') || raw.starts_with('(') || raw.starts_with("**") {
            flush(&mut run, run_starts_sentence, found);
            sentence_start = false;
            continue;
        }
        let word = raw.trim_matches(|c: char| !c.is_alphanumeric() && c != '+' && c != '#');
        let capitalised = word.chars().next().is_some_and(char::is_uppercase)
            && word.chars().all(|c| c.is_alphanumeric() || c == '+' || c == '#')
            && !STOPWORDS.contains(&word.to_lowercase().as_str());
        if capitalised {
            if run.is_empty() {
                run_starts_sentence = sentence_start;
            }
            run.push(word);
        } else {
            flush(&mut run, run_starts_sentence, found);
        }
        let ends_clause = raw.ends_with(['.', '!', '?', ':', ';', ',']);
        if ends_clause {
            flush(&mut run, run_starts_sentence, found);
        }
        sentence_start = raw.ends_with(['.', '!', '?', ':']);
    }
    flush(&mut run, run_starts_sentence, found);
}

#[cfg(test)]
mod tests {
    use super::{MAX_MENTIONS_PER_CHUNK, describe, emphasis, extract_entities, related_entities};
    use crate::domain::entity::{EntityMention, EntityType};

    const PAGE: &str = "# Installing Rust\n\
        The first step is to install Rust with `rustup`, a command line tool for managing Rust versions.\n\
        Set `RUSTUP_HOME` to move the toolchains, or pass `--default-toolchain none`.\n\
        See [the Cargo Book](https://doc.rust-lang.org/cargo/) for **Cargo workspaces** and `Cargo.toml`.\n\
        On Windows, install Visual Studio Code and the Microsoft C++ Build Tools.\n\
        ```rust\nfn main() {}\nstruct Config { verbose: bool }\n```\n";

    fn find<'a>(mentions: &'a [EntityMention], key: &str) -> &'a EntityMention {
        mentions.iter().find(|m| m.key == key).unwrap_or_else(|| panic!("no {key} in {mentions:#?}"))
    }

    #[test]
    fn documentation_markup_yields_typed_entities() {
        let mentions = extract_entities(PAGE);
        assert_eq!(find(&mentions, "installing rust").entity_type, EntityType::Concept);
        let rust = find(&mentions, "rust");
        assert_eq!((rust.name.as_str(), rust.count), ("Rust", 2), "mid-sentence mentions only");
        assert_eq!(find(&mentions, "rustup").entity_type, EntityType::Technology);
        assert_eq!(find(&mentions, "rustup_home").entity_type, EntityType::Configuration);
        assert_eq!(find(&mentions, "--default-toolchain none").entity_type, EntityType::Configuration);
        assert_eq!(find(&mentions, "cargo.toml").entity_type, EntityType::Configuration);
        assert_eq!(find(&mentions, "cargo book").name, "the Cargo Book");
        assert_eq!(find(&mentions, "cargo workspace").entity_type, EntityType::Concept);
        assert_eq!(find(&mentions, "visual studio code").entity_type, EntityType::Concept);
        assert_eq!(find(&mentions, "microsoft c++ build tool").name, "Microsoft C++ Build Tools");
        assert_eq!(find(&mentions, "main").entity_type, EntityType::Technology);
        assert_eq!(find(&mentions, "config").entity_type, EntityType::Technology);
        // Sentence-initial words and the reader are not entities.
        assert_eq!(find(&mentions, "windows").name, "Windows");
        for not_entity in ["the", "set", "see", "on", "window", "first step", "verbose"] {
            assert!(mentions.iter().all(|m| m.key != not_entity), "{not_entity} extracted: {mentions:#?}");
        }
        assert_eq!(extract_entities(PAGE), mentions, "deterministic");
    }

    #[test]
    fn emphasis_names_terms_and_files_but_not_identifiers_or_bold() {
        let spans: Vec<&str> =
            emphasis("Edit *Cargo.toml* in a _workspace_; snake_case_name and **bold** stay.").collect();
        assert_eq!(spans, ["Cargo.toml", "workspace"]);
        let found = extract_entities("Create the *Cargo.toml* file of the *workspace*.");
        assert_eq!(find(&found, "cargo.toml").entity_type, EntityType::Configuration);
        assert_eq!(find(&found, "workspace").entity_type, EntityType::Concept);
    }

    #[test]
    fn the_description_is_the_sentence_that_defines_the_entity() {
        let markdown = "# Runtime\n\nYou can spawn tasks on Tokio from anywhere in your program.\n\n\
            **Tokio** is an asynchronous runtime for the Rust programming language. See [the guide](https://x/g).\n\n\
            ```rust\nTokio is not prose here\n```\n";
        let (text, score) = describe(markdown, "Tokio").unwrap();
        assert_eq!(text, "Tokio is an asynchronous runtime for the Rust programming language.");
        assert!(score > 3.0, "{score}");
        let (mention, weaker) = describe("Spawn tasks on Tokio from anywhere in your program.", "tokio").unwrap();
        assert!(weaker < score, "{mention}: {weaker}");
        assert_eq!(describe("# Tokio\n\n```\nTokio is code\n```", "Tokio"), None, "headings and code are not prose");
    }

    #[test]
    fn a_huge_chunk_keeps_a_bounded_number_of_mentions() {
        let text: String = (0..500).map(|i| format!("Use `tool_{i}` here. ")).collect();
        let mentions = extract_entities(&text);
        assert_eq!(mentions.len(), MAX_MENTIONS_PER_CHUNK);
    }

    #[test]
    fn relations_favour_pairs_that_only_appear_together() {
        let chunk = |text: &str| extract_entities(text);
        let chunks = vec![
            chunk("Configure `tokio` with `mio` and `serde`."),
            chunk("Then `tokio` drives `mio` again, with `serde`."),
            chunk("`serde` alone here, with `toml`."),
            chunk("`serde` and `toml` once more."),
            chunk("Only `serde` is mentioned."),
        ];
        let relations = related_entities(&chunks, 1);
        let weight = |a: &str, b: &str| relations.iter().find(|r| r.source == a && r.target == b).map(|r| r.weight);
        let tokio_mio = weight("mio", "tokio").expect("mio-tokio related");
        assert!((tokio_mio - 1.0).abs() < 1e-6, "always together: {tokio_mio}");
        // serde is in every chunk: its co-occurrences carry no information.
        assert_eq!(weight("serde", "tokio"), None);
        assert!(weight("serde", "toml").is_none());
        assert_eq!(related_entities(&chunks, 3), vec![], "no pair is in three chunks");
        assert_eq!(related_entities(&chunks, 1), relations, "deterministic");
    }
}
