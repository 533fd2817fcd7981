//! Rust: structs (and unions) with their named fields, enums, traits with supertraits and
//! methods, free functions, `impl` blocks' methods (parent = the type's name, generics and path
//! stripped), and `use` declarations flattened to one import per module path.
//!
//! Limits, by design: items inside inline `mod x { ... }` blocks (mostly `mod tests`) are not
//! read, since their module path is not the file's; `impl Trait for Type` adds `Trait` to
//! `Type`'s `implements` only when `Type` is defined in the same file (there is no symbol to
//! attach it to otherwise), while the impl's methods are reported under `Type` either way;
//! blanket impls (`impl<T: X> Y for T`) are skipped; tuple-struct fields and enum variants
//! are not reported.

use tree_sitter::Node;

use super::{MAX_DEPTH, compact, field_text, kids, line, squash, strip_generics, symbol, text};
use crate::domain::code::{
    MethodBinding, Param, ParamKind, ParsedFile, ParsedImport, ParsedSymbol, SymbolKind, Visibility,
};

pub(super) fn read(root: Node, src: &str, out: &mut ParsedFile) {
    let mut reader = Reader { src, out, trait_impls: Vec::new() };
    reader.items(root, 0);
    // Attach `impl Trait for Type` to `Type` once every type of the file is known.
    for (type_name, trait_name) in std::mem::take(&mut reader.trait_impls) {
        let target =
            reader.out.symbols.iter_mut().find(|s| s.kind.is_type() && s.parent.is_none() && s.name == type_name);
        if let Some(target) = target.filter(|t| !t.implements.contains(&trait_name)) {
            target.implements.push(trait_name);
        }
    }
}

struct Reader<'s, 'o> {
    src: &'s str,
    out: &'o mut ParsedFile,
    /// (type, trait) of each `impl Trait for Type`.
    trait_impls: Vec<(String, String)>,
}

/// `pub`, `pub(crate)`, `pub(super)` all count as public: the graph only tells callers apart
/// from the item's own module.
fn visibility(node: Node) -> Visibility {
    if kids(node).iter().any(|n| n.kind() == "visibility_modifier") { Visibility::Public } else { Visibility::Private }
}

impl Reader<'_, '_> {
    fn items(&mut self, node: Node, depth: usize) {
        for item in kids(node) {
            match item.kind() {
                "use_declaration" => self.use_declaration(item),
                "extern_crate_declaration" => self.extern_crate(item),
                "struct_item" | "union_item" => self.structure(item),
                "enum_item" => self.named(item, SymbolKind::Enum),
                "trait_item" => self.trait_item(item),
                "impl_item" => self.impl_item(item),
                "function_item" => {
                    if let Some(f) = self.function(item, None, visibility(item)) {
                        self.out.symbols.push(f);
                    }
                }
                "ERROR" if depth < MAX_DEPTH => self.items(item, depth + 1),
                _ => {}
            }
        }
    }

    fn named(&mut self, item: Node, kind: SymbolKind) {
        if let Some(name) = item.child_by_field_name("name") {
            self.out.symbols.push(symbol(text(name, self.src), kind, None, visibility(item), item));
        }
    }

    fn structure(&mut self, item: Node) {
        let Some(name) = item.child_by_field_name("name").map(|n| text(n, self.src)) else { return };
        self.out.symbols.push(symbol(name, SymbolKind::Struct, None, visibility(item), item));
        let Some(body) = item.child_by_field_name("body").filter(|b| b.kind() == "field_declaration_list") else {
            return;
        };
        for field in kids(body).into_iter().filter(|f| f.kind() == "field_declaration") {
            let Some(field_name) = field.child_by_field_name("name") else { continue };
            let mut attr =
                symbol(text(field_name, self.src), SymbolKind::Attribute, Some(name), visibility(field), field);
            attr.type_name = field_text(field, "type", self.src);
            self.out.symbols.push(attr);
        }
    }

    fn trait_item(&mut self, item: Node) {
        let Some(name) = item.child_by_field_name("name").map(|n| text(n, self.src)) else { return };
        let mut sym = symbol(name, SymbolKind::Trait, None, visibility(item), item);
        if let Some(bounds) = item.child_by_field_name("bounds") {
            sym.bases = kids(bounds).into_iter().filter_map(|b| self.type_path(b)).collect();
        }
        self.out.symbols.push(sym);
        let Some(body) = item.child_by_field_name("body") else { return };
        for member in kids(body) {
            if matches!(member.kind(), "function_item" | "function_signature_item") {
                // A trait's methods are as visible as the trait.
                if let Some(method) = self.function(member, Some(name), Visibility::Public) {
                    self.out.symbols.push(method);
                }
            }
        }
    }

    fn impl_item(&mut self, item: Node) {
        let Some(type_name) = item.child_by_field_name("type").and_then(|t| self.self_type(t)) else { return };
        // A blanket impl (`impl<T: Display> Show for T`) belongs to no one type.
        let generic = item.child_by_field_name("type_parameters").is_some_and(|params| {
            kids(params)
                .into_iter()
                .any(|p| p.child_by_field_name("name").is_some_and(|n| text(n, self.src) == type_name))
        });
        if generic {
            return;
        }
        let trait_name = item.child_by_field_name("trait").and_then(|t| self.type_path(t));
        if let Some(trait_name) = &trait_name {
            self.trait_impls.push((type_name.clone(), trait_name.clone()));
        }
        let Some(body) = item.child_by_field_name("body") else { return };
        for member in kids(body).into_iter().filter(|m| m.kind() == "function_item") {
            // A trait impl's methods are as visible as the trait.
            let vis = if trait_name.is_some() { Visibility::Public } else { visibility(member) };
            if let Some(method) = self.function(member, Some(&type_name), vis) {
                self.out.symbols.push(method);
            }
        }
    }

    /// The type an `impl` is for, by its name (`Foo<T>`, `crate::a::Foo`, `&'a Foo` are `Foo`).
    fn self_type(&self, node: Node) -> Option<String> {
        match node.kind() {
            "type_identifier" | "primitive_type" => Some(text(node, self.src).to_owned()),
            "scoped_type_identifier" => node.child_by_field_name("name").map(|n| text(n, self.src).to_owned()),
            "generic_type" | "reference_type" | "pointer_type" => self.self_type(node.child_by_field_name("type")?),
            _ => None,
        }
    }

    /// A trait or bound as written, without generic arguments (`fmt::Debug`, `From<u8>` as
    /// `From`); lifetimes and `?Sized` are not bases.
    fn type_path(&self, node: Node) -> Option<String> {
        match node.kind() {
            "type_identifier" | "scoped_type_identifier" | "generic_type" => Some(strip_generics(text(node, self.src))),
            _ => None,
        }
    }

    /// A function's symbol: a method when `parent` is set, Instance when it takes `self`, else
    /// Static (an associated function).
    fn function(&self, node: Node, parent: Option<&str>, vis: Visibility) -> Option<ParsedSymbol> {
        let name = text(node.child_by_field_name("name")?, self.src);
        let kind = if parent.is_some() { SymbolKind::Method } else { SymbolKind::Function };
        let mut sym = symbol(name, kind, parent, vis, node);
        sym.is_async =
            kids(node).iter().any(|n| n.kind() == "function_modifiers" && text(*n, self.src).contains("async"));
        sym.return_type = field_text(node, "return_type", self.src);
        let mut has_receiver = false;
        if let Some(params) = node.child_by_field_name("parameters") {
            for p in kids(params) {
                match p.kind() {
                    "self_parameter" => has_receiver = true,
                    "parameter" => {
                        let Some(pattern) = p.child_by_field_name("pattern") else { continue };
                        if pattern.kind() == "self" {
                            has_receiver = true;
                            continue;
                        }
                        sym.params.push(Param {
                            name: squash(text(pattern, self.src)),
                            kind: ParamKind::PositionalOrKeyword,
                            type_name: field_text(p, "type", self.src),
                            default: None,
                        });
                    }
                    _ => {}
                }
            }
        }
        if parent.is_some() && !has_receiver {
            sym.binding = MethodBinding::Static;
        }
        Some(sym)
    }

    /// `use a::b::{C, D as E}` is one import of `a::b` naming `C` and `D as E`; paths are
    /// grouped by their module in the order they first appear.
    fn use_declaration(&mut self, node: Node) {
        let Some(argument) = node.child_by_field_name("argument") else { return };
        let mut paths = Vec::new();
        self.flatten(argument, "", &mut paths, 0);
        let reexport = kids(node).iter().any(|n| n.kind() == "visibility_modifier");
        let first = self.out.imports.len();
        for (path, alias) in paths {
            let (module, name) = match path.rsplit_once("::") {
                // `use a::b::{self}` imports `a::b` itself.
                Some((module, "self")) => match module.rsplit_once("::") {
                    Some((m, n)) => (m.to_owned(), n.to_owned()),
                    None => (module.to_owned(), String::new()),
                },
                Some((module, name)) => (module.to_owned(), name.to_owned()),
                None => (path.clone(), String::new()),
            };
            let existing = self.out.imports[first..].iter_mut().find(|i| i.module == module && !i.names.is_empty());
            match existing {
                Some(import) if !name.is_empty() => import.names.push((name, alias)),
                _ => {
                    let (names, alias) =
                        if name.is_empty() { (Vec::new(), alias) } else { (vec![(name, alias)], None) };
                    self.out.imports.push(ParsedImport { module, names, alias, reexport, line: line(node) });
                }
            }
        }
    }

    /// Every path a use tree names, with its alias.
    fn flatten(&self, node: Node, prefix: &str, paths: &mut Vec<(String, Option<String>)>, depth: usize) {
        let join = |rest: &str| if prefix.is_empty() { rest.to_owned() } else { format!("{prefix}::{rest}") };
        match node.kind() {
            "use_as_clause" => {
                if let Some(path) = node.child_by_field_name("path") {
                    let alias = node.child_by_field_name("alias").map(|a| text(a, self.src).to_owned());
                    paths.push((join(&compact(text(path, self.src))), alias));
                }
            }
            "scoped_use_list" if depth < MAX_DEPTH => {
                let inner = node
                    .child_by_field_name("path")
                    .map_or_else(|| prefix.to_owned(), |p| join(&compact(text(p, self.src))));
                if let Some(list) = node.child_by_field_name("list") {
                    self.flatten(list, &inner, paths, depth + 1);
                }
            }
            "use_list" if depth < MAX_DEPTH => {
                for child in kids(node) {
                    self.flatten(child, prefix, paths, depth + 1);
                }
            }
            "identifier" | "scoped_identifier" | "use_wildcard" | "crate" | "self" | "super" => {
                paths.push((join(&compact(text(node, self.src))), None));
            }
            _ => {}
        }
    }

    /// `extern crate foo as bar;`.
    fn extern_crate(&mut self, node: Node) {
        let Some(name) = node.child_by_field_name("name") else { return };
        let alias = node.child_by_field_name("alias").map(|a| text(a, self.src).to_owned());
        let module = text(name, self.src).to_owned();
        self.out.imports.push(ParsedImport { module, names: Vec::new(), alias, reexport: false, line: line(node) });
    }
}

#[cfg(test)]
mod tests {
    use super::super::parse_file;
    use super::super::test_support::{find, names, params};
    use crate::domain::code::{Language, MethodBinding, ParsedFile, ParsedImport, SymbolKind, Visibility};

    fn parse(src: &str) -> ParsedFile {
        parse_file(Language::Rust, src).expect("parses")
    }

    fn import(
        module: &str,
        names: &[(&str, Option<&str>)],
        alias: Option<&str>,
        reexport: bool,
        line: u32,
    ) -> ParsedImport {
        ParsedImport {
            module: module.into(),
            names: names.iter().map(|(n, a)| ((*n).to_owned(), a.map(str::to_owned))).collect(),
            alias: alias.map(str::to_owned),
            reexport,
            line,
        }
    }

    const GEOMETRY: &str = r#"//! Shapes.
use std::collections::{HashMap, hash_map::Entry as Slot};
use std::fmt::{self, Display};
pub use crate::units::Meters;
pub(crate) use super::io::*;
use serde;
use tokio::sync::Mutex;
extern crate alloc as heap;

mod tests_support;

/// A point.
#[derive(Debug, Clone)]
pub struct Point<T> {
    pub x: f64,
    pub(crate) y: f64,
    tag: Option<T>,
}

struct Meters(pub f64);

pub enum Shape {
    Circle { r: f64 },
    Square(f64),
}

pub trait Area: Display + fmt::Debug + From<u8> {
    fn area(&self) -> f64;
    fn unit() -> &'static str {
        "m2"
    }
}

impl<T: Clone> Point<T> {
    pub fn new(x: f64, y: f64) -> Self {
        Self { x, y, tag: None }
    }

    pub async fn shift(&mut self, (dx, dy): (f64, f64)) {}

    fn boxed(self: Box<Self>, scale: f64) -> Box<Self> {
        self
    }
}

impl fmt::Display for Point<u8> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        Ok(())
    }
}

impl Area for Point<u8> {
    fn area(&self) -> f64 {
        0.0
    }
}

impl Display for Outside {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        Ok(())
    }
}

impl<T: Display> Area for T {
    fn area(&self) -> f64 {
        1.0
    }
}

pub fn distance(a: &Point<f64>, b: &Point<f64>) -> f64 {
    0.0
}

fn private_helper() {}

#[cfg(test)]
mod tests {
    fn not_reported() {}
}
"#;

    #[test]
    fn types_fields_and_traits() {
        let f = parse(GEOMETRY);
        let point = find(&f, None, "Point");
        assert_eq!((point.kind, point.visibility), (SymbolKind::Struct, Visibility::Public));
        assert_eq!((point.line, point.end_line), (14, 18));
        assert_eq!(point.implements, ["fmt::Display", "Area"]);
        let field = |name| find(&f, Some("Point"), name);
        assert_eq!((field("x").visibility, field("x").type_name.as_deref()), (Visibility::Public, Some("f64")));
        assert_eq!(field("y").visibility, Visibility::Public);
        assert_eq!(
            (field("tag").visibility, field("tag").type_name.as_deref()),
            (Visibility::Private, Some("Option<T>"))
        );
        assert_eq!(find(&f, None, "Meters").visibility, Visibility::Private);
        assert_eq!(find(&f, None, "Shape").kind, SymbolKind::Enum);
        let area = find(&f, None, "Area");
        assert_eq!(area.kind, SymbolKind::Trait);
        assert_eq!(area.bases, ["Display", "fmt::Debug", "From"]);
        assert_eq!(find(&f, Some("Area"), "area").binding, MethodBinding::Instance);
        assert_eq!(find(&f, Some("Area"), "unit").binding, MethodBinding::Static);
        assert_eq!(find(&f, Some("Area"), "unit").return_type.as_deref(), Some("&'static str"));
    }

    #[test]
    fn impl_methods_and_functions() {
        let f = parse(GEOMETRY);
        let new = find(&f, Some("Point"), "new");
        assert_eq!(
            (new.kind, new.binding, new.visibility),
            (SymbolKind::Method, MethodBinding::Static, Visibility::Public)
        );
        assert_eq!(params(new), ["x:f64", "y:f64"]);
        assert_eq!(new.return_type.as_deref(), Some("Self"));
        let shift = find(&f, Some("Point"), "shift");
        assert!(shift.is_async);
        assert_eq!(shift.binding, MethodBinding::Instance);
        assert_eq!(params(shift), ["(dx, dy):(f64, f64)"]);
        let boxed = find(&f, Some("Point"), "boxed");
        assert_eq!((boxed.binding, boxed.visibility), (MethodBinding::Instance, Visibility::Private));
        assert_eq!(params(boxed), ["scale:f64"]);
        // Trait impl methods: public, under the type; a type defined elsewhere gets no entry.
        assert_eq!(find(&f, Some("Point"), "fmt").visibility, Visibility::Public);
        assert_eq!(find(&f, Some("Outside"), "fmt").kind, SymbolKind::Method);
        assert!(f.symbols.iter().all(|s| s.name != "Outside" && s.parent.as_deref() != Some("T")));
        let functions: Vec<_> =
            f.symbols.iter().filter(|s| s.kind == SymbolKind::Function).map(|s| s.name.as_str()).collect();
        assert_eq!(functions, ["distance", "private_helper"]);
        assert_eq!(find(&f, None, "private_helper").visibility, Visibility::Private);
        assert_eq!(params(find(&f, None, "distance")), ["a:&Point<f64>", "b:&Point<f64>"]);
        assert!(names(&f).iter().all(|n| !n.contains("not_reported")));
    }

    #[test]
    fn use_declarations_flattened() {
        let f = parse(GEOMETRY);
        assert_eq!(
            f.imports,
            [
                import("std::collections", &[("HashMap", None)], None, false, 2),
                import("std::collections::hash_map", &[("Entry", Some("Slot"))], None, false, 2),
                import("std", &[("fmt", None)], None, false, 3),
                import("std::fmt", &[("Display", None)], None, false, 3),
                import("crate::units", &[("Meters", None)], None, true, 4),
                import("super::io", &[("*", None)], None, true, 5),
                import("serde", &[], None, false, 6),
                import("tokio::sync", &[("Mutex", None)], None, false, 7),
                import("alloc", &[], Some("heap"), false, 8),
            ]
        );
        let nested = parse("use a::{b::{C, D as E}, d, self as x};\n");
        assert_eq!(
            nested.imports,
            [
                import("a::b", &[("C", None), ("D", Some("E"))], None, false, 1),
                import("a", &[("d", None)], None, false, 1),
                import("a", &[], Some("x"), false, 1)
            ]
        );
    }
}
