//! Assembling a repository's code graph from its parsed files: module names per language, keys
//! namespaced by repository, members attached to their types, and base classes, implemented
//! interfaces and imports resolved to this repository's symbols and files where they can be (an
//! external base or module stays as written, unresolved).

use std::collections::{BTreeSet, HashMap};

use super::code::{
    CodeEdge, CodeEdgeKind, CodeFile, CodeSymbol, Language, ParsedFile, ParsedImport, ParsedSymbol, RepoGraph,
    RepositoryInfo,
};

/// One parsed source file of a repository.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// Relative to the repository root, `/`-separated.
    pub path: String,
    pub language: Language,
    pub parsed: ParsedFile,
}

/// What a repository's manifests say about how it is imported.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Manifest {
    /// `package.json`'s `name`.
    pub npm_package: Option<String>,
    /// `Cargo.toml`'s `[package] name`, with `-` as `_` (how Rust code names the crate).
    pub rust_crate: Option<String>,
    /// `go.mod`'s `module` path.
    pub go_module: Option<String>,
}

/// Top-level folders whose Python packages are imported without them (`src/pkg` is `pkg`).
const PYTHON_SOURCE_ROOTS: [&str; 3] = ["src/", "lib/", "python/"];

/// The separator between a module and the names in it.
pub fn separator(language: Language) -> &'static str {
    match language {
        Language::Rust => "::",
        Language::Python | Language::JavaScript | Language::TypeScript | Language::Go => ".",
    }
}

/// The module a file is imported by.
pub fn module_name(language: Language, path: &str, manifest: &Manifest) -> String {
    let stem = path.rsplit_once('.').map_or(path, |(s, _)| s);
    match language {
        Language::Python => {
            let stem = PYTHON_SOURCE_ROOTS.iter().find_map(|root| stem.strip_prefix(root)).unwrap_or(stem);
            let stem = stem.strip_suffix("/__init__").unwrap_or(stem);
            stem.replace('/', ".")
        }
        Language::JavaScript | Language::TypeScript => stem.strip_suffix("/index").unwrap_or(stem).to_owned(),
        Language::Rust => {
            let krate = manifest.rust_crate.clone().unwrap_or_else(|| "crate".to_owned());
            let inner = stem.strip_prefix("src/").unwrap_or(stem);
            let inner = inner.strip_suffix("/mod").unwrap_or(inner);
            if matches!(inner, "lib" | "main") { krate } else { format!("{krate}::{}", inner.replace('/', "::")) }
        }
        Language::Go => {
            let dir = path.rsplit_once('/').map_or("", |(d, _)| d);
            match (manifest.go_module.as_deref(), dir) {
                (Some(m), "") => m.to_owned(),
                (Some(m), d) => format!("{m}/{d}"),
                (None, d) => d.to_owned(),
            }
        }
    }
}

/// The names scripts import the repository by.
pub fn root_modules(files: &[CodeFile], manifest: &Manifest) -> Vec<String> {
    let mut roots = BTreeSet::new();
    for f in files.iter().filter(|f| f.language == Language::Python) {
        let first = f.module.split('.').next().unwrap_or_default();
        // A lone top-level script (setup.py, noxfile.py) is not a package.
        if !first.is_empty() && (f.module.contains('.') || f.path.ends_with("__init__.py")) {
            roots.insert(first.to_owned());
        }
    }
    roots.extend(manifest.npm_package.clone());
    roots.extend(manifest.rust_crate.clone());
    roots.extend(manifest.go_module.clone());
    roots.into_iter().collect()
}

/// Build the repository's graph from its parsed files.
pub fn assemble(mut info: RepositoryInfo, manifest: &Manifest, sources: Vec<SourceFile>) -> RepoGraph {
    let repo = info.key.clone();
    let files: Vec<CodeFile> = sources
        .iter()
        .map(|s| CodeFile {
            path: s.path.clone(),
            language: s.language,
            module: module_name(s.language, &s.path, manifest),
            line_count: s.parsed.line_count,
        })
        .collect();
    info.root_modules = root_modules(&files, manifest);

    // Symbols with keys; members point at their type by the type's path within the file.
    let mut symbols = Vec::new();
    let mut taken: HashMap<String, ()> = HashMap::new();
    let mut pending_bases = Vec::new();
    for (source, file) in sources.iter().zip(&files) {
        let sep = separator(source.language);
        for s in &source.parsed.symbols {
            let local = local_path(s, sep);
            let mut key = format!("{repo}::{}::{local}", source.path);
            if taken.insert(key.clone(), ()).is_some() {
                key = format!("{key}@{}", s.line);
            }
            let qualified_name = format!("{}{sep}{local}", file.module);
            pending_bases.push((key.clone(), source, s));
            symbols.push(CodeSymbol {
                key,
                file: source.path.clone(),
                name: s.name.clone(),
                qualified_name,
                kind: s.kind,
                parent: s.parent.clone(),
                visibility: s.visibility,
                binding: s.binding,
                params: s.params.clone(),
                return_type: s.return_type.clone(),
                type_name: s.type_name.clone(),
                is_async: s.is_async,
                line: s.line,
                end_line: s.end_line,
            });
        }
    }
    let index = TypeIndex::new(&repo, &symbols, &files);
    let parents: Vec<Option<String>> =
        symbols.iter().map(|s| s.parent.as_deref().and_then(|p| index.resolve_local(&s.file, p))).collect();
    let mut edges = BTreeSet::new();
    for (key, source, s) in pending_bases {
        let imports = &source.parsed.imports;
        for (kind, names) in [(CodeEdgeKind::Inherits, &s.bases), (CodeEdgeKind::Implements, &s.implements)] {
            for name in names {
                let to = index.resolve_type(&source.path, source.language, imports, name);
                edges.insert(CodeEdge {
                    kind,
                    from: key.clone(),
                    resolved: to.is_some(),
                    to: to.unwrap_or_else(|| name.clone()),
                    names: Vec::new(),
                });
            }
        }
    }
    for source in &sources {
        for import in &source.parsed.imports {
            let target = index.resolve_module(&source.path, source.language, &import.module);
            edges.insert(CodeEdge {
                kind: CodeEdgeKind::Imports,
                from: source.path.clone(),
                resolved: target.is_some(),
                to: target.unwrap_or_else(|| import.module.clone()),
                names: import_names(import),
            });
        }
    }
    drop(index);
    for (sym, parent) in symbols.iter_mut().zip(parents) {
        sym.parent = parent;
    }
    RepoGraph { repository: info, files, symbols, edges: edges.into_iter().collect() }
}

/// `orig` or `orig as alias` for each imported name; `* as alias` for a whole-module alias.
fn import_names(import: &ParsedImport) -> Vec<String> {
    let mut names: Vec<String> = import
        .names
        .iter()
        .map(|(n, alias)| match alias {
            Some(a) if a != n => format!("{n} as {a}"),
            _ => n.clone(),
        })
        .collect();
    if let Some(alias) = &import.alias {
        names.push(format!("* as {alias}"));
    }
    names
}

/// The symbol's path inside its file: `Outer.Inner.name`.
fn local_path(s: &ParsedSymbol, sep: &str) -> String {
    match &s.parent {
        Some(p) => format!("{}{sep}{}", p.replace('.', sep), s.name),
        None => s.name.clone(),
    }
}

/// Types by where they can be found, for resolving parents and bases.
struct TypeIndex<'a> {
    repo: &'a str,
    /// (file path, local path) -> key.
    by_file: HashMap<(&'a str, String), &'a str>,
    /// type name -> keys, anywhere in the repository.
    by_name: HashMap<&'a str, Vec<&'a str>>,
    /// module -> file paths.
    modules: HashMap<&'a str, Vec<&'a str>>,
    files: &'a [CodeFile],
}

impl<'a> TypeIndex<'a> {
    fn new(repo: &'a str, symbols: &'a [CodeSymbol], files: &'a [CodeFile]) -> Self {
        let mut by_file = HashMap::new();
        let mut by_name: HashMap<&str, Vec<&str>> = HashMap::new();
        for s in symbols.iter().filter(|s| s.kind.is_type()) {
            let prefix = format!("{repo}::{}::", s.file);
            let local = s.key.strip_prefix(&prefix).unwrap_or(&s.name);
            let local = local.split('@').next().unwrap_or(local).replace("::", ".");
            by_file.insert((s.file.as_str(), local), s.key.as_str());
            by_name.entry(s.name.as_str()).or_default().push(s.key.as_str());
        }
        let mut modules: HashMap<&str, Vec<&str>> = HashMap::new();
        for f in files {
            modules.entry(f.module.as_str()).or_default().push(f.path.as_str());
        }
        Self { repo, by_file, by_name, modules, files }
    }

    /// A type named by its path inside `file`, or (Go methods, Rust impls) elsewhere in the
    /// same folder, or uniquely in the repository.
    fn resolve_local(&self, file: &str, local: &str) -> Option<String> {
        if let Some(k) = self.by_file.get(&(file, local.to_owned())) {
            return Some((*k).to_owned());
        }
        let dir = parent_dir(file);
        let last = local.rsplit('.').next().unwrap_or(local);
        let candidates = self.by_name.get(last)?;
        let same_dir: Vec<&str> = candidates.iter().copied().filter(|k| parent_dir(self.file_of(k)) == dir).collect();
        match (same_dir.as_slice(), candidates.as_slice()) {
            ([one], _) | ([], [one]) => Some((*one).to_owned()),
            _ => None,
        }
    }

    fn file_of(&self, key: &'a str) -> &'a str {
        let rest = key.strip_prefix(self.repo).and_then(|r| r.strip_prefix("::")).unwrap_or(key);
        rest.split_once("::").map_or(rest, |(f, _)| f)
    }

    /// A base type as written in `file`: through the file's imports, then as a local name.
    fn resolve_type(&self, file: &str, language: Language, imports: &[ParsedImport], written: &str) -> Option<String> {
        let written = written.replace("::", ".");
        let (head, rest) = written.split_once('.').map_or((written.as_str(), None), |(h, r)| (h, Some(r)));
        for import in imports {
            let bound = import.names.iter().find_map(|(n, alias)| {
                let local = alias.as_deref().unwrap_or(n.rsplit("::").next().unwrap_or(n));
                (local == head).then_some(n.as_str())
            });
            let (module, name) = match (bound, &import.alias, rest) {
                (Some(original), _, None) => (import.module.as_str(), original.rsplit("::").next().unwrap_or(original)),
                (None, Some(alias), Some(name)) if alias == head => (import.module.as_str(), name),
                _ => continue,
            };
            if let Some(path) = self.resolve_module(file, language, module)
                && let Some(k) = self.by_file.get(&(path.as_str(), name.to_owned()))
            {
                return Some((*k).to_owned());
            }
            // Imported from a package that re-exports it: the repository's only type of that name.
            return match self.by_name.get(name.rsplit('.').next().unwrap_or(name))?.as_slice() {
                [one] => Some((*one).to_owned()),
                _ => None,
            };
        }
        self.resolve_local(file, &written)
    }

    /// The file a module path names, as written in `file` (relative imports included).
    fn resolve_module(&self, file: &str, language: Language, module: &str) -> Option<String> {
        let wanted: Vec<String> = match language {
            Language::Python => vec![absolute_python_module(self.module_of(file)?, file, module)?],
            Language::JavaScript | Language::TypeScript => {
                if !module.starts_with('.') {
                    return None;
                }
                let joined = join_relative(parent_dir(file), module)?;
                vec![joined.strip_suffix("/index").unwrap_or(&joined).to_owned()]
            }
            Language::Rust => {
                let krate = self.files.iter().find(|f| f.language == Language::Rust)?.module.split("::").next()?;
                let m = module.strip_prefix("crate").map_or_else(|| module.to_owned(), |r| format!("{krate}{r}"));
                // `use a::b::Item` names an item: its module is one segment up.
                let parent = m.rsplit_once("::").map(|(p, _)| p.to_owned());
                std::iter::once(m).chain(parent).collect()
            }
            Language::Go => vec![module.to_owned()],
        };
        wanted
            .iter()
            .find_map(|m| self.modules.get(m.as_str()).and_then(|paths| paths.first()).map(|p| (*p).to_owned()))
    }

    fn module_of(&self, file: &str) -> Option<&'a str> {
        self.files.iter().find(|f| f.path == file).map(|f| f.module.as_str())
    }
}

/// `.models` in package `pkg.sub` (file `pkg/sub/x.py`) is `pkg.sub.models`; absolute names
/// stay as they are.
fn absolute_python_module(own_module: &str, file: &str, written: &str) -> Option<String> {
    let dots = written.chars().take_while(|c| *c == '.').count();
    if dots == 0 {
        return Some(written.to_owned());
    }
    // A package's __init__ is its own package; a module's package is one segment up.
    let mut package: Vec<&str> = own_module.split('.').collect();
    if !file.ends_with("__init__.py") {
        package.pop();
    }
    for _ in 1..dots {
        package.pop()?;
    }
    let rest = &written[dots..];
    if !rest.is_empty() {
        package.push(rest);
    }
    Some(package.join("."))
}

/// `./a/../b` relative to `dir`, without extension.
fn join_relative(dir: &str, rel: &str) -> Option<String> {
    let mut parts: Vec<&str> = dir.split('/').filter(|p| !p.is_empty()).collect();
    for seg in rel.split('/') {
        match seg {
            "." | "" => {}
            ".." => {
                parts.pop()?;
            }
            s => parts.push(s),
        }
    }
    let joined = parts.join("/");
    let stem = match joined.rsplit_once('.') {
        Some((s, "js" | "ts" | "jsx" | "tsx" | "mjs" | "cjs")) => s.to_owned(),
        _ => joined,
    };
    Some(stem)
}

fn parent_dir(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(d, _)| d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::code::{MethodBinding, SymbolKind, Visibility};

    fn sym(name: &str, kind: SymbolKind, parent: Option<&str>, bases: &[&str]) -> ParsedSymbol {
        ParsedSymbol {
            name: name.into(),
            kind,
            parent: parent.map(Into::into),
            visibility: Visibility::Public,
            binding: MethodBinding::Instance,
            params: vec![],
            return_type: None,
            type_name: None,
            bases: bases.iter().map(|b| (*b).to_owned()).collect(),
            implements: vec![],
            is_async: false,
            line: 1,
            end_line: 2,
        }
    }

    fn info(key: &str) -> RepositoryInfo {
        RepositoryInfo {
            key: key.into(),
            name: "r".into(),
            url: key.into(),
            commit: "abc".into(),
            reference: None,
            parsed_at: 0,
            root_modules: vec![],
            docs: vec![],
        }
    }

    #[test]
    fn module_names_per_language() {
        let m = Manifest {
            rust_crate: Some("my_crate".into()),
            go_module: Some("example.com/m".into()),
            ..Manifest::default()
        };
        assert_eq!(module_name(Language::Python, "src/pkg/sub/__init__.py", &m), "pkg.sub");
        assert_eq!(module_name(Language::Python, "pkg/models.py", &m), "pkg.models");
        assert_eq!(module_name(Language::TypeScript, "src/util/index.ts", &m), "src/util");
        assert_eq!(module_name(Language::Rust, "src/lib.rs", &m), "my_crate");
        assert_eq!(module_name(Language::Rust, "src/a/mod.rs", &m), "my_crate::a");
        assert_eq!(module_name(Language::Rust, "src/a/b.rs", &m), "my_crate::a::b");
        assert_eq!(module_name(Language::Go, "pkg/x.go", &m), "example.com/m/pkg");
        assert_eq!(module_name(Language::Go, "main.go", &m), "example.com/m");
    }

    #[test]
    fn relative_python_imports_resolve_from_the_package() {
        assert_eq!(absolute_python_module("pkg.sub.x", "pkg/sub/x.py", ".models").unwrap(), "pkg.sub.models");
        assert_eq!(absolute_python_module("pkg.sub", "pkg/sub/__init__.py", ".models").unwrap(), "pkg.sub.models");
        assert_eq!(absolute_python_module("pkg.sub.x", "pkg/sub/x.py", "..base").unwrap(), "pkg.base");
        assert_eq!(absolute_python_module("pkg.x", "pkg/x.py", "os.path").unwrap(), "os.path");
        assert!(absolute_python_module("x", "x.py", "...far").is_none());
    }

    #[test]
    fn two_repositories_never_share_keys_and_bases_resolve_through_imports() {
        let base = SourceFile {
            path: "pkg/base.py".into(),
            language: Language::Python,
            parsed: ParsedFile {
                symbols: vec![
                    sym("Base", SymbolKind::Class, None, &[]),
                    sym("run", SymbolKind::Method, Some("Base"), &[]),
                ],
                imports: vec![],
                line_count: 10,
            },
        };
        let child = SourceFile {
            path: "pkg/child.py".into(),
            language: Language::Python,
            parsed: ParsedFile {
                symbols: vec![sym("Child", SymbolKind::Class, None, &["Base", "Exception"])],
                imports: vec![ParsedImport {
                    module: ".base".into(),
                    names: vec![("Base".into(), None)],
                    alias: None,
                    reexport: false,
                    line: 1,
                }],
                line_count: 5,
            },
        };
        let a = assemble(info("github.com/a/r"), &Manifest::default(), vec![base.clone(), child.clone()]);
        let b = assemble(info("github.com/b/r"), &Manifest::default(), vec![base, child]);
        assert_eq!(a.repository.root_modules, vec!["pkg".to_owned()]);
        let keys_a: BTreeSet<_> = a.symbols.iter().map(|s| s.key.clone()).collect();
        assert!(b.symbols.iter().all(|s| !keys_a.contains(&s.key)), "namespaced by repository");
        let run = a.symbols.iter().find(|s| s.name == "run").unwrap();
        assert_eq!(run.parent.as_deref(), Some("github.com/a/r::pkg/base.py::Base"));
        assert_eq!(run.qualified_name, "pkg.base.Base.run");
        let inherits: Vec<_> = a.edges.iter().filter(|e| e.kind == CodeEdgeKind::Inherits).collect();
        assert_eq!(inherits.len(), 2);
        assert!(inherits.iter().any(|e| e.resolved && e.to == "github.com/a/r::pkg/base.py::Base"));
        assert!(inherits.iter().any(|e| !e.resolved && e.to == "Exception"));
        let import = a.edges.iter().find(|e| e.kind == CodeEdgeKind::Imports).unwrap();
        assert_eq!(
            (import.to.as_str(), import.resolved, import.names.clone()),
            ("pkg/base.py", true, vec!["Base".into()])
        );
    }
}

/// A repository's key and name from the URL asked for: `github.com/owner/name` for
/// `https://github.com/owner/name(.git)(/tree/ref)`, `host/path` for other git URLs (scp-like
/// `user@host:path` too). Local paths and `file://` URLs are keyed by the absolute path given
/// (the caller canonicalises it). `None` when no name can be read.
pub fn repository_key(url: &str) -> Option<(String, String)> {
    let url = url.trim().trim_end_matches('/');
    let key = if let Some(path) = url.strip_prefix("file://") {
        path.to_owned()
    } else if let Some((_, rest)) = url.split_once("://") {
        let rest = rest.rsplit_once('@').map_or(rest, |(_, r)| r);
        let (host, path) = rest.split_once('/')?;
        let host = host.split(':').next().unwrap_or(host).to_ascii_lowercase();
        let path = path.split("/tree/").next().unwrap_or(path);
        format!("{host}/{}", path.trim_end_matches(".git"))
    } else if let Some((user_host, path)) = url.split_once(':').filter(|(h, _)| h.contains('@') && !h.contains('/')) {
        let host = user_host.rsplit_once('@').map_or(user_host, |(_, h)| h).to_ascii_lowercase();
        format!("{host}/{}", path.trim_start_matches('/').trim_end_matches(".git"))
    } else {
        url.to_owned()
    };
    let key = key.trim_end_matches('/').to_owned();
    let name = key.rsplit('/').next().filter(|n| !n.is_empty() && *n != "." && *n != "..")?.to_owned();
    Some((key, name))
}

#[cfg(test)]
mod key_tests {
    use super::repository_key;

    #[test]
    fn keys_keep_the_owner_so_repositories_never_collide() {
        let k = |u: &str| repository_key(u).unwrap();
        assert_eq!(k("https://github.com/psf/requests.git"), ("github.com/psf/requests".into(), "requests".into()));
        assert_eq!(k("https://github.com/a/requests/tree/v2.0"), ("github.com/a/requests".into(), "requests".into()));
        assert_eq!(k("git@github.com:b/requests.git"), ("github.com/b/requests".into(), "requests".into()));
        assert_eq!(k("ssh://git@host.test:2222/x/y.git"), ("host.test/x/y".into(), "y".into()));
        assert_eq!(k("file:///tmp/repos/lib/"), ("/tmp/repos/lib".into(), "lib".into()));
        assert_eq!(k("/srv/code/lib"), ("/srv/code/lib".into(), "lib".into()));
        assert!(repository_key("https://github.com/").is_none());
    }
}
