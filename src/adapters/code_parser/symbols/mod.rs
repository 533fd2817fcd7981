//! A source file's definitions and imports, read from its tree-sitter syntax tree: one module per
//! language (JavaScript, TypeScript and TSX share one), and the small helpers they share here
//! (node text, lines, an iterative walk). Only syntax is reported: names, bases and imports as
//! written; resolving them is the code graph's job.
//!
//! Syntax errors never fail a parse: tree-sitter recovers, and the readers also look inside
//! `ERROR` nodes for statements, so what parses around a mistake is still read.

mod go;
mod javascript;
mod python;
mod rust;

use tree_sitter::{Language as Grammar, Node, Parser, Tree};

use crate::domain::code::{Language, MethodBinding, ParsedFile, ParsedSymbol, SymbolKind, Visibility};
use crate::ports::ParseError;

/// How deep type definitions may nest before the readers stop descending: keeps the recursion
/// (classes in classes, modules in modules) far from the stack's limit on adversarial input.
const MAX_DEPTH: usize = 64;

pub(super) fn parse_file(language: Language, source: &str) -> Result<ParsedFile, ParseError> {
    let mut out =
        ParsedFile { line_count: u32::try_from(source.lines().count()).unwrap_or(u32::MAX), ..ParsedFile::default() };
    if source.trim().is_empty() {
        return Ok(out);
    }
    match language {
        Language::Python => {
            let tree = parse(&tree_sitter_python::LANGUAGE.into(), source)?;
            python::read(tree.root_node(), source, &mut out);
        }
        Language::JavaScript => {
            let tree = parse(&tree_sitter_javascript::LANGUAGE.into(), source)?;
            javascript::read(tree.root_node(), source, &mut out);
        }
        Language::TypeScript => {
            let tree = parse_typescript(source)?;
            javascript::read(tree.root_node(), source, &mut out);
        }
        Language::Rust => {
            let tree = parse(&tree_sitter_rust::LANGUAGE.into(), source)?;
            rust::read(tree.root_node(), source, &mut out);
        }
        Language::Go => {
            let tree = parse(&tree_sitter_go::LANGUAGE.into(), source)?;
            go::read(tree.root_node(), source, &mut out);
        }
    }
    Ok(out)
}

fn parse(grammar: &Grammar, source: &str) -> Result<Tree, ParseError> {
    let mut parser = Parser::new();
    parser.set_language(grammar).map_err(|e| ParseError::Failed(e.to_string()))?;
    parser.parse(source, None).ok_or_else(|| ParseError::Failed("the parser gave up".to_owned()))
}

/// `Language::TypeScript` covers `.ts` and `.tsx`, whose grammars differ (`<T>x` casts against
/// JSX): plain TypeScript first, TSX when that has errors and TSX has fewer.
fn parse_typescript(source: &str) -> Result<Tree, ParseError> {
    let ts = parse(&tree_sitter_typescript::LANGUAGE_TYPESCRIPT.into(), source)?;
    if !ts.root_node().has_error() {
        return Ok(ts);
    }
    let tsx = parse(&tree_sitter_typescript::LANGUAGE_TSX.into(), source)?;
    Ok(if error_count(tsx.root_node()) < error_count(ts.root_node()) { tsx } else { ts })
}

/// Error and missing nodes, visiting only subtrees that contain some.
fn error_count(root: Node) -> usize {
    let mut count = 0;
    walk(root, |n| {
        if n.is_error() || n.is_missing() {
            count += 1;
        }
        n.has_error()
    });
    count
}

/// Visit `root` and its descendants depth-first, without recursion; `visit` returns whether to
/// descend into the node it was given.
pub(super) fn walk<'t>(root: Node<'t>, mut visit: impl FnMut(Node<'t>) -> bool) {
    let mut cursor = root.walk();
    let mut down = visit(root);
    loop {
        if down && cursor.goto_first_child() {
            down = visit(cursor.node());
            continue;
        }
        loop {
            if cursor.goto_next_sibling() {
                down = visit(cursor.node());
                break;
            }
            if !cursor.goto_parent() {
                return;
            }
        }
    }
}

/// The named children of a node.
pub(super) fn kids(node: Node<'_>) -> Vec<Node<'_>> {
    let mut cursor = node.walk();
    node.named_children(&mut cursor).collect()
}

/// A node's source text.
pub(super) fn text<'s>(node: Node, src: &'s str) -> &'s str {
    src.get(node.byte_range()).unwrap_or_default()
}

/// A field's source text with whitespace runs squashed to one space (multi-line annotations
/// and defaults read as one line).
pub(super) fn field_text(node: Node, field: &str, src: &str) -> Option<String> {
    node.child_by_field_name(field).map(|n| squash(text(n, src))).filter(|t| !t.is_empty())
}

/// Whitespace runs squashed to one space, trimmed.
pub(super) fn squash(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for word in s.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// Text without any whitespace (dotted names split over lines).
pub(super) fn compact(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

/// 1-based first and last line; a node ending at column 0 ends on the line before.
pub(super) fn lines(node: Node) -> (u32, u32) {
    let start = node.start_position().row;
    let end = node.end_position();
    let last = if end.column == 0 && end.row > start { end.row - 1 } else { end.row };
    (to_line(start), to_line(last))
}

fn to_line(row: usize) -> u32 {
    u32::try_from(row + 1).unwrap_or(u32::MAX)
}

/// The 1-based line a node starts on.
pub(super) fn line(node: Node) -> u32 {
    to_line(node.start_position().row)
}

/// A symbol with nothing but its name, kind, place and visibility filled in.
pub(super) fn symbol(
    name: impl Into<String>,
    kind: SymbolKind,
    parent: Option<&str>,
    visibility: Visibility,
    node: Node,
) -> ParsedSymbol {
    let (line, end_line) = lines(node);
    ParsedSymbol {
        name: name.into(),
        kind,
        parent: parent.map(str::to_owned),
        visibility,
        binding: MethodBinding::Instance,
        params: Vec::new(),
        return_type: None,
        type_name: None,
        bases: Vec::new(),
        implements: Vec::new(),
        is_async: false,
        line,
        end_line,
    }
}

/// `Base<T>` / `Base[T]` without its generic arguments.
pub(super) fn strip_generics(s: &str) -> String {
    let cut = s.find(['<', '[']).unwrap_or(s.len());
    compact(&s[..cut])
}

/// `Outer.Inner` for a type nested in `parent`.
pub(super) fn child_path(parent: Option<&str>, name: &str) -> String {
    match parent {
        Some(p) => format!("{p}.{name}"),
        None => name.to_owned(),
    }
}

#[cfg(test)]
pub(super) mod test_support {
    use crate::domain::code::{ParsedFile, ParsedSymbol, SymbolKind};

    /// The one symbol named `name` with parent `parent`; panics with the file's symbols listed.
    pub(crate) fn find<'a>(f: &'a ParsedFile, parent: Option<&str>, name: &str) -> &'a ParsedSymbol {
        let hits: Vec<_> = f.symbols.iter().filter(|s| s.name == name && s.parent.as_deref() == parent).collect();
        assert_eq!(hits.len(), 1, "{parent:?}.{name} in {:#?}", names(f));
        hits[0]
    }

    /// `parent.name:kind` for every symbol, in order.
    pub(crate) fn names(f: &ParsedFile) -> Vec<String> {
        f.symbols
            .iter()
            .map(|s| match &s.parent {
                Some(p) => format!("{p}.{}:{}", s.name, s.kind.as_str()),
                None => format!("{}:{}", s.name, s.kind.as_str()),
            })
            .collect()
    }

    pub(crate) fn of_kind(f: &ParsedFile, kind: SymbolKind) -> Vec<&str> {
        f.symbols.iter().filter(|s| s.kind == kind).map(|s| s.name.as_str()).collect()
    }

    /// `name:type=default` for each parameter.
    pub(crate) fn params(s: &ParsedSymbol) -> Vec<String> {
        s.params.iter().map(crate::domain::code::Param::detailed).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_input_is_an_empty_file_in_every_language() {
        for language in Language::ALL {
            let f = parse_file(language, "").expect("parses");
            assert_eq!(f, ParsedFile::default());
            let f = parse_file(language, "\n\n").expect("parses");
            assert!(f.symbols.is_empty() && f.imports.is_empty());
            assert_eq!(f.line_count, 2);
        }
    }

    #[test]
    fn garbage_never_panics() {
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let alphabet: Vec<char> = "(){}[]<>:;,.=+-*/\\'\"`#@!?&|^%$ \n\tabcXYZ_019 fn def class struct impl func type interface import from use export async await => -> ... /* */ //".chars().collect();
        for round in 0..40 {
            let mut s = String::new();
            for _ in 0..(50 + round * 25) {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let i = usize::try_from(seed % alphabet.len() as u64).unwrap_or(0);
                s.push(alphabet[i]);
            }
            for language in Language::ALL {
                parse_file(language, &s).expect("never fails on syntax");
            }
        }
        let deep = format!("{}{}", "(".repeat(2000), "{[".repeat(1000));
        let nested_classes = (0..300).map(|i| format!("{}class C{i}:\n", "    ".repeat(i))).collect::<String>();
        for s in
            [deep.as_str(), nested_classes.as_str(), "}}}}))))", "\u{0}\u{1}\u{fffd}é中文", "class", "fn", "func ("]
        {
            for language in Language::ALL {
                parse_file(language, s).expect("never fails on syntax");
            }
        }
    }

    #[test]
    fn typescript_falls_back_to_tsx_for_jsx() {
        let src = "export function App(props: Props): JSX.Element {\n  return <div className=\"x\">{props.name}</div>;\n}\nexport class Box {}\n";
        let f = parse_file(Language::TypeScript, src).expect("parses");
        assert_eq!(test_support::names(&f), ["App:function", "Box:class"]);
        // Plain TypeScript with an angle-bracket cast stays on the TypeScript grammar.
        let f = parse_file(Language::TypeScript, "const n = <number>x;\nexport class A {}\n").expect("parses");
        assert_eq!(test_support::names(&f), ["A:class"]);
    }
}
