//! What a script uses, read by tree-sitter for the hallucination checker: imports, assignments,
//! calls, attribute reads and the script's own definitions, as [`Script`] events. `python` and
//! `javascript` (which also reads TypeScript) walk their grammar's tree; this module holds the
//! shared plumbing: parsing, event collection, syntax-error lines and the recursion cap.

mod javascript;
mod python;

use tree_sitter::{Node, Parser, Tree};

use crate::domain::code::{Language, ParsedImport};
use crate::domain::script::{Script, ScriptEvent, ScriptExpr};
use crate::ports::ParseError;

/// How deep the walk recurses before reducing a subtree to `Other` (its events are dropped):
/// pathological nesting (thousands of parentheses, endless `a.b.c...` chains) must not overflow
/// a 2 MiB thread stack, and nothing a person writes nests this deep.
const MAX_DEPTH: usize = 200;

pub(super) fn analyze_script(language: Language, source: &str) -> Result<Script, ParseError> {
    match language {
        Language::Python => {
            let tree = parse(&tree_sitter_python::LANGUAGE.into(), source)?;
            Ok(finish(&tree, source, python::walk))
        }
        Language::JavaScript => {
            let tree = parse(&tree_sitter_javascript::LANGUAGE.into(), source)?;
            Ok(finish(&tree, source, javascript::walk))
        }
        Language::TypeScript => {
            // `.ts` and `.tsx` share the language: TSX only when plain TypeScript trips (on JSX,
            // or on the `<T>expr` casts TSX cannot read, hence keeping the cleaner of the two).
            let tree = parse(&tree_sitter_typescript::LANGUAGE_TYPESCRIPT.into(), source)?;
            let tree = if tree.root_node().has_error() {
                let tsx = parse(&tree_sitter_typescript::LANGUAGE_TSX.into(), source)?;
                if tsx.root_node().has_error() { tree } else { tsx }
            } else {
                tree
            };
            Ok(finish(&tree, source, javascript::walk))
        }
        Language::Rust | Language::Go => {
            Err(ParseError::Unsupported(format!("checking {} scripts", language.as_str())))
        }
    }
}

fn parse(language: &tree_sitter::Language, source: &str) -> Result<Tree, ParseError> {
    let mut parser = Parser::new();
    parser.set_language(language).map_err(|e| ParseError::Failed(e.to_string()))?;
    parser.parse(source, None).ok_or_else(|| ParseError::Failed("the parser gave up".into()))
}

fn finish(tree: &Tree, source: &str, walk: fn(&mut Collector<'_>, Node<'_>)) -> Script {
    let mut collector = Collector { source: source.as_bytes(), events: Vec::new() };
    let root = tree.root_node();
    walk(&mut collector, root);
    Script {
        events: collector.events,
        syntax_error_lines: error_lines(root),
        line_count: u32::try_from(source.lines().count()).unwrap_or(u32::MAX),
    }
}

/// Lines of ERROR and MISSING nodes, ascending, each once. Iterative (the tree may be deep) and
/// only descends into subtrees that contain an error.
fn error_lines(root: Node<'_>) -> Vec<u32> {
    let mut lines = Vec::new();
    if !root.has_error() {
        return lines;
    }
    let mut cursor = root.walk();
    'walk: loop {
        let node = cursor.node();
        if node.is_error() || node.is_missing() {
            lines.push(line(node));
        }
        if node.has_error() && !node.is_error() && cursor.goto_first_child() {
            continue;
        }
        // An ERROR node's own line is enough; further errors inside it add nothing useful.
        while !cursor.goto_next_sibling() {
            if !cursor.goto_parent() {
                break 'walk;
            }
        }
    }
    lines.sort_unstable();
    lines.dedup();
    lines
}

/// A node's 1-based start line.
fn line(node: Node<'_>) -> u32 {
    u32::try_from(node.start_position().row).map_or(u32::MAX, |row| row.saturating_add(1))
}

/// A left-nested chain of the same operator kind (`a + b + c + ...` nests to the left), from the
/// innermost node out, found without recursion: long concatenations must not eat the depth cap.
fn left_spine(node: Node<'_>) -> Vec<Node<'_>> {
    let mut spine = vec![node];
    let mut current = node;
    while let Some(left) = current.child_by_field_name("left").filter(|l| l.kind() == node.kind()) {
        spine.push(left);
        current = left;
    }
    spine.reverse();
    spine
}

/// A node's named children, comments left out.
fn named_children<'t>(node: Node<'t>) -> Vec<Node<'t>> {
    let mut cursor = node.walk();
    node.named_children(&mut cursor).filter(|child| child.kind() != "comment").collect()
}

/// The events found so far and the source they point into.
struct Collector<'s> {
    source: &'s [u8],
    events: Vec<ScriptEvent>,
}

impl Collector<'_> {
    fn text(&self, node: Node<'_>) -> String {
        node.utf8_text(self.source).unwrap_or_default().to_owned()
    }

    /// A node's text without whitespace (`a . b` written over lines is still `a.b`).
    fn compact_text(&self, node: Node<'_>) -> String {
        self.text(node).split_whitespace().collect()
    }

    fn assign(&mut self, target: Node<'_>, value: ScriptExpr, annotation: Option<String>) {
        let name = self.text(target);
        if name.is_empty() {
            return; // a MISSING identifier from error recovery
        }
        self.events.push(ScriptEvent::Assign { target: name, value, annotation, line: line(target) });
    }

    fn local_definition(&mut self, name: Node<'_>) {
        let text = self.text(name);
        if !text.is_empty() {
            self.events.push(ScriptEvent::LocalDefinition { name: text, line: line(name) });
        }
    }

    fn import(&mut self, module: String, names: Vec<(String, Option<String>)>, alias: Option<String>, at: Node<'_>) {
        self.events.push(ScriptEvent::Import(ParsedImport { module, names, alias, reexport: false, line: line(at) }));
    }

    /// `export { a } from 'm'`: an import whose names the script passes on.
    fn reexport(&mut self, module: String, names: Vec<(String, Option<String>)>, at: Node<'_>) {
        self.events.push(ScriptEvent::Import(ParsedImport {
            module,
            names,
            alias: None,
            reexport: true,
            line: line(at),
        }));
    }

    /// `object.name`, reported as a read unless it is a callee; `Other` when error recovery left
    /// the name out.
    fn attribute(&mut self, object: ScriptExpr, name: Option<Node<'_>>, is_callee: bool) -> ScriptExpr {
        let Some(name) = name else { return ScriptExpr::Other };
        let text = self.text(name);
        if text.is_empty() {
            return ScriptExpr::Other;
        }
        let expr = ScriptExpr::attr(object, &text);
        if !is_callee {
            self.events.push(ScriptEvent::AttributeRead { expr: expr.clone(), line: line(name) });
        }
        expr
    }

    fn call(&mut self, expr: ScriptExpr, line: u32) -> ScriptExpr {
        self.events.push(ScriptEvent::Call { expr: expr.clone(), line });
        expr
    }
}

/// Shorthands for the expected events of the language tests.
#[cfg(test)]
mod test_support {
    use crate::domain::code::ParsedImport;
    use crate::domain::script::{CallArgs, ScriptEvent, ScriptExpr};

    pub(super) fn name(n: &str) -> ScriptExpr {
        ScriptExpr::name(n)
    }

    pub(super) fn attr(object: ScriptExpr, n: &str) -> ScriptExpr {
        ScriptExpr::attr(object, n)
    }

    pub(super) fn call(callee: ScriptExpr, positional: usize, keywords: &[&str]) -> ScriptExpr {
        let keywords = keywords.iter().map(|k| (*k).to_owned()).collect();
        ScriptExpr::call(callee, CallArgs { positional, keywords, ..CallArgs::default() })
    }

    pub(super) fn call_at(expr: ScriptExpr, line: u32) -> ScriptEvent {
        ScriptEvent::Call { expr, line }
    }

    pub(super) fn read(expr: ScriptExpr, line: u32) -> ScriptEvent {
        ScriptEvent::AttributeRead { expr, line }
    }

    pub(super) fn assign(target: &str, value: ScriptExpr, annotation: Option<&str>, line: u32) -> ScriptEvent {
        ScriptEvent::Assign { target: target.to_owned(), value, annotation: annotation.map(str::to_owned), line }
    }

    pub(super) fn def(n: &str, line: u32) -> ScriptEvent {
        ScriptEvent::LocalDefinition { name: n.to_owned(), line }
    }

    pub(super) fn import(module: &str, names: &[(&str, Option<&str>)], alias: Option<&str>, line: u32) -> ScriptEvent {
        ScriptEvent::Import(ParsedImport {
            module: module.to_owned(),
            names: names.iter().map(|(n, a)| ((*n).to_owned(), a.map(str::to_owned))).collect(),
            alias: alias.map(str::to_owned),
            reexport: false,
            line,
        })
    }
}
