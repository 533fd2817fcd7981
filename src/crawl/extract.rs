//! HTML -> Markdown extraction: title, links (internal/external) and the page's main content as
//! Markdown with headings, lists, links and fenced code (with language) kept. Pure and CPU-bound:
//! callers run it through `crate::cpu::run`.
//!
//! Main content is the first match of the content profile's selectors (general: `<main>`,
//! `<article>`, `[role=main]`, `#content`, `<body>`), so site chrome (navigation, footers) does not
//! pollute chunks; script, style and nav text is dropped (htmd would otherwise emit a `<script>`'s
//! source as text, so the tags in `SKIPPED_TAGS` are handed to its `skip_tags`).

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

/// Which part of a page counts as content, by kind of site (`crawl_with_multi_url_config`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize, serde::Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ContentProfile {
    /// Reference and guides: documentation containers first; every line kept (terse API lines
    /// and table cells matter).
    Documentation,
    /// Blog posts and news: the article body first; blocks under 10 words (share buttons,
    /// bylines, teasers) dropped.
    Article,
    /// Anything else: `main`, `article`, `[role=main]`, `#content`, then `body`; one-word blocks (stray "Share", "Menu") dropped.
    #[default]
    General,
}

impl ContentProfile {
    /// Guess the profile from the URL (`/docs/`, `/api/`, `/blog/`, `/news/` ...).
    pub fn detect(url: &Url) -> Self {
        let path = url.path().to_ascii_lowercase();
        let host = url.host_str().unwrap_or_default();
        let has = |words: &[&str]| words.iter().any(|w| path.contains(w) || host.starts_with(w.trim_matches('/')));
        if has(&["/docs", "/doc/", "/documentation", "/api/", "/reference", "/guide", "/manual", "/tutorial"]) {
            Self::Documentation
        } else if has(&["/blog", "/news", "/article", "/post", "/stories"]) {
            Self::Article
        } else {
            Self::General
        }
    }

    fn main_selectors(self) -> &'static [&'static str] {
        match self {
            Self::Documentation => &[
                ".documentation",
                ".docs-content",
                ".markdown-body",
                "[role=main]",
                "main",
                "article",
                "#content",
                ".content",
                "body",
            ],
            Self::Article => &[
                "article",
                "[itemprop=articleBody]",
                ".post-content",
                ".entry-content",
                "main",
                "[role=main]",
                "#content",
                "body",
            ],
            Self::General => &["main", "article", "[role=main]", "#content", "body"],
        }
    }

    /// Prose blocks with fewer words are dropped (headings, lists, tables and code always stay).
    pub fn min_block_words(self) -> usize {
        match self {
            Self::Documentation => 0,
            Self::Article => 10,
            Self::General => 2,
        }
    }
}
const SKIPPED_TAGS: &[&str] = &["script", "style", "noscript", "nav", "template", "iframe", "svg", "canvas", "head"];

/// Extract an HTML page fetched from `base` with the general profile.
pub fn extract_html(html: &str, base: &Url) -> Extracted {
    extract_html_as(html, base, ContentProfile::General)
}

/// Extract an HTML page fetched from `base` as `profile` says.
pub fn extract_html_as(html: &str, base: &Url, profile: ContentProfile) -> Extracted {
    let doc = Html::parse_document(html);
    let title = first_text(&doc, "title").or_else(|| first_text(&doc, "h1"));
    let links = collect_links(&doc, base);
    let main_html = profile
        .main_selectors()
        .iter()
        .filter_map(|css| Selector::parse(css).ok())
        .find_map(|sel| doc.select(&sel).next().map(|el| el.html()))
        .unwrap_or_else(|| html.to_owned());
    let converter = htmd::HtmlToMarkdown::builder().skip_tags(SKIPPED_TAGS.to_vec()).build();
    // htmd only fails on I/O errors of its in-memory writer; fall back to the visible text.
    let markdown =
        converter.convert(&main_html).unwrap_or_else(|_| doc.root_element().text().collect::<Vec<_>>().join(" "));
    let markdown = drop_short_blocks(&tidy(&markdown), profile.min_block_words());
    Extracted { title, markdown, links }
}

/// Drop prose blocks (paragraphs between blank lines) of fewer than `min_words` words; headings,
/// lists, quotes, tables and fenced code are structure and always stay.
fn drop_short_blocks(markdown: &str, min_words: usize) -> String {
    if min_words == 0 {
        return markdown.to_owned();
    }
    let mut out: Vec<&str> = Vec::new();
    let mut block: Vec<&str> = Vec::new();
    let mut in_fence = false;
    fn flush<'a>(block: &mut Vec<&'a str>, out: &mut Vec<&'a str>, min_words: usize) {
        let first = block.first().map_or("", |l| l.trim_start());
        let structural =
            first.starts_with(['#', '-', '*', '+', '>', '|', '`', '~']) || first.starts_with(char::is_numeric);
        let words: usize = block.iter().map(|l| l.split_whitespace().count()).sum();
        if structural || words >= min_words {
            out.append(block);
            out.push("");
        }
        block.clear();
    }
    for line in markdown.lines() {
        let fence = line.trim_start().starts_with("```") || line.trim_start().starts_with("~~~");
        if fence {
            in_fence = !in_fence;
        }
        if line.trim().is_empty() && !in_fence {
            flush(&mut block, &mut out, min_words);
        } else {
            block.push(line);
        }
    }
    flush(&mut block, &mut out, min_words);
    out.join("\n").trim().to_owned()
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
    fn profiles_pick_their_content_and_thresholds() {
        let base = Url::parse("http://127.0.0.1/blog/post.html").unwrap();
        let html = "<html><body><div class=documentation><h1>API</h1><p>get(key)</p></div>\
            <article><h1>Launch day</h1><p>Share</p><p>We shipped the new release after months of careful work \
            with the whole team.</p></article></body></html>";
        let docs = extract_html_as(html, &base, ContentProfile::Documentation);
        assert!(docs.markdown.contains("get(key)") && !docs.markdown.contains("Launch"), "{}", docs.markdown);
        let article = extract_html_as(html, &base, ContentProfile::Article);
        assert!(article.markdown.contains("# Launch day") && article.markdown.contains("We shipped"));
        assert!(!article.markdown.contains("Share"), "short blocks dropped: {}", article.markdown);
        let fenced = drop_short_blocks("intro words here that count\n\n```\nx\n\ny\n```\n\nok", 3);
        assert_eq!(fenced, "intro words here that count\n\n```\nx\n\ny\n```");

        let detect = |u: &str| ContentProfile::detect(&Url::parse(u).unwrap());
        assert_eq!(detect("https://x.y/docs/intro"), ContentProfile::Documentation);
        assert_eq!(detect("https://docs.x.y/intro"), ContentProfile::Documentation);
        assert_eq!(detect("https://x.y/blog/2026/launch"), ContentProfile::Article);
        assert_eq!(detect("https://x.y/pricing"), ContentProfile::General);
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
