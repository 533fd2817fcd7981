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
    use super::{MAX_MENTIONS_PER_CHUNK, extract_entities, related_entities};
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
