//! The code knowledge graph's data: what a parser reads out of one source file ([`ParsedFile`]),
//! and a whole repository's graph as it is stored and read back ([`RepoGraph`]).
//!
//! Parsers only report syntax (names as written, imports as written); resolving base classes and
//! imports to symbols and files of the same repository happens once, in `code_graph::assemble`,
//! the same way for every language. Private and dunder members are kept (flagged by
//! [`Visibility`]), so `__init__` and inherited members can be checked.

use serde::{Deserialize, Serialize};

/// A language the code graph parses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    Python,
    JavaScript,
    TypeScript,
    Rust,
    Go,
}

impl Language {
    pub const ALL: [Self; 5] = [Self::Python, Self::JavaScript, Self::TypeScript, Self::Rust, Self::Go];

    /// The language of a file, by its extension (`.tsx` is TypeScript, `.mjs`/`.cjs`/`.jsx`
    /// JavaScript); `None` for files the code graph does not parse.
    pub fn from_path(path: &str) -> Option<Self> {
        let ext = path.rsplit_once('.')?.1;
        Some(match ext {
            "py" | "pyi" => Self::Python,
            "js" | "jsx" | "mjs" | "cjs" => Self::JavaScript,
            "ts" | "tsx" | "mts" | "cts" => Self::TypeScript,
            "rs" => Self::Rust,
            "go" => Self::Go,
            _ => return None,
        })
    }

    /// A language by name as users write it (`py`, `python`, `ts`, `typescript`, `golang`, ...).
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name.trim().to_ascii_lowercase().as_str() {
            "python" | "py" | "python3" => Self::Python,
            "javascript" | "js" | "jsx" | "node" => Self::JavaScript,
            "typescript" | "ts" | "tsx" => Self::TypeScript,
            "rust" | "rs" => Self::Rust,
            "go" | "golang" => Self::Go,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Python => "python",
            Self::JavaScript => "javascript",
            Self::TypeScript => "typescript",
            Self::Rust => "rust",
            Self::Go => "go",
        }
    }
}

/// What a symbol is. Classes of every language map onto the first five kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SymbolKind {
    Class,
    Struct,
    Trait,
    Interface,
    Enum,
    /// A top-level (or nested, non-member) function.
    Function,
    /// A function owned by a class, struct, trait, interface or enum (`parent` names it).
    Method,
    /// A class attribute, struct field, or interface property.
    Attribute,
}

impl SymbolKind {
    /// Kinds that own members and take part in inheritance (the anchor's `Class`).
    pub fn is_type(self) -> bool {
        matches!(self, Self::Class | Self::Struct | Self::Trait | Self::Interface | Self::Enum)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Class => "class",
            Self::Struct => "struct",
            Self::Trait => "trait",
            Self::Interface => "interface",
            Self::Enum => "enum",
            Self::Function => "function",
            Self::Method => "method",
            Self::Attribute => "attribute",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == name)
    }

    pub const ALL: [Self; 8] = [
        Self::Class,
        Self::Struct,
        Self::Trait,
        Self::Interface,
        Self::Enum,
        Self::Function,
        Self::Method,
        Self::Attribute,
    ];
}

/// Who may use a symbol: Python's `_x` is private, `__x__` (dunder) is public; Rust's `pub`,
/// Go's capital letter, TS's `private`/`protected` and JS's `#x` say it directly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Visibility {
    Public,
    Protected,
    Private,
}

/// How a method binds its receiver (Python decorators; a Rust `fn` without `self` is static).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MethodBinding {
    /// Called on an instance; its receiver (`self`, `this`) is not a parameter.
    #[default]
    Instance,
    /// Python `@classmethod`: called on the class or an instance; `cls` is not a parameter.
    Class,
    /// Python `@staticmethod`, a TS/JS `static` method, a Rust associated function.
    Static,
    /// Python `@property` (and TS/JS getters): read as an attribute, never called.
    Property,
}

/// How an argument may be passed to a parameter (Python's five kinds; other languages use
/// `PositionalOrKeyword`, which for them means positional, and `VarPositional` for rest/variadic).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ParamKind {
    PositionalOnly,
    PositionalOrKeyword,
    KeywordOnly,
    /// `*args`, `...rest`, Go's `...T`.
    VarPositional,
    /// `**kwargs`.
    VarKeyword,
}

/// One declared parameter. Receivers (`self`, `cls`, `&self`, Go receivers) are never listed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Param {
    pub name: String,
    pub kind: ParamKind,
    /// The annotation as written (`Optional[int]`, `&str`), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub type_name: Option<String>,
    /// The default value as written, if any (an optional parameter). TS's `x?: T` has `"undefined"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
}

impl Param {
    pub fn is_required(&self) -> bool {
        self.default.is_none() && !matches!(self.kind, ParamKind::VarPositional | ParamKind::VarKeyword)
    }

    /// The anchor's `params_detailed` form: `[keyword_only] name:type=default`.
    pub fn detailed(&self) -> String {
        let prefix = match self.kind {
            ParamKind::PositionalOnly => "[positional_only] ",
            ParamKind::PositionalOrKeyword => "",
            ParamKind::KeywordOnly => "[keyword_only] ",
            ParamKind::VarPositional => "[var_positional] *",
            ParamKind::VarKeyword => "[var_keyword] **",
        };
        let mut s = format!("{prefix}{}:{}", self.name, self.type_name.as_deref().unwrap_or("Any"));
        if let Some(d) = &self.default {
            s.push('=');
            s.push_str(d);
        }
        s
    }

    /// The anchor's `params_list` form: `name:type`.
    pub fn listed(&self) -> String {
        format!("{}:{}", self.name, self.type_name.as_deref().unwrap_or("Any"))
    }
}

/// One symbol as a parser reads it from a file. Names are as written in the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParsedSymbol {
    pub name: String,
    pub kind: SymbolKind,
    /// The owning type's path inside the file (`Outer.Inner`), for members and nested types;
    /// `None` at the top level. Rust `impl Foo` and Go receivers name `Foo` here.
    pub parent: Option<String>,
    pub visibility: Visibility,
    pub binding: MethodBinding,
    pub params: Vec<Param>,
    pub return_type: Option<String>,
    /// An attribute's or field's declared type.
    pub type_name: Option<String>,
    /// Base classes, extended interfaces, embedded Go structs (`Inherits`), as written
    /// (`Base`, `models.Base`, `pkg.Base[T]` with generics stripped to `pkg.Base`).
    pub bases: Vec<String>,
    /// Implemented interfaces and traits (`implements`, Rust `impl Trait for Type`), as written.
    pub implements: Vec<String>,
    /// Whether the function or method is `async`.
    pub is_async: bool,
    /// 1-based, inclusive.
    pub line: u32,
    pub end_line: u32,
}

/// One import statement as written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParsedImport {
    /// The module as written: `requests.sessions`, `.models` (Python relative), `./util`
    /// (JS/TS relative), `crate::a::b` / `super::x` (Rust), `github.com/x/y` (Go).
    pub module: String,
    /// Names imported from it with their local aliases (`from m import a as b` is `("a",
    /// Some("b"))`); empty for a whole-module import (`import m`, `import m as n`, Go imports).
    pub names: Vec<(String, Option<String>)>,
    /// The local name of a whole-module import (`import numpy as np` is `np`).
    pub alias: Option<String>,
    /// A re-export (`export { X } from './x'`, `pub use`, Python `__init__` `from .x import X`
    /// counts as an import that also defines the name for the package).
    pub reexport: bool,
    pub line: u32,
}

/// What a parser reads out of one source file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParsedFile {
    pub symbols: Vec<ParsedSymbol>,
    pub imports: Vec<ParsedImport>,
    pub line_count: u32,
}

/// A repository as stored: its identity and the commit its graph was built from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepositoryInfo {
    /// Unique across repositories: `github.com/owner/name`, `host/path`, or the local path.
    pub key: String,
    /// The last path segment (the anchor's repository name).
    pub name: String,
    /// What the caller asked to parse.
    pub url: String,
    pub commit: String,
    /// The branch, tag or commit asked for, if any.
    pub reference: Option<String>,
    /// When the graph was written (Unix seconds).
    pub parsed_at: i64,
    /// Top-level module names scripts import this repository by (`requests`, a package.json
    /// name, a crate name, a go.mod module path).
    pub root_modules: Vec<String>,
    /// The Markdown files (README, docs) indexed into the vector store under the repository's
    /// key as source id, by path; a re-parse removes the pages of those no longer there.
    #[serde(default)]
    pub docs: Vec<String>,
}

/// One source file of a repository.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeFile {
    /// Relative to the repository root, `/`-separated.
    pub path: String,
    pub language: Language,
    /// The module path scripts import it by (`pkg.sub.mod`, `src/util`, `crate::a::b`, Go's
    /// import path).
    pub module: String,
    pub line_count: u32,
}

/// One symbol of a repository, with its place in the graph.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeSymbol {
    /// Unique across every repository: `repo_key::path::qualified_name` (`@line` appended to an
    /// overload's second and later declarations).
    pub key: String,
    /// The file's path.
    pub file: String,
    pub name: String,
    /// `module.Outer.name` in the file's language's separator (`.`, or `::` for Rust).
    pub qualified_name: String,
    pub kind: SymbolKind,
    /// The owning symbol's key (member of a type), if any.
    pub parent: Option<String>,
    pub visibility: Visibility,
    pub binding: MethodBinding,
    pub params: Vec<Param>,
    pub return_type: Option<String>,
    pub type_name: Option<String>,
    pub is_async: bool,
    pub line: u32,
    pub end_line: u32,
}

/// What a code edge says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CodeEdgeKind {
    /// type -> base type (classes, interface extension, Go embedding).
    Inherits,
    /// type -> interface or trait it implements.
    Implements,
    /// file -> module it imports.
    Imports,
}

/// An edge not implied by containment (repository -> file -> symbol -> member are fields).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct CodeEdge {
    pub kind: CodeEdgeKind,
    /// A symbol key (`Inherits`, `Implements`) or a file path (`Imports`).
    pub from: String,
    /// The target symbol's key or file's path when it is in this repository, else the name as
    /// written (an external base class, an external module).
    pub to: String,
    /// Whether `to` is a key or path of this repository.
    pub resolved: bool,
    /// `Imports` only: the names imported, `orig` or `orig as alias` (`* as alias` for a
    /// whole-module alias); empty for a plain `import m`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub names: Vec<String>,
}

/// A repository's whole graph: written and replaced as a unit, read back the same.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepoGraph {
    pub repository: RepositoryInfo,
    pub files: Vec<CodeFile>,
    pub symbols: Vec<CodeSymbol>,
    pub edges: Vec<CodeEdge>,
}

/// Sizes of a repository's graph (the anchor's `explore` statistics, plus ours).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepoCounts {
    pub files: usize,
    /// Every type: classes, structs, traits, interfaces, enums.
    pub classes: usize,
    pub functions: usize,
    pub methods: usize,
    pub attributes: usize,
    pub imports: usize,
    pub inherits: usize,
}

impl RepoGraph {
    pub fn counts(&self) -> RepoCounts {
        let mut c = RepoCounts { files: self.files.len(), ..RepoCounts::default() };
        for s in &self.symbols {
            match s.kind {
                SymbolKind::Class
                | SymbolKind::Struct
                | SymbolKind::Trait
                | SymbolKind::Interface
                | SymbolKind::Enum => {
                    c.classes += 1;
                }
                SymbolKind::Function => c.functions += 1,
                SymbolKind::Method => c.methods += 1,
                SymbolKind::Attribute => c.attributes += 1,
            }
        }
        for e in &self.edges {
            match e.kind {
                CodeEdgeKind::Imports => c.imports += 1,
                CodeEdgeKind::Inherits | CodeEdgeKind::Implements => c.inherits += 1,
            }
        }
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn languages_by_extension_and_name() {
        assert_eq!(Language::from_path("a/b.tsx"), Some(Language::TypeScript));
        assert_eq!(Language::from_path("a/b.mjs"), Some(Language::JavaScript));
        assert_eq!(Language::from_path("x.pyi"), Some(Language::Python));
        assert_eq!(Language::from_path("README"), None);
        assert_eq!(Language::from_name(" Golang "), Some(Language::Go));
        assert_eq!(Language::from_name("cobol"), None);
    }

    #[test]
    fn params_render_in_the_anchors_forms() {
        let p = Param {
            name: "timeout".into(),
            kind: ParamKind::KeywordOnly,
            type_name: Some("float".into()),
            default: Some("None".into()),
        };
        assert_eq!(p.detailed(), "[keyword_only] timeout:float=None");
        assert_eq!(p.listed(), "timeout:float");
        assert!(!p.is_required());
        let args = Param { name: "args".into(), kind: ParamKind::VarPositional, type_name: None, default: None };
        assert_eq!(args.detailed(), "[var_positional] *args:Any");
        assert!(!args.is_required());
    }
}
