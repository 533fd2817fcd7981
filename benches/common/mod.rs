//! What the benchmarks share: where their real documentation corpus lives, and the fixture site
//! built from it.

#[allow(dead_code, reason = "only the crawl and browser benchmarks serve the site")]
pub(crate) mod site;

use std::path::PathBuf;

/// The Rust book that ships with the installed toolchain's docs, if present.
pub(crate) fn rust_book_dir() -> Option<PathBuf> {
    std::fs::read_dir(PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".rustup/toolchains"))
        .ok()
        .and_then(|mut d| d.next())
        .and_then(Result::ok)
        .map(|e| e.path().join("share/doc/rust/html/book"))
}
