//! Code examples: fenced code blocks of at least `min_chars` characters pulled out of a page's
//! Markdown with their language and the prose around them, plus an extractive summary used when
//! no LLM is configured (the anchor's agentic-RAG code extraction, minus the paid API).

/// Blocks shorter than this are snippets, not examples (the anchor's threshold).
pub const DEFAULT_MIN_CODE_CHARS: usize = 300;
/// Characters of surrounding prose kept on each side.
const CONTEXT_CHARS: usize = 500;

/// One code example found on a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeExample {
    pub index: usize,
    /// The fence's info string (`rust`, `python`, ...), empty when unlabelled.
    pub language: String,
    pub code: String,
    pub context_before: String,
    pub context_after: String,
    pub summary: String,
}

impl CodeExample {
    /// The JSON metadata stored with the example.
    pub fn metadata(&self, url: &str, source: &str) -> serde_json::Value {
        serde_json::json!({
            "url": url,
            "source": source,
            "example_index": self.index,
            "language": self.language,
            "char_count": self.code.chars().count(),
            "context_before": self.context_before,
            "context_after": self.context_after,
        })
    }

    /// The text embedded for search: the code and what it is for.
    pub fn embedding_text(&self) -> String {
        format!("{}\n\nSummary: {}", self.code, self.summary)
    }
}

/// Fenced blocks (``` or ~~~) of at least `min_chars` characters, in page order.
pub fn extract_code_examples(markdown: &str, min_chars: usize) -> Vec<CodeExample> {
    let mut examples = Vec::new();
    let mut offset = 0;
    let mut open: Option<(usize, String, String, usize)> = None; // (start, fence, language, code start)
    for line in markdown.split_inclusive('\n') {
        let trimmed = line.trim_start();
        match &open {
            None => {
                if let Some(fence) = ["```", "~~~"].into_iter().find(|f| trimmed.starts_with(f)) {
                    let language = trimmed[3..].split_whitespace().next().unwrap_or("").to_owned();
                    open = Some((offset, fence.to_owned(), language, offset + line.len()));
                }
            }
            Some((start, fence, language, code_start)) => {
                if trimmed.trim_end() == fence.as_str() {
                    let code = markdown[*code_start..offset].trim_end_matches('\n');
                    if code.chars().count() >= min_chars {
                        let before = tail_chars(&markdown[..*start], CONTEXT_CHARS);
                        let after = head_chars(&markdown[offset + line.len()..], CONTEXT_CHARS);
                        let summary = summarize(language, &before, &after);
                        examples.push(CodeExample {
                            index: examples.len(),
                            language: language.clone(),
                            code: code.to_owned(),
                            context_before: before,
                            context_after: after,
                            summary,
                        });
                    }
                    open = None;
                }
            }
        }
        offset += line.len();
    }
    examples
}

/// "A rust example: <the sentence introducing it>", from the nearest prose.
fn summarize(language: &str, before: &str, after: &str) -> String {
    let sentence = last_prose_sentence(before).or_else(|| first_prose_sentence(after)).unwrap_or_default();
    let kind = if language.is_empty() { "Code example".to_owned() } else { format!("A {language} example") };
    if sentence.is_empty() { kind } else { format!("{kind}: {sentence}") }
}

fn prose_lines(text: &str) -> impl DoubleEndedIterator<Item = &str> {
    text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with("```") && !l.starts_with('|'))
}

fn last_prose_sentence(text: &str) -> Option<String> {
    let line = prose_lines(text).next_back()?;
    let line = line.trim_start_matches('#').trim();
    let sentence = line.rsplit_terminator(['.', '!', '?']).next().unwrap_or(line).trim();
    (!sentence.is_empty()).then(|| sentence.trim_end_matches(':').to_owned())
}

fn first_prose_sentence(text: &str) -> Option<String> {
    let line = prose_lines(text).next()?.trim_start_matches('#').trim();
    let sentence = line.split_terminator(['.', '!', '?']).next().unwrap_or(line).trim();
    (!sentence.is_empty()).then(|| sentence.to_owned())
}

fn tail_chars(text: &str, n: usize) -> String {
    let count = text.chars().count();
    text.chars().skip(count.saturating_sub(n)).collect::<String>().trim().to_owned()
}

fn head_chars(text: &str, n: usize) -> String {
    text.chars().take(n).collect::<String>().trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_fences_become_examples_with_language_context_and_summary() {
        let code = "fn main() {\n".to_owned() + &"    println!(\"hello\");\n".repeat(20) + "}";
        let md =
            format!("# Guide\n\nSay hello twenty times:\n\n```rust\n{code}\n```\n\nThat is all.\n\n```sh\nls\n```\n");
        let examples = extract_code_examples(&md, 300);
        assert_eq!(examples.len(), 1, "the short sh block is a snippet");
        let ex = &examples[0];
        assert_eq!((ex.index, ex.language.as_str(), ex.code.as_str()), (0, "rust", code.as_str()));
        assert!(ex.context_before.ends_with("Say hello twenty times:"));
        assert_eq!(ex.context_after, "That is all.\n\n```sh\nls\n```");
        assert_eq!(ex.summary, "A rust example: Say hello twenty times");
        assert!(ex.embedding_text().contains("Summary: A rust example"));
    }

    #[test]
    fn unterminated_fences_are_ignored() {
        assert!(extract_code_examples(&format!("```py\n{}", "x = 1\n".repeat(100)), 300).is_empty());
    }
}
