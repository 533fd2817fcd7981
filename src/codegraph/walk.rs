//! Which files of a checked-out repository the code graph reads: source files of the five
//! languages (tests, vendored code and build output left out, as the anchor does), Markdown docs,
//! and the manifests that say how the repository is imported. Symlinks are never followed, so a
//! checkout cannot point the walk outside itself.

use std::path::{Path, PathBuf};

use crate::domain::code::Language;
use crate::domain::code_graph::Manifest;

/// Folders never read: dependencies, build output, caches (every dot-folder, `.git` and `.venv`
/// among them, is skipped too).
const SKIPPED_DIRS: [&str; 12] = [
    "node_modules",
    "vendor",
    "third_party",
    "target",
    "dist",
    "build",
    "out",
    "__pycache__",
    "venv",
    "env",
    "site-packages",
    "coverage",
];

/// Folders whose code is not the package's API (still searched for docs).
const NON_API_DIRS: [&str; 11] = [
    "tests",
    "test",
    "__tests__",
    "testdata",
    "testing",
    "examples",
    "example",
    "benches",
    "benchmarks",
    "fixtures",
    "docs",
];

/// Docs indexed per repository.
pub(crate) const MAX_DOCS: usize = 300;

/// What the walk found.
#[derive(Debug, Default)]
pub(crate) struct RepoFiles {
    /// (relative path, language), sorted by path.
    pub code: Vec<(String, Language)>,
    /// Relative paths of Markdown files, README first.
    pub docs: Vec<String>,
    /// Source files left out (tests, too large).
    pub skipped: usize,
}

/// Walk `root` (a checkout): code files up to `max_file_bytes` each.
pub(crate) fn walk(root: &Path, max_file_bytes: u64) -> std::io::Result<RepoFiles> {
    let mut found = RepoFiles::default();
    let mut stack: Vec<(PathBuf, bool)> = vec![(root.to_path_buf(), true)];
    while let Some((dir, api)) = stack.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let entry = entry?;
            let kind = entry.file_type()?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if kind.is_symlink() {
                continue;
            }
            let path = entry.path();
            if kind.is_dir() {
                if !SKIPPED_DIRS.contains(&name.as_str()) && !name.starts_with('.') {
                    stack.push((path, api && !NON_API_DIRS.contains(&name.as_str())));
                }
                continue;
            }
            if !kind.is_file() {
                continue;
            }
            let Ok(relative) = path.strip_prefix(root) else { continue };
            let relative = relative.to_string_lossy().replace('\\', "/");
            let size = entry.metadata().map_or(u64::MAX, |m| m.len());
            if is_markdown(&name) {
                if size <= max_file_bytes {
                    found.docs.push(relative);
                }
                continue;
            }
            let Some(language) = Language::from_path(&name) else { continue };
            if !api || is_test_or_tooling(&name) || size > max_file_bytes {
                found.skipped += 1;
                continue;
            }
            found.code.push((relative, language));
        }
    }
    found.code.sort();
    // README first, then the rest by depth and path; capped.
    found.docs.sort_by_key(|p| (!p.to_ascii_lowercase().starts_with("readme"), p.matches('/').count(), p.clone()));
    found.docs.truncate(MAX_DOCS);
    Ok(found)
}

fn is_markdown(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.ends_with(".md") || lower.ends_with(".markdown") || lower.ends_with(".mdx")
}

/// Test files, build scripts and generated bundles.
fn is_test_or_tooling(name: &str) -> bool {
    name.starts_with("test_")
        || name.ends_with("_test.py")
        || name.ends_with("_test.go")
        || name.contains(".test.")
        || name.contains(".spec.")
        || name.ends_with(".min.js")
        || matches!(name, "conftest.py" | "setup.py" | "noxfile.py" | "fabfile.py" | "build.rs")
}

/// How the repository is imported, from `package.json`, `Cargo.toml` and `go.mod` at its root.
pub(crate) fn manifest(root: &Path) -> Manifest {
    let read = |name: &str| std::fs::read_to_string(root.join(name)).ok();
    let npm_package = read("package.json")
        .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
        .and_then(|v| v.get("name")?.as_str().map(str::to_owned));
    let rust_crate = read("Cargo.toml").and_then(|text| cargo_package_name(&text)).map(|n| n.replace('-', "_"));
    let go_module = read("go.mod").and_then(|text| {
        text.lines().find_map(|l| l.trim().strip_prefix("module ").map(|m| m.trim().trim_matches('"').to_owned()))
    });
    Manifest { npm_package, rust_crate, go_module }
}

/// `name = "..."` of the `[package]` table (enough of TOML for this one key).
fn cargo_package_name(text: &str) -> Option<String> {
    let mut in_package = false;
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            in_package = line == "[package]";
            continue;
        }
        if in_package
            && let Some((key, value)) = line.split_once('=')
            && key.trim() == "name"
        {
            return Some(value.trim().trim_matches('"').to_owned());
        }
    }
    None
}

/// The title of a Markdown document: its first `# ` heading.
pub(crate) fn markdown_title(markdown: &str) -> Option<String> {
    markdown.lines().find_map(|l| l.strip_prefix("# ").map(|t| t.trim().to_owned())).filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_walk_reads_code_and_docs_and_leaves_tests_and_dependencies_out() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for (path, text) in [
            ("README.md", "# Lib\n"),
            ("docs/guide.md", "# Guide\n"),
            ("pkg/__init__.py", ""),
            ("pkg/core.py", "class A: pass\n"),
            ("pkg/test_core.py", "def test(): pass\n"),
            ("tests/test_x.py", ""),
            ("node_modules/dep/index.js", ""),
            ("web/app.ts", "export class B {}\n"),
            ("Cargo.toml", "[package]\nname = \"my-crate\"\n[dependencies]\nname = \"x\"\n"),
            ("go.mod", "module example.com/m\n\ngo 1.22\n"),
        ] {
            let p = root.join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        std::os::unix::fs::symlink("/etc", root.join("pkg/escape")).unwrap();
        let found = walk(root, 1024).unwrap();
        let code: Vec<&str> = found.code.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(code, ["pkg/__init__.py", "pkg/core.py", "web/app.ts"]);
        assert_eq!(found.docs, ["README.md", "docs/guide.md"]);
        assert_eq!(found.skipped, 2);
        let m = manifest(root);
        assert_eq!(m.rust_crate.as_deref(), Some("my_crate"));
        assert_eq!(m.go_module.as_deref(), Some("example.com/m"));
        assert_eq!(markdown_title("intro\n# Guide \nx"), Some("Guide".into()));
    }
}
