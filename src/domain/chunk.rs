//! Markdown-aware chunking. Chunks are cut by `text-splitter` at the highest semantic level that
//! fits (sections, then paragraphs, code blocks, sentences), sized in characters like the anchor's
//! `chunk_size`. Each chunk records its header path (the headings it sits under) so results can be
//! shown in context, and the headings it contains in the anchor's `"## A; ### B"` format.

use text_splitter::{ChunkConfig, MarkdownSplitter};

use super::Page;

/// One chunk of a page's Markdown with its position and heading context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    pub index: usize,
    pub content: String,
    /// Headings inside the chunk, `"## Install; ### Linux"` (anchor-compatible).
    pub headers: String,
    /// Headings enclosing the start of the chunk, outermost first, e.g. `["Guide", "Install"]`.
    pub header_path: Vec<String>,
    pub char_count: usize,
    pub word_count: usize,
}

#[derive(Debug, Clone)]
struct Heading {
    offset: usize,
    level: usize,
    text: String,
}

impl Chunk {
    /// The JSON metadata stored with the chunk (anchor fields plus header path and counts).
    pub fn metadata(&self, page: &Page, content_hash: &str, crawled_at: &str) -> serde_json::Value {
        serde_json::json!({
            "url": page.url.as_str(),
            "source": page.source_id.as_str(),
            "title": page.title,
            "headers": self.headers,
            "header_path": self.header_path,
            "chunk_index": self.index,
            "char_count": self.char_count,
            "word_count": self.word_count,
            "content_hash": content_hash,
            "crawl_time": crawled_at,
        })
    }
}

/// Split `markdown` into chunks of at most `chunk_size` characters (minimum 64).
pub fn split_markdown(markdown: &str, chunk_size: usize) -> Vec<Chunk> {
    let splitter = MarkdownSplitter::new(ChunkConfig::new(chunk_size.max(64)).with_trim(true));
    let headings = scan_headings(markdown);
    splitter
        .chunk_indices(markdown)
        .filter(|(_, text)| !text.trim().is_empty())
        .enumerate()
        .map(|(index, (start, text))| {
            let end = start + text.len();
            let inside: Vec<String> = headings
                .iter()
                .filter(|h| h.offset >= start && h.offset < end)
                .map(|h| format!("{} {}", "#".repeat(h.level), h.text))
                .collect();
            Chunk {
                index,
                content: text.to_owned(),
                headers: inside.join("; "),
                header_path: header_path_at(&headings, start),
                char_count: text.chars().count(),
                word_count: text.split_whitespace().count(),
            }
        })
        .collect()
}

/// ATX headings outside fenced code, with their byte offsets.
fn scan_headings(markdown: &str) -> Vec<Heading> {
    let mut headings = Vec::new();
    let mut in_fence = false;
    let mut offset = 0;
    for line in markdown.split_inclusive('\n') {
        let trimmed = line.trim_start();
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            in_fence = !in_fence;
        } else if !in_fence {
            let level = trimmed.bytes().take_while(|b| *b == b'#').count();
            let rest = &trimmed[level..];
            if (1..=6).contains(&level) && rest.starts_with([' ', '\t']) {
                let text = rest.trim().trim_end_matches('#').trim();
                if !text.is_empty() {
                    headings.push(Heading { offset, level, text: text.to_owned() });
                }
            }
        }
        offset += line.len();
    }
    headings
}

/// The stack of headings in effect at byte `start` (a heading exactly at `start` belongs to the
/// chunk, not to its path).
fn header_path_at(headings: &[Heading], start: usize) -> Vec<String> {
    let mut stack: Vec<&Heading> = Vec::new();
    for heading in headings.iter().take_while(|h| h.offset < start) {
        while stack.last().is_some_and(|top| top.level >= heading.level) {
            stack.pop();
        }
        stack.push(heading);
    }
    stack.into_iter().map(|h| h.text.clone()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "# Guide\n\nIntro text.\n\n## Install\n\nRun the installer.\n\n```sh\n# not a heading\nmake install\n```\n\n### Linux\n\nUse apt.\n\n## Configure\n\nEdit the file.\n";

    #[test]
    fn small_document_is_one_chunk_with_all_headers() {
        let chunks = split_markdown(DOC, 5000);
        assert_eq!(chunks.len(), 1);
        assert_eq!(chunks[0].headers, "# Guide; ## Install; ### Linux; ## Configure");
        assert!(chunks[0].header_path.is_empty());
        assert_eq!(chunks[0].word_count, DOC.split_whitespace().count());
    }

    #[test]
    fn chunks_respect_size_and_carry_their_header_path() {
        let long = DOC.replace("Use apt.", &"Use apt to install packages. ".repeat(20));
        let chunks = split_markdown(&long, 120);
        assert!(chunks.len() > 3);
        assert!(chunks.iter().all(|c| c.char_count <= 120));
        let linux = chunks.iter().find(|c| c.content.contains("Use apt to")).unwrap();
        assert_eq!(linux.header_path.first().map(String::as_str), Some("Guide"));
        assert!(linux.header_path.contains(&"Install".to_owned()) || linux.headers.contains("Install"));
        for (i, c) in chunks.iter().enumerate() {
            assert_eq!(c.index, i);
        }
    }

    #[test]
    fn code_comments_are_not_headings() {
        let headings = scan_headings(DOC);
        assert!(headings.iter().all(|h| h.text != "not a heading"));
        assert_eq!(headings.len(), 4);
    }

    #[test]
    fn no_text_is_lost_between_chunks() {
        let long = DOC.repeat(30);
        let chunks = split_markdown(&long, 200);
        let words: usize = chunks.iter().map(|c| c.word_count).sum();
        assert_eq!(words, long.split_whitespace().count());
    }
}
