//! Extractive source summaries, used when no LLM is configured: the first sentences of a page's
//! prose, skipping headings, code and link lists, cut at a character budget on a word boundary.

/// Default length budget of an extractive summary, in characters.
pub const DEFAULT_SUMMARY_CHARS: usize = 500;

/// Summarise Markdown by its leading prose, at most `max_chars` characters.
pub fn extractive_summary(markdown: &str, max_chars: usize) -> String {
    let mut out = String::new();
    let mut in_fence = false;
    for line in markdown.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            in_fence = !in_fence;
            continue;
        }
        let is_prose = !in_fence
            && !trimmed.is_empty()
            && !trimmed.starts_with('#')
            && !trimmed.starts_with('|')
            && !trimmed.starts_with("- [")
            && !trimmed.starts_with("* [")
            && !trimmed.starts_with('[');
        if !is_prose {
            continue;
        }
        for word in trimmed.split_whitespace() {
            if out.chars().count() + word.chars().count() + 1 > max_chars {
                return finish(out);
            }
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(word);
        }
    }
    out
}

fn finish(mut out: String) -> String {
    if !out.ends_with('.') {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skips_headings_and_code_and_respects_budget() {
        let md = "# Title\n\n```rust\nfn main() {}\n```\n\nFirst sentence here. Second one follows.\n";
        assert_eq!(extractive_summary(md, 500), "First sentence here. Second one follows.");
        let short = extractive_summary(md, 20);
        assert!(short.chars().count() <= 21, "{short}");
        assert!(short.starts_with("First sentence"));
    }
}
