//! Python: classes (nested ones as `Outer.Inner`), module-level functions, methods with their
//! decorator-given binding, class-level and `self.x` attributes, and every import statement
//! (inside `try:`, `if TYPE_CHECKING:` and function bodies too).
//!
//! Functions and classes defined inside function bodies are local: they are not reported.

use std::collections::HashMap;

use tree_sitter::Node;

use super::{MAX_DEPTH, child_path, compact, field_text, kids, line, squash, strip_generics, symbol, text, walk};
use crate::domain::code::{
    MethodBinding, Param, ParamKind, ParsedFile, ParsedImport, ParsedSymbol, SymbolKind, Visibility,
};

pub(super) fn read(root: Node, src: &str, out: &mut ParsedFile) {
    Reader { src, out }.module(root, 0);
}

/// Statements that hold other statements: definitions inside them still belong to the scope
/// around them (`if TYPE_CHECKING:`, `try: import x except ImportError: ...`).
fn is_compound(kind: &str) -> bool {
    matches!(
        kind,
        "if_statement"
            | "elif_clause"
            | "else_clause"
            | "try_statement"
            | "except_clause"
            | "except_group_clause"
            | "finally_clause"
            | "with_statement"
            | "for_statement"
            | "while_statement"
            | "block"
            | "ERROR"
    )
}

/// `_x` and `__x` are private; dunders `__x__` are public.
fn visibility(name: &str) -> Visibility {
    let dunder = name.len() > 4 && name.starts_with("__") && name.ends_with("__");
    if name.starts_with('_') && !dunder { Visibility::Private } else { Visibility::Public }
}

fn attribute(name: &str, type_name: Option<String>, class: &str, at: Node) -> ParsedSymbol {
    let mut sym = symbol(name, SymbolKind::Attribute, Some(class), visibility(name), at);
    sym.type_name = type_name;
    sym
}

/// A class being read: its path, and its attributes by name (index into the output), so an
/// attribute is reported once and later annotations fill in a missing type.
struct ClassScope {
    path: String,
    attributes: HashMap<String, usize>,
    /// `self.x` assignments found in methods, reported when the class ends (unless a method or
    /// class-level attribute of that name exists).
    instance: Vec<ParsedSymbol>,
}

struct Reader<'s, 'o> {
    src: &'s str,
    out: &'o mut ParsedFile,
}

impl Reader<'_, '_> {
    fn module(&mut self, node: Node, depth: usize) {
        for child in kids(node) {
            match child.kind() {
                "import_statement" | "import_from_statement" => self.import(child),
                "class_definition" => self.class(child, None, depth),
                "function_definition" => self.function(child, &[], None),
                "decorated_definition" => self.decorated(child, None, depth),
                k if is_compound(k) && depth < MAX_DEPTH => self.module(child, depth + 1),
                _ => {}
            }
        }
    }

    fn decorated(&mut self, node: Node, class: Option<&mut ClassScope>, depth: usize) {
        let Some(def) = node.child_by_field_name("definition") else { return };
        let decorators: Vec<Node> = kids(node).into_iter().filter(|n| n.kind() == "decorator").collect();
        match def.kind() {
            "function_definition" => self.function(def, &decorators, class),
            "class_definition" => self.class(def, class.map(|c| c.path.as_str()), depth),
            _ => {}
        }
    }

    fn class(&mut self, node: Node, parent: Option<&str>, depth: usize) {
        if depth >= MAX_DEPTH {
            return;
        }
        let Some(name) = node.child_by_field_name("name").map(|n| text(n, self.src)) else { return };
        let mut sym = symbol(name, SymbolKind::Class, parent, visibility(name), node);
        if let Some(supers) = node.child_by_field_name("superclasses") {
            sym.bases = kids(supers).into_iter().filter_map(|b| self.base(b)).collect();
        }
        self.out.symbols.push(sym);
        let first_member = self.out.symbols.len();
        let mut scope = ClassScope { path: child_path(parent, name), attributes: HashMap::new(), instance: Vec::new() };
        if let Some(body) = node.child_by_field_name("body") {
            self.class_body(body, &mut scope, depth + 1);
        }
        // Instance attributes come last so a class-level declaration (with its annotation) or a
        // property of the same name wins.
        for attr in std::mem::take(&mut scope.instance) {
            let taken = self.out.symbols[first_member..].iter().any(|s| {
                s.kind == SymbolKind::Method && s.name == attr.name && s.parent.as_deref() == Some(&scope.path)
            });
            if !taken {
                self.attribute(&mut scope, attr);
            }
        }
    }

    /// A superclass as dotted text (`models.Model`, `Generic[T]` as `Generic`); keyword
    /// arguments (`metaclass=`) and computed bases are not bases by name.
    fn base(&self, node: Node) -> Option<String> {
        match node.kind() {
            "identifier" | "attribute" => Some(compact(text(node, self.src))),
            "subscript" => Some(strip_generics(text(node, self.src))),
            _ => None,
        }
    }

    fn class_body(&mut self, node: Node, scope: &mut ClassScope, depth: usize) {
        for child in kids(node) {
            match child.kind() {
                "function_definition" => self.function(child, &[], Some(scope)),
                "decorated_definition" => self.decorated(child, Some(scope), depth),
                "class_definition" => self.class(child, Some(&scope.path.clone()), depth),
                "import_statement" | "import_from_statement" => self.import(child),
                "expression_statement" => {
                    for assignment in kids(child).into_iter().filter(|n| n.kind() == "assignment") {
                        for (target, type_name) in self.targets(assignment) {
                            if target.kind() == "identifier" {
                                let name = text(target, self.src);
                                let attr = attribute(name, type_name, &scope.path, assignment);
                                self.attribute(scope, attr);
                            }
                        }
                    }
                }
                k if is_compound(k) && depth < MAX_DEPTH => self.class_body(child, scope, depth + 1),
                _ => {}
            }
        }
    }

    /// What an assignment binds, with the annotation of an annotated target (`x: int = 0`),
    /// through chains (`a = b = 0`) and tuples (`a, b = 1, 2`).
    fn targets<'t>(&self, assignment: Node<'t>) -> Vec<(Node<'t>, Option<String>)> {
        let mut found = Vec::new();
        let mut current = Some(assignment);
        while let Some(a) = current.filter(|n| n.kind() == "assignment") {
            let type_name = field_text(a, "type", self.src);
            if let Some(left) = a.child_by_field_name("left") {
                match left.kind() {
                    "pattern_list" | "tuple_pattern" | "list_pattern" => {
                        found.extend(kids(left).into_iter().map(|n| (n, None)));
                    }
                    _ => found.push((left, type_name)),
                }
            }
            current = a.child_by_field_name("right");
        }
        found
    }

    /// Report an attribute once per class; a later annotation fills in a missing type.
    fn attribute(&mut self, scope: &mut ClassScope, attr: ParsedSymbol) {
        if let Some(&i) = scope.attributes.get(&attr.name) {
            if let Some(sym) = self.out.symbols.get_mut(i).filter(|s| s.type_name.is_none()) {
                sym.type_name = attr.type_name;
            }
            return;
        }
        scope.attributes.insert(attr.name.clone(), self.out.symbols.len());
        self.out.symbols.push(attr);
    }

    fn function(&mut self, node: Node, decorators: &[Node], class: Option<&mut ClassScope>) {
        let Some(name) = node.child_by_field_name("name").map(|n| text(n, self.src)) else { return };
        let binding = if class.is_some() { self.binding(decorators) } else { MethodBinding::Instance };
        let drop_receiver = class.is_some() && binding != MethodBinding::Static;
        let kind = if class.is_some() { SymbolKind::Method } else { SymbolKind::Function };
        let parent = class.as_ref().map(|c| c.path.as_str());
        let mut sym = symbol(name, kind, parent, visibility(name), node);
        sym.binding = binding;
        sym.is_async = node.child(0).is_some_and(|n| n.kind() == "async");
        sym.return_type = field_text(node, "return_type", self.src);
        let mut receiver = None;
        if let Some(params) = node.child_by_field_name("parameters") {
            (sym.params, receiver) = self.params(params, drop_receiver);
        }
        self.out.symbols.push(sym);
        let Some(body) = node.child_by_field_name("body") else { return };
        // One pass over the body: imports anywhere, and `self.x = ...` in instance methods.
        let receiver = receiver.filter(|_| matches!(binding, MethodBinding::Instance | MethodBinding::Property));
        let mut imports = Vec::new();
        let mut assignments = Vec::new();
        walk(body, |n| match n.kind() {
            "import_statement" | "import_from_statement" => {
                imports.push(n);
                false
            }
            "assignment" => {
                assignments.push(n);
                true
            }
            // A local class's `self` is its own.
            "class_definition" => false,
            _ => n.child_count() > 0,
        });
        for import in imports {
            self.import(import);
        }
        let (Some(class), Some(receiver)) = (class, receiver) else { return };
        for assignment in assignments {
            for (target, type_name) in self.targets(assignment) {
                let Some(object) = target.child_by_field_name("object") else { continue };
                if target.kind() != "attribute" || text(object, self.src) != receiver {
                    continue;
                }
                if let Some(attr) = target.child_by_field_name("attribute") {
                    let attr = attribute(text(attr, self.src), type_name, &class.path, assignment);
                    class.instance.push(attr);
                }
            }
        }
    }

    /// `@staticmethod`, `@classmethod`, `@property` and its kin (`@x.setter`,
    /// `@functools.cached_property`), by the decorator's last name.
    fn binding(&self, decorators: &[Node]) -> MethodBinding {
        for d in decorators {
            let Some(mut expr) = d.named_child(0) else { continue };
            if expr.kind() == "call" {
                let Some(f) = expr.child_by_field_name("function") else { continue };
                expr = f;
            }
            let name = compact(text(expr, self.src));
            match name.rsplit('.').next().unwrap_or_default() {
                "staticmethod" => return MethodBinding::Static,
                "classmethod" => return MethodBinding::Class,
                "property" | "cached_property" | "abstractproperty" | "setter" | "getter" | "deleter" => {
                    return MethodBinding::Property;
                }
                _ => {}
            }
        }
        MethodBinding::Instance
    }

    /// The declared parameters, without the receiver when `drop_receiver` (its name returned).
    fn params(&self, node: Node, drop_receiver: bool) -> (Vec<Param>, Option<String>) {
        let children = kids(node);
        let mut before_slash = children.iter().any(|n| n.kind() == "positional_separator");
        let mut keyword_only = false;
        let mut params = Vec::new();
        let mut receiver = None;
        for child in children {
            let plain = if before_slash { ParamKind::PositionalOnly } else { ParamKind::PositionalOrKeyword };
            let plain = if keyword_only { ParamKind::KeywordOnly } else { plain };
            let (pattern, type_name, default) = match child.kind() {
                "positional_separator" => {
                    before_slash = false;
                    continue;
                }
                "keyword_separator" => {
                    keyword_only = true;
                    continue;
                }
                "identifier" | "list_splat_pattern" | "dictionary_splat_pattern" | "tuple_pattern" => {
                    (child, None, None)
                }
                "typed_parameter" => {
                    let Some(inner) = kids(child).into_iter().find(|n| n.kind() != "type") else { continue };
                    (inner, field_text(child, "type", self.src), None)
                }
                "default_parameter" | "typed_default_parameter" => {
                    let Some(name) = child.child_by_field_name("name") else { continue };
                    (name, field_text(child, "type", self.src), field_text(child, "value", self.src))
                }
                _ => continue,
            };
            let (name, kind) = match pattern.kind() {
                "list_splat_pattern" => {
                    keyword_only = true;
                    (pattern.named_child(0), ParamKind::VarPositional)
                }
                "dictionary_splat_pattern" => (pattern.named_child(0), ParamKind::VarKeyword),
                _ => (Some(pattern), plain),
            };
            let name = name.map(|n| squash(text(n, self.src))).unwrap_or_default();
            // The receiver is the first plain parameter (`def f(*args)` has none to drop).
            if drop_receiver
                && receiver.is_none()
                && params.is_empty()
                && matches!(kind, ParamKind::PositionalOnly | ParamKind::PositionalOrKeyword)
            {
                receiver = Some(name);
                continue;
            }
            params.push(Param { name, kind, type_name, default });
        }
        (params, receiver)
    }

    fn import(&mut self, node: Node) {
        let at = line(node);
        let mut cursor = node.walk();
        if node.kind() == "import_statement" {
            for name in node.children_by_field_name("name", &mut cursor) {
                let (module, alias) = self.aliased(name);
                self.out.imports.push(ParsedImport { module, names: Vec::new(), alias, reexport: false, line: at });
            }
            return;
        }
        let Some(module) = node.child_by_field_name("module_name") else { return };
        let module = compact(text(module, self.src));
        let mut names: Vec<(String, Option<String>)> =
            node.children_by_field_name("name", &mut cursor).map(|n| self.aliased(n)).collect();
        if kids(node).iter().any(|n| n.kind() == "wildcard_import") {
            names.push(("*".to_owned(), None));
        }
        self.out.imports.push(ParsedImport { module, names, alias: None, reexport: false, line: at });
    }

    /// `a.b` or `a.b as c`.
    fn aliased(&self, node: Node) -> (String, Option<String>) {
        if node.kind() == "aliased_import" {
            let name = node.child_by_field_name("name").map(|n| compact(text(n, self.src))).unwrap_or_default();
            (name, node.child_by_field_name("alias").map(|n| text(n, self.src).to_owned()))
        } else {
            (compact(text(node, self.src)), None)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::parse_file;
    use super::super::test_support::{find, names, params};
    use crate::domain::code::{Language, MethodBinding, ParsedFile, ParsedImport, SymbolKind, Visibility};

    fn parse(src: &str) -> ParsedFile {
        parse_file(Language::Python, src).expect("parses")
    }

    fn import(module: &str, names: &[(&str, Option<&str>)], alias: Option<&str>, line: u32) -> ParsedImport {
        ParsedImport {
            module: module.into(),
            names: names.iter().map(|(n, a)| ((*n).to_owned(), a.map(str::to_owned))).collect(),
            alias: alias.map(str::to_owned),
            reexport: false,
            line,
        }
    }

    const MODELS: &str = r#"import os
import numpy as np
from typing import Generic, TypeVar, overload
from . import signals
from ..core.base import Base as CoreBase, Mixin
from .utils import *

try:
    import ujson as json
except ImportError:
    import json

if TYPE_CHECKING:
    from .session import Session

T = TypeVar("T")


class Repository(models.Model, Generic[T], metaclass=RepoMeta):
    """A repository."""

    table: str = "repos"
    retries = 3
    _cache: dict = {}

    def __init__(self, name: str, /, url: str = "", *args, timeout: float = 1.0, **kwargs) -> None:
        self.name = name
        self.url: str = url
        self._session = None
        self.retries = 5
        local = 1

    def _helper(self):
        self.extra = []

        def inner(x):
            return x

        return inner

    def __repr__(self) -> str:
        return self.name

    @staticmethod
    def build(config, *, strict=False):
        import yaml
        return yaml

    @classmethod
    def from_url(klass, url):
        klass.registry = {}
        return klass(url)

    @property
    def label(self) -> str:
        return self.name

    @label.setter
    def label(self, value):
        self._label = value

    @functools.cached_property
    def size(self):
        return 0

    async def fetch(self, path: "Optional[str]" = None):
        pass

    @overload
    def get(self, key: int) -> int: ...
    @typing.overload
    def get(self, key: str) -> str: ...
    def get(self, key):
        return key

    class Meta:
        ordering = ["name"]

        class Options:
            verbose: bool


def top_level(a, b=2, *rest, **extra):
    def nested():
        pass
    return nested


async def main() -> int:
    return 0


class Broken:
    def ok(self): pass

x = = 1
def broken(:
    pass

class Later(Broken, abc.ABC):
    def after(self, n: int) -> None:
        self.n = n
"#;

    #[test]
    fn classes_bases_and_nesting() {
        let f = parse(MODELS);
        let repo = find(&f, None, "Repository");
        assert_eq!(repo.kind, SymbolKind::Class);
        assert_eq!(repo.bases, ["models.Model", "Generic"]);
        assert_eq!((repo.line, repo.end_line), (19, 80));
        assert_eq!(find(&f, Some("Repository"), "Meta").kind, SymbolKind::Class);
        assert_eq!(find(&f, Some("Repository.Meta"), "Options").kind, SymbolKind::Class);
        assert_eq!(find(&f, Some("Repository.Meta.Options"), "verbose").type_name.as_deref(), Some("bool"));
        assert_eq!(find(&f, Some("Repository.Meta"), "ordering").kind, SymbolKind::Attribute);
        assert_eq!(find(&f, None, "Later").bases, ["Broken", "abc.ABC"]);
        assert_eq!(f.line_count, 102);
    }

    #[test]
    fn methods_bindings_and_visibility() {
        let f = parse(MODELS);
        let m = |name| find(&f, Some("Repository"), name);
        assert_eq!(m("__init__").visibility, Visibility::Public);
        assert_eq!(m("__repr__").visibility, Visibility::Public);
        assert_eq!(m("_helper").visibility, Visibility::Private);
        assert_eq!(m("build").binding, MethodBinding::Static);
        assert_eq!(m("from_url").binding, MethodBinding::Class);
        assert_eq!(m("size").binding, MethodBinding::Property);
        assert!(m("fetch").is_async);
        assert!(!m("__init__").is_async);
        assert_eq!(m("__init__").return_type.as_deref(), Some("None"));
        // The property and its setter are both reported.
        let labels: Vec<_> = f.symbols.iter().filter(|s| s.name == "label").collect();
        assert_eq!(labels.len(), 2);
        assert!(labels.iter().all(|s| s.binding == MethodBinding::Property && s.kind == SymbolKind::Method));
        // Overloads are separate entries with their own lines.
        let gets: Vec<u32> = f.symbols.iter().filter(|s| s.name == "get").map(|s| s.line).collect();
        assert_eq!(gets, [70, 72, 73]);
        // Nested functions are not module functions.
        let functions: Vec<_> =
            f.symbols.iter().filter(|s| s.kind == SymbolKind::Function).map(|s| s.name.as_str()).collect();
        assert_eq!(functions, ["top_level", "main", "broken"]);
        assert_eq!(find(&f, None, "main").return_type.as_deref(), Some("int"));
        assert!(find(&f, None, "main").is_async);
        assert_eq!(find(&f, Some("Later"), "after").params.len(), 1);
    }

    #[test]
    fn parameters_by_kind() {
        let f = parse(MODELS);
        assert_eq!(
            params(find(&f, Some("Repository"), "__init__")),
            [
                "[positional_only] name:str",
                "url:str=\"\"",
                "[var_positional] *args:Any",
                "[keyword_only] timeout:float=1.0",
                "[var_keyword] **kwargs:Any"
            ]
        );
        // Static methods keep their first parameter; class methods drop `cls` whatever its name.
        assert_eq!(params(find(&f, Some("Repository"), "build")), ["config:Any", "[keyword_only] strict:Any=False"]);
        assert_eq!(params(find(&f, Some("Repository"), "from_url")), ["url:Any"]);
        assert_eq!(params(find(&f, Some("Repository"), "fetch")), ["path:\"Optional[str]\"=None"]);
        assert_eq!(
            params(find(&f, None, "top_level")),
            ["a:Any", "b:Any=2", "[var_positional] *rest:Any", "[var_keyword] **extra:Any"]
        );
        let typed = parse("def f(*args: int, **kw: str): pass\n");
        assert_eq!(params(&typed.symbols[0]), ["[var_positional] *args:int", "[var_keyword] **kw:str"]);
    }

    #[test]
    fn attributes_class_level_and_instance() {
        let f = parse(MODELS);
        let attrs: Vec<(&str, Option<&str>, Visibility)> = f
            .symbols
            .iter()
            .filter(|s| s.kind == SymbolKind::Attribute && s.parent.as_deref() == Some("Repository"))
            .map(|s| (s.name.as_str(), s.type_name.as_deref(), s.visibility))
            .collect();
        assert_eq!(
            attrs,
            [
                ("table", Some("str"), Visibility::Public),
                ("retries", None, Visibility::Public),
                ("_cache", Some("dict"), Visibility::Private),
                ("name", None, Visibility::Public),
                ("url", Some("str"), Visibility::Public),
                ("_session", None, Visibility::Private),
                ("extra", None, Visibility::Public),
                ("_label", None, Visibility::Private),
            ]
        );
        assert_eq!(find(&f, Some("Repository"), "url").line, 28);
        assert_eq!(find(&f, Some("Later"), "n").kind, SymbolKind::Attribute);
    }

    #[test]
    fn imports_as_written() {
        let f = parse(MODELS);
        assert_eq!(
            f.imports,
            [
                import("os", &[], None, 1),
                import("numpy", &[], Some("np"), 2),
                import("typing", &[("Generic", None), ("TypeVar", None), ("overload", None)], None, 3),
                import(".", &[("signals", None)], None, 4),
                import("..core.base", &[("Base", Some("CoreBase")), ("Mixin", None)], None, 5),
                import(".utils", &[("*", None)], None, 6),
                import("ujson", &[], Some("json"), 9),
                import("json", &[], None, 11),
                import(".session", &[("Session", None)], None, 14),
                import("yaml", &[], None, 46),
            ]
        );
        let multi = parse("import a.b as c, d\nfrom x import (\n    y,\n    z as w,\n)\n");
        assert_eq!(
            multi.imports,
            [
                import("a.b", &[], Some("c"), 1),
                import("d", &[], None, 1),
                import("x", &[("y", None), ("z", Some("w"))], None, 2)
            ]
        );
    }

    #[test]
    fn dataclass_fields_are_attributes() {
        let f = parse(
            "@dataclass(frozen=True)\nclass Point:\n    x: int\n    y: int = 0\n    label: str = field(default=\"\")\n",
        );
        assert_eq!(names(&f), ["Point:class", "Point.x:attribute", "Point.y:attribute", "Point.label:attribute"]);
        assert_eq!(find(&f, Some("Point"), "label").type_name.as_deref(), Some("str"));
        assert_eq!(find(&f, None, "Point").line, 2);
    }

    #[test]
    fn a_large_generated_file_parses_quickly() {
        let mut src = String::from("import os\n\n");
        for i in 0..200 {
            src.push_str(&format!(
                "class C{i}(Base):\n    def __init__(self, a: int, b=1):\n        self.a = a\n        self.b = b\n\n    def m{i}(self, *, k: str = 'x') -> str:\n        return k\n\n    @property\n    def p(self):\n        return self.a\n"
            ));
        }
        assert!(src.lines().count() >= 2000);
        let start = std::time::Instant::now();
        let f = parse(&src);
        assert_eq!(f.symbols.iter().filter(|s| s.kind == SymbolKind::Class).count(), 200);
        assert_eq!(f.symbols.len(), 200 * 6);
        assert!(start.elapsed() < std::time::Duration::from_secs(5), "{:?}", start.elapsed());
    }
}
