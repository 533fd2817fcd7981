//! Lookups over parsed repositories' graphs, for the hallucination checker and the knowledge-graph
//! commands: modules by name, a module's names (its own definitions and what it re-exports), a
//! type's members through its inheritance chain, and the closest real names to a wrong one.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use super::code::{CodeEdge, CodeEdgeKind, CodeSymbol, Language, RepoGraph};

/// How far inheritance and re-export chains are followed (cycles are cut too).
const MAX_DEPTH: usize = 12;

/// A symbol of one of the indexed repositories.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SymbolRef {
    pub repo: usize,
    pub index: usize,
}

/// What a name in a module is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModuleMember {
    Symbol(SymbolRef),
    /// A submodule (`pkg.sub`), by module name.
    Module(String),
}

/// A member found on a type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemberLookup {
    /// Every declaration of that name on the nearest type that has it (overloads are several).
    Found(Vec<SymbolRef>),
    /// Not on the type nor its known bases, but a base comes from outside the graph (or the
    /// type answers any name, `__getattr__`): it may exist there.
    MaybeInherited(String),
    Missing,
}

/// One repository's graph with its lookup tables.
#[derive(Debug)]
struct RepoIndex {
    graph: Arc<RepoGraph>,
    by_key: HashMap<String, usize>,
    /// parent key -> member indexes.
    members: HashMap<String, Vec<usize>>,
    /// file path -> top-level symbol indexes.
    top_level: HashMap<String, Vec<usize>>,
    /// module -> file paths.
    modules: HashMap<String, Vec<String>>,
    /// type key -> base edges.
    bases: HashMap<String, Vec<usize>>,
    /// file path -> import edges.
    imports: HashMap<String, Vec<usize>>,
    languages: HashSet<Language>,
}

impl RepoIndex {
    fn new(graph: Arc<RepoGraph>) -> Self {
        let mut by_key = HashMap::new();
        let mut members: HashMap<String, Vec<usize>> = HashMap::new();
        let mut top_level: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, s) in graph.symbols.iter().enumerate() {
            by_key.insert(s.key.clone(), i);
            match &s.parent {
                Some(p) => members.entry(p.clone()).or_default().push(i),
                None => top_level.entry(s.file.clone()).or_default().push(i),
            }
        }
        let mut modules: HashMap<String, Vec<String>> = HashMap::new();
        for f in &graph.files {
            modules.entry(f.module.clone()).or_default().push(f.path.clone());
        }
        let mut bases: HashMap<String, Vec<usize>> = HashMap::new();
        let mut imports: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, e) in graph.edges.iter().enumerate() {
            match e.kind {
                CodeEdgeKind::Inherits | CodeEdgeKind::Implements => bases.entry(e.from.clone()).or_default().push(i),
                CodeEdgeKind::Imports => imports.entry(e.from.clone()).or_default().push(i),
            }
        }
        let languages = graph.files.iter().map(|f| f.language).collect();
        Self { graph, by_key, members, top_level, modules, bases, imports, languages }
    }
}

/// The repositories a check or a query looks at.
#[derive(Debug, Default)]
pub struct CodeIndex {
    repos: Vec<RepoIndex>,
}

impl CodeIndex {
    pub fn new(graphs: impl IntoIterator<Item = Arc<RepoGraph>>) -> Self {
        Self { repos: graphs.into_iter().map(RepoIndex::new).collect() }
    }

    pub fn symbol(&self, r: SymbolRef) -> &CodeSymbol {
        &self.repos[r.repo].graph.symbols[r.index]
    }

    pub fn repository_key(&self, repo: usize) -> &str {
        &self.repos[repo].graph.repository.key
    }

    pub fn is_empty(&self) -> bool {
        self.repos.is_empty()
    }

    /// How many repositories are indexed.
    pub fn len(&self) -> usize {
        self.repos.len()
    }

    /// Whether a module (or its top-level package) belongs to an indexed repository, for the
    /// script's language family.
    pub fn knows_package(&self, module: &str, language: Language) -> bool {
        self.package_repository(module, language).is_some()
    }

    /// The repository whose package a module belongs to.
    pub fn package_repository(&self, module: &str, language: Language) -> Option<usize> {
        let root = root_of(module, language);
        self.repos.iter().position(|r| {
            family_matches(&r.languages, language)
                && r.graph
                    .repository
                    .root_modules
                    .iter()
                    .any(|m| m == module || m == root || module.starts_with(&format!("{m}/")))
        })
    }

    /// The indexed modules named `module` (JS/TS package paths are matched by suffix).
    pub fn modules(&self, module: &str, language: Language) -> Vec<(usize, String)> {
        let mut found = Vec::new();
        for (ri, r) in self.repos.iter().enumerate() {
            if !family_matches(&r.languages, language) {
                continue;
            }
            for wanted in module_candidates(&r.graph.repository.root_modules, module, language) {
                if r.modules.contains_key(&wanted) {
                    found.push((ri, wanted));
                }
            }
        }
        found.sort();
        found.dedup();
        found
    }

    /// What `name` is in an indexed module: a definition of one of its files, a name one of its
    /// files imports (re-exports, followed), or a submodule.
    pub fn module_member(&self, repo: usize, module: &str, name: &str) -> Option<ModuleMember> {
        self.module_member_at(repo, module, name, 0)
    }

    fn module_member_at(&self, repo: usize, module: &str, name: &str, depth: usize) -> Option<ModuleMember> {
        let r = &self.repos[repo];
        let files = r.modules.get(module)?;
        for file in files {
            if let Some(i) = r.top_level.get(file).into_iter().flatten().find(|&&i| r.graph.symbols[i].name == name) {
                return Some(ModuleMember::Symbol(SymbolRef { repo, index: *i }));
            }
        }
        let sep = if r.languages.contains(&Language::Rust) && module.contains("::") { "::" } else { "." };
        let sub = format!("{module}{sep}{name}");
        if r.modules.contains_key(&sub) {
            return Some(ModuleMember::Module(sub));
        }
        if depth >= MAX_DEPTH {
            return None;
        }
        // Re-exported: `from .sessions import Session` in a package's __init__.
        for file in files {
            for &e in r.imports.get(file).into_iter().flatten() {
                let edge: &CodeEdge = &r.graph.edges[e];
                let Some(original) = edge.names.iter().find_map(|n| imported_as(n, name)) else { continue };
                if !edge.resolved {
                    continue;
                }
                let target = r.graph.files.iter().find(|f| f.path == edge.to).map(|f| f.module.clone());
                if let Some(target) = target {
                    let found = if original == "*" {
                        self.module_member_at(repo, &target, name, depth + 1)
                    } else {
                        self.module_member_at(repo, &target, original, depth + 1)
                    };
                    if found.is_some() {
                        return found;
                    }
                }
            }
        }
        None
    }

    /// Top-level definitions named `name` anywhere in the repository (JS/TS package imports
    /// whose entry file cannot be told from the manifest).
    pub fn exported_anywhere(&self, repo: usize, name: &str) -> Vec<SymbolRef> {
        let r = &self.repos[repo];
        r.graph
            .symbols
            .iter()
            .enumerate()
            .filter(|(_, s)| s.parent.is_none() && s.name == name)
            .map(|(index, _)| SymbolRef { repo, index })
            .collect()
    }

    /// Names defined at the top of a module (for suggestions).
    pub fn module_names(&self, repo: usize, module: &str) -> Vec<String> {
        let r = &self.repos[repo];
        let mut names: Vec<String> = r
            .modules
            .get(module)
            .into_iter()
            .flatten()
            .flat_map(|f| r.top_level.get(f).into_iter().flatten())
            .map(|&i| r.graph.symbols[i].name.clone())
            .collect();
        for f in r.modules.get(module).into_iter().flatten() {
            for &e in r.imports.get(f).into_iter().flatten() {
                names.extend(r.graph.edges[e].names.iter().map(|n| local_name(n).to_owned()));
            }
        }
        names.sort();
        names.dedup();
        names
    }

    /// `name` on a type or the nearest base that has it (breadth-first, cycles cut).
    pub fn member(&self, ty: SymbolRef, name: &str) -> MemberLookup {
        let mut queue = vec![(ty, 0)];
        let mut seen = HashSet::new();
        let mut external = None;
        let mut head = 0;
        while head < queue.len() {
            let (t, depth) = queue[head];
            head += 1;
            if !seen.insert(t) {
                continue;
            }
            let r = &self.repos[t.repo];
            let key = &r.graph.symbols[t.index].key;
            let found: Vec<SymbolRef> = r
                .members
                .get(key)
                .into_iter()
                .flatten()
                .filter(|&&i| r.graph.symbols[i].name == name)
                .map(|&index| SymbolRef { repo: t.repo, index })
                .collect();
            if !found.is_empty() {
                return MemberLookup::Found(found);
            }
            if r.members.get(key).into_iter().flatten().any(|&i| r.graph.symbols[i].name == "__getattr__") {
                external.get_or_insert_with(|| format!("{} defines __getattr__", r.graph.symbols[t.index].name));
            }
            if depth >= MAX_DEPTH {
                continue;
            }
            for &e in r.bases.get(key).into_iter().flatten() {
                let edge = &r.graph.edges[e];
                match r.by_key.get(&edge.to).filter(|_| edge.resolved) {
                    Some(&index) => queue.push((SymbolRef { repo: t.repo, index }, depth + 1)),
                    None if !is_trivial_base(&edge.to) => {
                        external.get_or_insert_with(|| edge.to.clone());
                    }
                    None => {}
                }
            }
        }
        external.map_or(MemberLookup::Missing, MemberLookup::MaybeInherited)
    }

    /// Every member name of a type and its bases (for suggestions).
    pub fn member_names(&self, ty: SymbolRef) -> Vec<String> {
        let mut names = Vec::new();
        let mut queue = vec![ty];
        let mut seen = HashSet::new();
        while let Some(t) = queue.pop() {
            if !seen.insert(t) || seen.len() > 64 {
                continue;
            }
            let r = &self.repos[t.repo];
            let key = &r.graph.symbols[t.index].key;
            names.extend(r.members.get(key).into_iter().flatten().map(|&i| r.graph.symbols[i].name.clone()));
            for &e in r.bases.get(key).into_iter().flatten() {
                if let Some(&index) = r.by_key.get(&r.graph.edges[e].to) {
                    queue.push(SymbolRef { repo: t.repo, index });
                }
            }
        }
        names.sort();
        names.dedup();
        names
    }

    /// A type named by an annotation or return type as written in `from`'s file: the same
    /// module's type, or the repository's only type of that name.
    pub fn type_named(&self, from: SymbolRef, written: &str) -> Option<SymbolRef> {
        let name = bare_type_name(written)?;
        let r = &self.repos[from.repo];
        let file = &r.graph.symbols[from.index].file;
        let local = r.top_level.get(file).into_iter().flatten().find(|&&i| {
            let s = &r.graph.symbols[i];
            s.name == name && s.kind.is_type()
        });
        if let Some(&index) = local {
            return Some(SymbolRef { repo: from.repo, index });
        }
        let mut all = r.graph.symbols.iter().enumerate().filter(|(_, s)| s.name == name && s.kind.is_type());
        match (all.next(), all.next()) {
            (Some((index, _)), None) => Some(SymbolRef { repo: from.repo, index }),
            _ => None,
        }
    }

    /// Every type of this name in every repository (for `class <name>`).
    pub fn types_named(&self, name: &str) -> Vec<SymbolRef> {
        self.find(|s| s.kind.is_type() && (s.name == name || s.qualified_name == name))
    }

    /// Every symbol matching `keep`.
    pub fn find(&self, keep: impl Fn(&CodeSymbol) -> bool) -> Vec<SymbolRef> {
        let mut out = Vec::new();
        for (repo, r) in self.repos.iter().enumerate() {
            for (index, s) in r.graph.symbols.iter().enumerate() {
                if keep(s) {
                    out.push(SymbolRef { repo, index });
                }
            }
        }
        out
    }

    /// The type a member belongs to.
    pub fn parent_of(&self, member: SymbolRef) -> Option<SymbolRef> {
        let r = &self.repos[member.repo];
        let parent = r.graph.symbols[member.index].parent.as_deref()?;
        r.by_key.get(parent).map(|&index| SymbolRef { repo: member.repo, index })
    }

    /// The members of a type (its own, not inherited).
    pub fn own_members(&self, ty: SymbolRef) -> Vec<SymbolRef> {
        let r = &self.repos[ty.repo];
        r.members
            .get(&r.graph.symbols[ty.index].key)
            .into_iter()
            .flatten()
            .map(|&index| SymbolRef { repo: ty.repo, index })
            .collect()
    }

    /// The base types a type names, as keys or names as written.
    pub fn bases_of(&self, ty: SymbolRef) -> Vec<String> {
        let r = &self.repos[ty.repo];
        r.bases
            .get(&r.graph.symbols[ty.index].key)
            .into_iter()
            .flatten()
            .map(|&e| {
                let edge = &r.graph.edges[e];
                r.by_key.get(&edge.to).map_or_else(|| edge.to.clone(), |&i| r.graph.symbols[i].qualified_name.clone())
            })
            .collect()
    }
}

/// Bases every class has, which add nothing a script could call wrongly.
fn is_trivial_base(name: &str) -> bool {
    matches!(name, "object" | "Object")
}

/// `Optional[Foo]`, `"Foo"`, `Foo | None`, `list[Foo]`-free: the one type name an annotation
/// or return type means, when it means exactly one.
pub fn bare_type_name(written: &str) -> Option<&str> {
    let t = written.trim().trim_matches(|c| c == '"' || c == '\'');
    let t = t.strip_prefix("Optional[").and_then(|r| r.strip_suffix(']')).unwrap_or(t);
    let t = t
        .strip_suffix("| None")
        .or_else(|| t.strip_suffix("| null"))
        .or_else(|| t.strip_suffix("| undefined"))
        .unwrap_or(t)
        .trim();
    let t = t.strip_prefix("Promise<").and_then(|r| r.strip_suffix('>')).unwrap_or(t);
    let t = t.strip_prefix("Self").map_or(t, |_| t);
    let t = t.trim_start_matches('&').trim_start_matches("mut ").trim_start_matches('*');
    let last = t.rsplit(['.', ':']).next()?;
    (!last.is_empty() && last.chars().all(|c| c.is_alphanumeric() || c == '_')).then_some(last)
}

/// `orig` of an imported-names entry that binds `local` (`a`, `a as local`, `* as local`).
fn imported_as<'a>(entry: &'a str, local: &str) -> Option<&'a str> {
    match entry.split_once(" as ") {
        Some((orig, alias)) if alias == local => Some(orig),
        Some(_) => None,
        None if entry == local || entry == "*" => Some(entry),
        None => None,
    }
}

fn local_name(entry: &str) -> &str {
    entry.split_once(" as ").map_or(entry, |(_, a)| a)
}

fn root_of(module: &str, language: Language) -> &str {
    match language {
        Language::Python => module.split('.').next().unwrap_or(module),
        Language::Rust => module.split("::").next().unwrap_or(module),
        Language::JavaScript | Language::TypeScript => {
            // `@scope/pkg/sub` -> `@scope/pkg`; `pkg/sub` -> `pkg`.
            let mut parts = module.splitn(3, '/');
            match (parts.next(), parts.next()) {
                (Some(scope), Some(pkg)) if scope.starts_with('@') => &module[..scope.len() + 1 + pkg.len()],
                (Some(first), _) => first,
                (None, _) => module,
            }
        }
        Language::Go => module,
    }
}

/// JS and TS import each other; other languages only themselves.
fn family_matches(languages: &HashSet<Language>, script: Language) -> bool {
    match script {
        Language::JavaScript | Language::TypeScript => {
            languages.contains(&Language::JavaScript) || languages.contains(&Language::TypeScript)
        }
        Language::Python | Language::Rust | Language::Go => languages.contains(&script),
    }
}

/// Module names in a repository that an import of `module` may mean.
fn module_candidates(roots: &[String], module: &str, language: Language) -> Vec<String> {
    match language {
        Language::JavaScript | Language::TypeScript => {
            let root = root_of(module, language);
            if !roots.iter().any(|r| r == root) {
                return vec![module.to_owned()];
            }
            let rest = module[root.len()..].trim_start_matches('/');
            if rest.is_empty() {
                ["index", "src/index", "src", "lib/index", "lib", "dist/index"]
                    .iter()
                    .map(|s| (*s).to_owned())
                    .collect()
            } else {
                [rest.to_owned(), format!("src/{rest}"), format!("lib/{rest}")].into()
            }
        }
        Language::Python | Language::Rust | Language::Go => vec![module.to_owned()],
    }
}

/// Levenshtein distance over chars, capped work (names are short).
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().take(64).collect();
    let b: Vec<char> = b.chars().take(64).collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != cb)).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// Up to `limit` names closest to `wanted`: shared substrings and small edit distances first.
pub fn closest_names(wanted: &str, names: &[String], limit: usize) -> Vec<String> {
    let w = wanted.to_lowercase();
    let mut scored: Vec<(f64, &String)> = names
        .iter()
        .filter(|n| n.as_str() != wanted)
        .filter_map(|n| {
            let l = n.to_lowercase();
            let longest = w.chars().count().max(l.chars().count()).max(1);
            #[expect(clippy::cast_precision_loss, reason = "short names")]
            let mut score = 1.0 - edit_distance(&w, &l) as f64 / longest as f64;
            if l.contains(&w) || w.contains(&l) {
                score += 0.3;
            }
            (score >= 0.45).then_some((score, n))
        })
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(b.1)));
    scored.into_iter().take(limit).map(|(_, n)| n.clone()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closest_names_prefer_small_edits_and_substrings() {
        let names: Vec<String> =
            ["get_output", "run", "run_stream", "run_sync", "close"].iter().map(|s| (*s).into()).collect();
        assert_eq!(closest_names("run_streaming", &names, 1), vec!["run_stream".to_owned()]);
        assert_eq!(closest_names("get_outputs", &names, 1), vec!["get_output".to_owned()]);
        assert!(closest_names("zzzzzz", &names, 3).is_empty());
    }

    #[test]
    fn annotations_reduce_to_one_type_name() {
        assert_eq!(bare_type_name("Optional[Session]"), Some("Session"));
        assert_eq!(bare_type_name("'models.Response'"), Some("Response"));
        assert_eq!(bare_type_name("Promise<Client>"), Some("Client"));
        assert_eq!(bare_type_name("Response | None"), Some("Response"));
        assert_eq!(bare_type_name("dict[str, int]"), None);
    }

    #[test]
    fn package_roots_per_language() {
        assert_eq!(root_of("@scope/pkg/sub", Language::TypeScript), "@scope/pkg");
        assert_eq!(root_of("pkg/sub", Language::JavaScript), "pkg");
        assert_eq!(root_of("a.b.c", Language::Python), "a");
        assert_eq!(imported_as("Session as S", "S"), Some("Session"));
        assert_eq!(imported_as("Session", "Session"), Some("Session"));
        assert_eq!(imported_as("*", "Anything"), Some("*"));
    }
}
