//! HTML -> Markdown extraction: title, links (internal/external) and the page's main content as
//! Markdown with headings, lists, links and fenced code (with language) kept. Pure and CPU-bound:
//! callers run it under `spawn_blocking`.
//!
//! Main content is the first of `<main>`, `<article>`, `[role=main]`, `#content` or `<body>`, so
//! site chrome (navigation, footers) does not pollute chunks; script, style and nav text is dropped
//! (htmd would otherwise emit script source as text, see stack-notes §7).

use std::collections::BTreeSet;

use scraper::{Html, Selector};
use url::Url;

use crate::domain::Links;

/// What extraction found on a page.
#[derive(Debug, Clone)]
pub struct Extracted {
    pub title: Option<String>,
    pub markdown: String,
    pub links: Links,
}

const MAIN_CONTENT: &[&str] = &["main", "article", "[role=main]", "#content", "body"];
const SKIPPED_TAGS: &[&str] = &["script", "style", "noscript", "nav", "template", "iframe", "svg", "canvas", "head"];

/// Extract an HTML page fetched from `base`.
pub fn extract_html(html: &str, base: &Url) -> Extracted {
    let doc = Html::parse_document(html);
    let title = first_text(&doc, "title").or_else(|| first_text(&doc, "h1"));
    let links = collect_links(&doc, base);
    let main_html = MAIN_CONTENT
        .iter()
        .filter_map(|css| Selector::parse(css).ok())
        .find_map(|sel| doc.select(&sel).next().map(|el| el.html()))
        .unwrap_or_else(|| html.to_owned());
    let converter = htmd::HtmlToMarkdown::builder().skip_tags(SKIPPED_TAGS.to_vec()).build();
    // htmd only fails on I/O errors of its in-memory writer; fall back to the visible text.
    let markdown =
        converter.convert(&main_html).unwrap_or_else(|_| doc.root_element().text().collect::<Vec<_>>().join(" "));
    Extracted { title, markdown: tidy(&markdown), links }
}

/// Whether an HTML page is a script-only shell whose content only appears once JavaScript runs:
/// almost no visible text in `<body>` but scripts present (single-page apps).
pub fn looks_script_only(html: &str) -> bool {
    const MIN_VISIBLE_CHARS: usize = 200;
    let doc = Html::parse_document(html);
    let has_scripts = Selector::parse("script").is_ok_and(|sel| doc.select(&sel).next().is_some());
    if !has_scripts {
        return false;
    }
    let Ok(body) = Selector::parse("body") else { return false };
    let Some(body) = doc.select(&body).next() else { return true };
    let mut visible = 0;
    for node in body.descendants() {
        if let Some(text) = node.value().as_text() {
            let hidden = node
                .ancestors()
                .filter_map(|a| a.value().as_element())
                .any(|e| matches!(e.name(), "script" | "style" | "noscript" | "template"));
            if !hidden {
                visible += text.trim().chars().count();
            }
        }
    }
    visible < MIN_VISIBLE_CHARS
}

/// A text or Markdown document is stored as-is; its title is its first heading.
pub fn extract_text(text: &str) -> Extracted {
    let title =
        text.lines().map(str::trim).find(|l| l.starts_with("# ")).map(|l| l.trim_start_matches('#').trim().to_owned());
    Extracted { title, markdown: tidy(text), links: Links::default() }
}

fn first_text(doc: &Html, css: &str) -> Option<String> {
    let sel = Selector::parse(css).ok()?;
    let text = doc.select(&sel).next()?.text().collect::<String>();
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    (!text.is_empty()).then_some(text)
}

fn collect_links(doc: &Html, base: &Url) -> Links {
    let Ok(sel) = Selector::parse("a[href]") else { return Links::default() };
    let mut internal = BTreeSet::new();
    let mut external = BTreeSet::new();
    for href in doc.select(&sel).filter_map(|a| a.value().attr("href")) {
        let Ok(mut url) = base.join(href.trim()) else { continue };
        if !matches!(url.scheme(), "http" | "https") {
            continue;
        }
        url.set_fragment(None);
        let same_site =
            url.host_str() == base.host_str() && url.port_or_known_default() == base.port_or_known_default();
        if same_site {
            internal.insert(url.to_string())
        } else {
            external.insert(url.to_string())
        };
    }
    Links { internal: internal.into_iter().collect(), external: external.into_iter().collect() }
}

/// Collapse runs of blank lines and trailing spaces left by conversion.
fn tidy(markdown: &str) -> String {
    let mut out = String::with_capacity(markdown.len());
    let mut blank_run = 0;
    for line in markdown.lines() {
        let line = line.trim_end();
        if line.is_empty() {
            blank_run += 1;
            if blank_run > 1 {
                continue;
            }
        } else {
            blank_run = 0;
        }
        out.push_str(line);
        out.push('\n');
    }
    out.trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = r#"<!doctype html><html><head><title> Widget  Guide </title>
        <script>var secret = "leak";</script><style>body{}</style></head>
        <body><nav><a href="/nav-only">Nav</a></nav>
        <main><h1>Install</h1><p>Read the <a href="/docs/setup#top">setup</a> and
        <a href="https://other.example.org/x">elsewhere</a>.</p>
        <ul><li>one</li><li>two</li></ul>
        <pre><code class="language-rust">fn main() {
    println!("hi");
}</code></pre></main><footer><a href="mailto:a@b.c">mail</a></footer></body></html>"#;

    #[test]
    fn keeps_structure_and_drops_chrome() {
        let base = Url::parse("http://127.0.0.1:8080/docs/index.html").unwrap();
        let page = extract_html(PAGE, &base);
        assert_eq!(page.title.as_deref(), Some("Widget Guide"));
        assert!(page.markdown.contains("# Install"), "{}", page.markdown);
        assert!(page.markdown.contains("```rust\nfn main() {\n    println!(\"hi\");\n}\n```"), "{}", page.markdown);
        assert!(page.markdown.contains("one") && page.markdown.contains("two"));
        assert!(!page.markdown.contains("leak") && !page.markdown.contains("Nav"));
        assert!(page.markdown.contains("[setup](/docs/setup#top)"), "{}", page.markdown);
        assert_eq!(page.links.internal, vec!["http://127.0.0.1:8080/docs/setup", "http://127.0.0.1:8080/nav-only"]);
        assert_eq!(page.links.external, vec!["https://other.example.org/x"]);
    }

    #[test]
    fn script_shells_are_detected() {
        let shell =
            "<html><body><div id=app></div><script>render()</script><noscript>Enable JS</noscript></body></html>";
        assert!(looks_script_only(shell));
        let article =
            format!("<html><body><p>{}</p><script>track()</script></body></html>", "Real words here. ".repeat(20));
        assert!(!looks_script_only(&article), "a page with real text is not a shell");
        assert!(!looks_script_only("<html><body><p>short</p></body></html>"), "no scripts: nothing to run");
    }

    #[test]
    fn text_documents_are_kept_verbatim() {
        let page = extract_text("# llms.txt\n\n> Summary\n\n- [Docs](https://x.y/docs)\n");
        assert_eq!(page.title.as_deref(), Some("llms.txt"));
        assert!(page.markdown.starts_with("# llms.txt\n\n> Summary"));
    }
}
