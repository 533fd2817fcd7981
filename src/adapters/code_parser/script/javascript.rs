//! JavaScript and TypeScript scripts (one walker: TypeScript's grammar extends JavaScript's):
//! ES imports and `require`, declarations and assignments (with TS annotations), calls and
//! `new`, member reads (optional chaining included) and the script's own functions and classes.
//! JavaScript has no keyword arguments: an options object is one positional argument.

use tree_sitter::Node;

use super::{Collector, MAX_DEPTH, left_spine, line, named_children};
use crate::domain::script::{CallArgs, ScriptExpr};

pub(super) fn walk(c: &mut Collector<'_>, root: Node<'_>) {
    visit(c, root, 0);
}

/// Emits the events of `node` and returns what it reduces to.
fn visit(c: &mut Collector<'_>, node: Node<'_>, depth: usize) -> ScriptExpr {
    if depth > MAX_DEPTH {
        return ScriptExpr::Other;
    }
    let d = depth + 1;
    match node.kind() {
        "identifier" | "this" | "super" => ScriptExpr::Name(c.text(node)),
        // Types never hold a value read; object-literal keys and leaves hold no events.
        "comment"
        | "string"
        | "number"
        | "regex"
        | "true"
        | "false"
        | "null"
        | "undefined"
        | "type_annotation"
        | "type_arguments"
        | "type_parameters"
        | "property_identifier"
        | "shorthand_property_identifier"
        | "statement_identifier"
        | "interface_body"
        | "object_type" => ScriptExpr::Other,
        // Wrappers that keep their inner expression's type (`await`, TS `x!`, `x as T`); a
        // parenthesised sequence `(a, b)` is no single expression.
        "parenthesized_expression"
        | "await_expression"
        | "non_null_expression"
        | "as_expression"
        | "satisfies_expression" => match named_children(node).as_slice() {
            [inner] => visit(c, *inner, d),
            [inner, ..] if node.kind() != "parenthesized_expression" => visit(c, *inner, d),
            _ => generic(c, node, d),
        },
        "call_expression" => call(c, node, "function", d),
        "new_expression" => call(c, node, "constructor", d),
        "member_expression" => member(c, node, d, false),
        "import_statement" => {
            import(c, node);
            ScriptExpr::Other
        }
        "export_statement" if node.child_by_field_name("source").is_some() => {
            export_from(c, node);
            ScriptExpr::Other
        }
        "variable_declarator" => {
            declarator(c, node, d);
            ScriptExpr::Other
        }
        "assignment_expression" => assignment(c, node, d),
        "augmented_assignment_expression" => {
            visit_field(c, node, "right", d);
            if let Some(left) = node.child_by_field_name("left") {
                targets(c, left, ScriptExpr::Other, None, d);
            }
            ScriptExpr::Other
        }
        "function_declaration"
        | "generator_function_declaration"
        | "function_expression"
        | "function"
        | "generator_function"
        | "arrow_function"
        | "method_definition"
        | "function_signature" => {
            function(c, node, d);
            ScriptExpr::Other
        }
        "class_declaration" | "class" | "abstract_class_declaration" => {
            if let Some(name) = node.child_by_field_name("name") {
                c.local_definition(name);
            }
            for child in named_children(node) {
                if Some(child) != node.child_by_field_name("name") {
                    visit(c, child, d);
                }
            }
            ScriptExpr::Other
        }
        "interface_declaration" | "type_alias_declaration" | "enum_declaration" | "internal_module" | "module" => {
            if let Some(name) = node.child_by_field_name("name") {
                c.local_definition(name);
            }
            ScriptExpr::Other
        }
        "binary_expression" => {
            let spine = left_spine(node);
            if let Some(left) = spine.first().and_then(|n| n.child_by_field_name("left")) {
                visit(c, left, d);
            }
            for link in spine {
                visit_field(c, link, "right", d);
            }
            ScriptExpr::Other
        }
        "if_statement" => {
            // `else if` chains nest; walked as a loop so long chains keep the depth budget.
            let mut current = node;
            loop {
                visit_field(c, current, "condition", d);
                visit_field(c, current, "consequence", d);
                let Some(alternative) = current.child_by_field_name("alternative") else { break };
                match named_children(alternative).as_slice() {
                    [next] if next.kind() == "if_statement" => current = *next,
                    _ => {
                        visit(c, alternative, d);
                        break;
                    }
                }
            }
            ScriptExpr::Other
        }
        "for_in_statement" => {
            // Evaluation order: the iterable, then the loop variable, then the body.
            visit_field(c, node, "right", d);
            if let Some(left) = node.child_by_field_name("left") {
                targets(c, left, ScriptExpr::Other, None, d);
            }
            visit_field(c, node, "body", d);
            ScriptExpr::Other
        }
        "catch_clause" => {
            if let Some(param) = node.child_by_field_name("parameter") {
                let annotation = node.child_by_field_name("type").map(|t| annotation_text(c, t));
                targets(c, param, ScriptExpr::Other, annotation, d);
            }
            visit_field(c, node, "body", d);
            ScriptExpr::Other
        }
        _ => generic(c, node, d),
    }
}

/// Any other node: its named children in order, reduced to `Other`.
fn generic(c: &mut Collector<'_>, node: Node<'_>, d: usize) -> ScriptExpr {
    for child in named_children(node) {
        visit(c, child, d);
    }
    ScriptExpr::Other
}

fn visit_field(c: &mut Collector<'_>, node: Node<'_>, field: &str, d: usize) {
    if let Some(child) = node.child_by_field_name(field) {
        visit(c, child, d);
    }
}

/// A TS `: T` annotation as written, without the colon.
fn annotation_text(c: &Collector<'_>, node: Node<'_>) -> String {
    c.text(node).trim_start().trim_start_matches(':').trim().to_owned()
}

/// `a.b` and `a?.b`.
fn member(c: &mut Collector<'_>, node: Node<'_>, d: usize, is_callee: bool) -> ScriptExpr {
    let object = node.child_by_field_name("object").map_or(ScriptExpr::Other, |o| visit(c, o, d));
    c.attribute(object, node.child_by_field_name("property"), is_callee)
}

/// `f(args)`, `a.b?.(args)`, `` tag`...` `` and `new F(args)` (`callee_field` tells which).
fn call(c: &mut Collector<'_>, node: Node<'_>, callee_field: &str, d: usize) -> ScriptExpr {
    let (callee, line) = match node.child_by_field_name(callee_field) {
        Some(f) if f.kind() == "member_expression" => {
            // A chained call spanning lines is reported where its method name sits.
            let at = f.child_by_field_name("property").map_or(line(node), line);
            (member(c, f, d, true), at)
        }
        Some(f) => (visit(c, f, d), line(node)),
        None => (ScriptExpr::Other, line(node)),
    };
    let mut args = CallArgs::default();
    match node.child_by_field_name("arguments") {
        Some(list) if list.kind() == "arguments" => {
            for arg in named_children(list) {
                if arg.kind() == "spread_element" {
                    args.star_args = true;
                } else {
                    args.positional += 1;
                }
                visit(c, arg, d);
            }
        }
        Some(template) => {
            // A tagged template passes its strings and values: the count is not the author's.
            args.star_args = true;
            visit(c, template, d);
        }
        None => {}
    }
    c.call(ScriptExpr::call(callee, args), line)
}

/// `const x: T = value`, `let {a, b} = value`, `const x = require('m')` (an import).
fn declarator(c: &mut Collector<'_>, node: Node<'_>, d: usize) {
    let Some(name) = node.child_by_field_name("name") else {
        generic(c, node, d);
        return;
    };
    let value = node.child_by_field_name("value");
    if let Some(module) = value.and_then(|v| required_module(c, v)) {
        require_import(c, name, module, node);
        return;
    }
    let annotation = node.child_by_field_name("type").map(|t| annotation_text(c, t));
    if name.kind() == "identifier"
        && value.is_some_and(|v| {
            matches!(v.kind(), "arrow_function" | "function_expression" | "function" | "class" | "generator_function")
        })
    {
        c.local_definition(name);
    }
    let value = value.map_or(ScriptExpr::Other, |v| visit(c, v, d));
    targets(c, name, value, annotation, d);
}

/// `x = value` (also `x = require('m')`): returns the value so chained assignments share it.
fn assignment(c: &mut Collector<'_>, node: Node<'_>, d: usize) -> ScriptExpr {
    let left = node.child_by_field_name("left");
    let right = node.child_by_field_name("right");
    if let (Some(left), Some(module)) = (left, right.and_then(|r| required_module(c, r))) {
        require_import(c, left, module, node);
        return ScriptExpr::Other;
    }
    let value = right.map_or(ScriptExpr::Other, |r| visit(c, r, d));
    if let Some(left) = left {
        targets(c, left, value.clone(), None, d);
    }
    value
}

/// The module of `require('m')` (also `await import('m')`), if `node` is one.
fn required_module(c: &Collector<'_>, node: Node<'_>) -> Option<String> {
    let node = if node.kind() == "await_expression" { *named_children(node).first()? } else { node };
    if node.kind() != "call_expression" {
        return None;
    }
    let function = node.child_by_field_name("function")?;
    let is_require = match function.kind() {
        "identifier" => c.text(function) == "require",
        "import" => true,
        _ => false,
    };
    let args = named_children(node.child_by_field_name("arguments")?);
    match args.as_slice() {
        [arg] if is_require && arg.kind() == "string" => Some(string_value(c, *arg)),
        _ => None,
    }
}

/// `const m = require('m')` binds the module; `const {a, b: c} = require('m')` names from it.
fn require_import(c: &mut Collector<'_>, target: Node<'_>, module: String, at: Node<'_>) {
    match target.kind() {
        "identifier" => c.import(module, Vec::new(), Some(c.text(target)), at),
        "object_pattern" => {
            let mut names = Vec::new();
            for prop in named_children(target) {
                match prop.kind() {
                    "shorthand_property_identifier_pattern" => names.push((c.text(prop), None)),
                    "pair_pattern" => {
                        let key = prop.child_by_field_name("key").map(|k| c.text(k)).unwrap_or_default();
                        let alias = prop.child_by_field_name("value").filter(|v| v.kind() == "identifier");
                        names.push((key, alias.map(|a| c.text(a))));
                    }
                    _ => {}
                }
            }
            c.import(module, names, None, at);
        }
        _ => c.import(module, Vec::new(), None, at),
    }
}

/// A string literal's content, without its quotes.
fn string_value(c: &Collector<'_>, node: Node<'_>) -> String {
    let text = c.text(node);
    text.trim_matches(|ch| ch == '"' || ch == '\'' || ch == '`').to_owned()
}

/// Assigns `value` to what `node` names: a variable gets an `Assign`; names destructured from
/// an object or array get `Other`; member targets are no variables, but their objects are read.
fn targets(c: &mut Collector<'_>, node: Node<'_>, value: ScriptExpr, annotation: Option<String>, depth: usize) {
    if depth > MAX_DEPTH {
        return;
    }
    let d = depth + 1;
    match node.kind() {
        "identifier" | "shorthand_property_identifier_pattern" => c.assign(node, value, annotation),
        "parenthesized_expression" => {
            if let [inner] = named_children(node).as_slice() {
                targets(c, *inner, value, annotation, d);
            }
        }
        "object_pattern" | "array_pattern" | "rest_pattern" => {
            for child in named_children(node) {
                targets(c, child, ScriptExpr::Other, None, d);
            }
        }
        "pair_pattern" => {
            if let Some(inner) = node.child_by_field_name("value") {
                targets(c, inner, ScriptExpr::Other, None, d);
            }
        }
        "assignment_pattern" | "object_assignment_pattern" => {
            visit_field(c, node, "right", d);
            if let Some(left) = node.child_by_field_name("left") {
                targets(c, left, ScriptExpr::Other, None, d);
            }
        }
        "member_expression" => visit_field(c, node, "object", d),
        _ => {
            visit(c, node, d);
        }
    }
}

/// A function, arrow function or method: its name is a local definition, its parameters are
/// assigned `Other` (with their TS annotation) so they shadow outer variables.
fn function(c: &mut Collector<'_>, node: Node<'_>, d: usize) {
    if let Some(name) = node.child_by_field_name("name") {
        c.local_definition(name);
    }
    if let Some(param) = node.child_by_field_name("parameter") {
        targets(c, param, ScriptExpr::Other, None, d);
    }
    if let Some(params) = node.child_by_field_name("parameters") {
        for param in named_children(params) {
            match param.kind() {
                "required_parameter" | "optional_parameter" => {
                    visit_field(c, param, "value", d);
                    let annotation = param.child_by_field_name("type").map(|t| annotation_text(c, t));
                    if let Some(pattern) = param.child_by_field_name("pattern").filter(|p| p.kind() != "this") {
                        targets(c, pattern, ScriptExpr::Other, annotation, d);
                    }
                }
                _ => targets(c, param, ScriptExpr::Other, None, d),
            }
        }
    }
    visit_field(c, node, "body", d);
}

/// `import x, {a, b as c} from 'm'`, `import * as ns from 'm'`, `import 'm'`, TS
/// `import x = require('m')`. A default import is the name `default`.
fn import(c: &mut Collector<'_>, node: Node<'_>) {
    let mut module = node.child_by_field_name("source").map(|s| string_value(c, s)).unwrap_or_default();
    let mut names = Vec::new();
    let mut alias = None;
    for child in named_children(node) {
        match child.kind() {
            "import_clause" => {
                for part in named_children(child) {
                    match part.kind() {
                        "identifier" => names.push(("default".to_owned(), Some(c.text(part)))),
                        "namespace_import" => {
                            alias =
                                named_children(part).into_iter().find(|n| n.kind() == "identifier").map(|n| c.text(n));
                        }
                        "named_imports" => names.extend(specifiers(c, part)),
                        _ => {}
                    }
                }
            }
            "import_require_clause" => {
                alias = named_children(child).into_iter().find(|n| n.kind() == "identifier").map(|n| c.text(n));
                if let Some(source) = child.child_by_field_name("source") {
                    module = string_value(c, source);
                }
            }
            _ => {}
        }
    }
    c.import(module, names, alias, node);
}

/// `export { a as b } from 'm'`, `export * from 'm'` (the name `*`).
fn export_from(c: &mut Collector<'_>, node: Node<'_>) {
    let module = node.child_by_field_name("source").map(|s| string_value(c, s)).unwrap_or_default();
    let clause = named_children(node).into_iter().find(|n| n.kind() == "export_clause");
    let names = match clause {
        Some(clause) => specifiers(c, clause),
        None => vec![("*".to_owned(), None)],
    };
    c.reexport(module, names, node);
}

/// The `name as alias` pairs of `{ ... }` in an import or export.
fn specifiers(c: &Collector<'_>, node: Node<'_>) -> Vec<(String, Option<String>)> {
    named_children(node)
        .into_iter()
        .filter_map(|spec| {
            let name = spec.child_by_field_name("name")?;
            let name = if name.kind() == "string" { string_value(c, name) } else { c.text(name) };
            Some((name, spec.child_by_field_name("alias").map(|a| c.text(a))))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::analyze_script;
    use super::super::test_support::*;
    use crate::domain::code::Language;
    use crate::domain::script::{CallArgs, ScriptEvent, ScriptExpr};

    fn events(language: Language, source: &str) -> Vec<ScriptEvent> {
        let script = analyze_script(language, source).expect("supported");
        assert_eq!(script.syntax_error_lines, Vec::<u32>::new(), "{source}");
        script.events
    }

    #[test]
    fn javascript_script_with_require_new_and_spreads() {
        let source = r#"const fs = require('fs');
const { Configuration, OpenAIApi: Api } = require("openai");
import axios from 'axios';

const client = new OpenAI({ apiKey: process.env.KEY });

async function main(...args) {
  const resp = await client.chat.completions.create({ model: 'gpt-4o', messages });
  console.log(resp.choices[0].message.content);
  fs.writeFileSync('out.txt', resp.id, ...args);
}

main();
"#;
        let new_client = call(name("OpenAI"), 1, &[]);
        let create = call(attr(attr(attr(name("client"), "chat"), "completions"), "create"), 1, &[]);
        let message = attr(ScriptExpr::Other, "message");
        let write = ScriptExpr::call(
            attr(name("fs"), "writeFileSync"),
            CallArgs { positional: 2, star_args: true, ..CallArgs::default() },
        );
        assert_eq!(
            events(Language::JavaScript, source),
            vec![
                import("fs", &[], Some("fs"), 1),
                import("openai", &[("Configuration", None), ("OpenAIApi", Some("Api"))], None, 2),
                import("axios", &[("default", Some("axios"))], None, 3),
                read(attr(name("process"), "env"), 5),
                read(attr(attr(name("process"), "env"), "KEY"), 5),
                call_at(new_client.clone(), 5),
                assign("client", new_client, None, 5),
                def("main", 7),
                assign("args", ScriptExpr::Other, None, 7),
                read(attr(name("client"), "chat"), 8),
                read(attr(attr(name("client"), "chat"), "completions"), 8),
                call_at(create.clone(), 8),
                assign("resp", create, None, 8),
                read(attr(name("resp"), "choices"), 9),
                read(message.clone(), 9),
                read(attr(message, "content"), 9),
                call_at(call(attr(name("console"), "log"), 1, &[]), 9),
                read(attr(name("resp"), "id"), 10),
                call_at(write, 10),
                call_at(call(name("main"), 0, &[]), 13),
            ]
        );
    }

    #[test]
    fn javascript_destructuring_loops_and_catch_bind_names() {
        let source = r#"const { data, error: err } = await supabase.from('t').select();
for (const row of data) { row.save(); }
try { run(); } catch (e) { log(e.message); }
let [first, ...rest] = items;
const handler = async (req) => req.body;
"#;
        let from = call(attr(name("supabase"), "from"), 1, &[]);
        let select = call(attr(from.clone(), "select"), 0, &[]);
        assert_eq!(
            events(Language::JavaScript, source),
            vec![
                call_at(from, 1),
                call_at(select, 1),
                assign("data", ScriptExpr::Other, None, 1),
                assign("err", ScriptExpr::Other, None, 1),
                assign("row", ScriptExpr::Other, None, 2),
                call_at(call(attr(name("row"), "save"), 0, &[]), 2),
                call_at(call(name("run"), 0, &[]), 3),
                assign("e", ScriptExpr::Other, None, 3),
                read(attr(name("e"), "message"), 3),
                call_at(call(name("log"), 1, &[]), 3),
                assign("first", ScriptExpr::Other, None, 4),
                assign("rest", ScriptExpr::Other, None, 4),
                def("handler", 5),
                assign("req", ScriptExpr::Other, None, 5),
                read(attr(name("req"), "body"), 5),
                assign("handler", ScriptExpr::Other, None, 5),
            ]
        );
    }

    #[test]
    fn typescript_script_with_imports_new_optional_chaining_and_typed_let() {
        let source = r#"import { Pinecone, Index } from '@pinecone-database/pinecone';
import * as path from "node:path";
import OpenAI, { APIError } from "openai";

let client: OpenAI = new OpenAI();
let index: Index;
const name = path.basename(__filename);

class Store {
  constructor(private readonly pc: Pinecone) {}
  async query(vector: number[], topK = 5): Promise<string[]> {
    const res = await this.pc?.index(name).query({ vector, topK });
    return res.matches?.map((m) => m.id) ?? [];
  }
}
"#;
        let new_client = call(name("OpenAI"), 0, &[]);
        let basename = call(attr(name("path"), "basename"), 1, &[]);
        let pc = attr(name("this"), "pc");
        let index_call = call(attr(pc.clone(), "index"), 1, &[]);
        let query = call(attr(index_call.clone(), "query"), 1, &[]);
        assert_eq!(
            events(Language::TypeScript, source),
            vec![
                import("@pinecone-database/pinecone", &[("Pinecone", None), ("Index", None)], None, 1),
                import("node:path", &[], Some("path"), 2),
                import("openai", &[("default", Some("OpenAI")), ("APIError", None)], None, 3),
                call_at(new_client.clone(), 5),
                assign("client", new_client, Some("OpenAI"), 5),
                assign("index", ScriptExpr::Other, Some("Index"), 6),
                call_at(basename.clone(), 7),
                assign("name", basename, None, 7),
                def("Store", 9),
                def("constructor", 10),
                assign("pc", ScriptExpr::Other, Some("Pinecone"), 10),
                def("query", 11),
                assign("vector", ScriptExpr::Other, Some("number[]"), 11),
                assign("topK", ScriptExpr::Other, None, 11),
                read(pc, 12),
                call_at(index_call, 12),
                call_at(query.clone(), 12),
                assign("res", query, None, 12),
                read(attr(name("res"), "matches"), 13),
                assign("m", ScriptExpr::Other, None, 13),
                read(attr(name("m"), "id"), 13),
                call_at(call(attr(attr(name("res"), "matches"), "map"), 1, &[]), 13),
            ]
        );
    }

    #[test]
    fn tsx_falls_back_and_errors_are_reported() {
        let tsx = "const el = <Button onClick={() => api.save()} />;\n";
        assert_eq!(
            events(Language::TypeScript, tsx),
            vec![call_at(call(attr(name("api"), "save"), 0, &[]), 1), assign("el", ScriptExpr::Other, None, 1)]
        );
        let broken = "import x from 'x';\nconst a = (;\nx.run();\n";
        let script = analyze_script(Language::TypeScript, broken).expect("supported");
        assert_eq!(script.syntax_error_lines, vec![2]);
        assert_eq!(script.events.last(), Some(&call_at(call(attr(name("x"), "run"), 0, &[]), 3)));
    }

    #[test]
    fn long_operator_and_else_if_chains_are_read_past_the_depth_cap() {
        let concat = format!("const s = a{};\nlate.call();\n", " + x.y".repeat(400));
        let script = analyze_script(Language::JavaScript, &concat).expect("supported");
        let reads = script.events.iter().filter(|e| **e == read(attr(name("x"), "y"), 1)).count();
        assert_eq!(reads, 400);
        assert_eq!(script.events.last(), Some(&call_at(call(attr(name("late"), "call"), 0, &[]), 2)));

        let chain: String = (0..300).map(|i| format!("if (v === {i}) {{ h.f{i}(); }} else ")).collect();
        let script = analyze_script(Language::JavaScript, &format!("{chain}{{ h.last(); }}\n")).expect("supported");
        assert_eq!(script.events.len(), 301);
        assert_eq!(script.events.last(), Some(&call_at(call(attr(name("h"), "last"), 0, &[]), 1)));

        let python = format!("s = a{}\n", " + x.y".repeat(400));
        let script = analyze_script(Language::Python, &python).expect("supported");
        assert_eq!(script.events.len(), 401);
    }

    #[test]
    fn rust_and_go_scripts_are_unsupported_and_deep_nesting_is_safe() {
        assert!(analyze_script(Language::Rust, "fn main() {}").is_err());
        assert!(analyze_script(Language::Go, "package main").is_err());
        let sources = [
            format!("x = {}y{};\n", "(".repeat(5000), ")".repeat(5000)),
            format!("x = a{};\n", "?.b()".repeat(3000)),
            format!("x = {}1{};\n", "f(".repeat(3000), ")".repeat(3000)),
        ];
        let handle = std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(move || {
                for source in &sources {
                    for language in [Language::JavaScript, Language::TypeScript] {
                        analyze_script(language, source).expect("supported");
                    }
                }
            })
            .expect("spawn");
        handle.join().expect("no stack overflow or panic");
    }
}
