//! Python scripts: one post-order walk of tree-sitter-python's tree, so inner calls come before
//! the calls and assignments that use them.

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
        "identifier" => ScriptExpr::Name(c.text(node)),
        "comment"
        | "string_content"
        | "escape_sequence"
        | "integer"
        | "float"
        | "true"
        | "false"
        | "none"
        | "future_import_statement"
        | "global_statement"
        | "nonlocal_statement" => ScriptExpr::Other,
        "parenthesized_expression" | "await" => match named_children(node).as_slice() {
            [inner] => visit(c, *inner, d),
            _ => generic(c, node, d),
        },
        "call" => call(c, node, d),
        "attribute" => attribute(c, node, d, false),
        "import_statement" => {
            import(c, node);
            ScriptExpr::Other
        }
        "import_from_statement" => {
            import_from(c, node);
            ScriptExpr::Other
        }
        "assignment" => assignment(c, node, d),
        "augmented_assignment" => {
            if let Some(right) = node.child_by_field_name("right") {
                visit(c, right, d);
            }
            if let Some(left) = node.child_by_field_name("left") {
                targets(c, left, ScriptExpr::Other, None, d);
            }
            ScriptExpr::Other
        }
        "named_expression" => {
            let value = node.child_by_field_name("value").map_or(ScriptExpr::Other, |v| visit(c, v, d));
            if let Some(name) = node.child_by_field_name("name") {
                c.assign(name, value.clone(), None);
            }
            value
        }
        "function_definition" => {
            if let Some(name) = node.child_by_field_name("name") {
                c.local_definition(name);
            }
            if let Some(params) = node.child_by_field_name("parameters") {
                parameters(c, params, d);
            }
            visit_field(c, node, "return_type", d);
            visit_field(c, node, "body", d);
            ScriptExpr::Other
        }
        "class_definition" => {
            if let Some(name) = node.child_by_field_name("name") {
                c.local_definition(name);
            }
            visit_field(c, node, "superclasses", d);
            visit_field(c, node, "body", d);
            ScriptExpr::Other
        }
        "lambda" => {
            if let Some(params) = node.child_by_field_name("parameters") {
                parameters(c, params, d);
            }
            visit_field(c, node, "body", d);
            ScriptExpr::Other
        }
        "binary_operator" | "boolean_operator" => {
            operands(c, node, d);
            ScriptExpr::Other
        }
        "for_statement" => {
            // Evaluation order: the iterable, then the loop variable, then the body.
            visit_field(c, node, "right", d);
            if let Some(left) = node.child_by_field_name("left") {
                targets(c, left, ScriptExpr::Other, None, d);
            }
            visit_field(c, node, "body", d);
            visit_field(c, node, "alternative", d);
            ScriptExpr::Other
        }
        "list_comprehension" | "set_comprehension" | "dictionary_comprehension" | "generator_expression" => {
            comprehension(c, node, d)
        }
        "with_item" => {
            with_item(c, node, d);
            ScriptExpr::Other
        }
        "except_clause" => {
            except_clause(c, node, d);
            ScriptExpr::Other
        }
        _ => generic(c, node, d),
    }
}

/// Any other node: its named children in order, reduced to `Other` (literals, operators,
/// subscripts, f-strings, statements, ERROR nodes).
fn generic(c: &mut Collector<'_>, node: Node<'_>, d: usize) -> ScriptExpr {
    for child in named_children(node) {
        visit(c, child, d);
    }
    ScriptExpr::Other
}

/// `a + b + c`: each operand in order, the chain walked without recursion.
fn operands(c: &mut Collector<'_>, node: Node<'_>, d: usize) {
    let spine = left_spine(node);
    if let Some(left) = spine.first().and_then(|n| n.child_by_field_name("left")) {
        visit(c, left, d);
    }
    for link in spine {
        visit_field(c, link, "right", d);
    }
}

fn visit_field(c: &mut Collector<'_>, node: Node<'_>, field: &str, d: usize) {
    if let Some(child) = node.child_by_field_name(field) {
        visit(c, child, d);
    }
}

fn attribute(c: &mut Collector<'_>, node: Node<'_>, d: usize, is_callee: bool) -> ScriptExpr {
    let object = node.child_by_field_name("object").map_or(ScriptExpr::Other, |o| visit(c, o, d));
    c.attribute(object, node.child_by_field_name("attribute"), is_callee)
}

fn call(c: &mut Collector<'_>, node: Node<'_>, d: usize) -> ScriptExpr {
    let function = node.child_by_field_name("function");
    let (callee, line) = match function {
        Some(f) if f.kind() == "attribute" => {
            // A chained call spanning lines is reported where its method name sits.
            let at = f.child_by_field_name("attribute").map_or(line(node), line);
            (attribute(c, f, d, true), at)
        }
        Some(f) => (visit(c, f, d), line(node)),
        None => (ScriptExpr::Other, line(node)),
    };
    let args = node.child_by_field_name("arguments").map(|a| arguments(c, a, d)).unwrap_or_default();
    c.call(ScriptExpr::call(callee, args), line)
}

fn arguments(c: &mut Collector<'_>, node: Node<'_>, d: usize) -> CallArgs {
    let mut args = CallArgs::default();
    if node.kind() == "generator_expression" {
        // `f(x for x in xs)`: the generator is the one positional argument.
        visit(c, node, d);
        args.positional = 1;
        return args;
    }
    for child in named_children(node) {
        match child.kind() {
            "list_splat" | "parenthesized_list_splat" => args.star_args = true,
            "dictionary_splat" => args.star_kwargs = true,
            "keyword_argument" => {
                if let Some(name) = child.child_by_field_name("name") {
                    args.keywords.push(c.text(name));
                }
                visit_field(c, child, "value", d);
                continue;
            }
            _ => args.positional += 1,
        }
        visit(c, child, d);
    }
    args
}

/// `a = b = value`, `x: T = value`, `x: T`: returns the value so chained assignments share it.
fn assignment(c: &mut Collector<'_>, node: Node<'_>, d: usize) -> ScriptExpr {
    let annotation = node.child_by_field_name("type").map(|t| {
        visit(c, t, d);
        c.text(t)
    });
    let value = node.child_by_field_name("right").map_or(ScriptExpr::Other, |r| visit(c, r, d));
    if let Some(left) = node.child_by_field_name("left") {
        targets(c, left, value.clone(), annotation, d);
    }
    value
}

/// Assigns `value` to what `node` names: a variable gets an `Assign`; each name in a tuple or
/// list target gets `Other`; attribute and subscript targets are no variables, but their
/// objects and indices are still read.
fn targets(c: &mut Collector<'_>, node: Node<'_>, value: ScriptExpr, annotation: Option<String>, depth: usize) {
    if depth > MAX_DEPTH {
        return;
    }
    let d = depth + 1;
    match node.kind() {
        "identifier" => c.assign(node, value, annotation),
        "parenthesized_expression" | "as_pattern_target" => {
            if let [inner] = named_children(node).as_slice() {
                targets(c, *inner, value, annotation, d);
            }
        }
        "pattern_list" | "tuple_pattern" | "list_pattern" | "tuple" | "list" | "expression_list"
        | "list_splat_pattern" | "list_splat" => {
            for child in named_children(node) {
                targets(c, child, ScriptExpr::Other, None, d);
            }
        }
        "attribute" => visit_field(c, node, "object", d),
        _ => {
            visit(c, node, d);
        }
    }
}

/// Parameters of a `def` or `lambda`: defaults and annotations are read, and each parameter is
/// assigned `Other` with its annotation, so it shadows an outer variable of the same name.
fn parameters(c: &mut Collector<'_>, node: Node<'_>, d: usize) {
    for param in named_children(node) {
        let (name, annotation) = match param.kind() {
            "identifier" => (Some(param), None),
            "list_splat_pattern" | "dictionary_splat_pattern" => (splat_name(param), None),
            "typed_parameter" => {
                let ty = param.child_by_field_name("type");
                let name = named_children(param).into_iter().find(|n| Some(*n) != ty);
                (name.and_then(splat_name), ty)
            }
            "default_parameter" | "typed_default_parameter" => {
                visit_field(c, param, "value", d);
                (param.child_by_field_name("name").and_then(splat_name), param.child_by_field_name("type"))
            }
            _ => (None, None),
        };
        let annotation = annotation.map(|t| {
            visit(c, t, d);
            c.text(t)
        });
        if let Some(name) = name {
            c.assign(name, ScriptExpr::Other, annotation);
        }
    }
}

/// The identifier of `x`, `*x` or `**x`.
fn splat_name(node: Node<'_>) -> Option<Node<'_>> {
    match node.kind() {
        "identifier" => Some(node),
        "list_splat_pattern" | "dictionary_splat_pattern" => {
            named_children(node).into_iter().find(|n| n.kind() == "identifier")
        }
        _ => None,
    }
}

/// `[body for x in xs if cond]`: the clauses first (they bind the names the body uses).
fn comprehension(c: &mut Collector<'_>, node: Node<'_>, d: usize) -> ScriptExpr {
    let body = node.child_by_field_name("body");
    for child in named_children(node) {
        if Some(child) == body {
            continue;
        }
        if child.kind() == "for_in_clause" {
            let mut cursor = child.walk();
            let rights: Vec<Node<'_>> = child.children_by_field_name("right", &mut cursor).collect();
            for right in rights {
                visit(c, right, d);
            }
            if let Some(left) = child.child_by_field_name("left") {
                targets(c, left, ScriptExpr::Other, None, d);
            }
        } else {
            visit(c, child, d);
        }
    }
    if let Some(body) = body {
        visit(c, body, d);
    }
    ScriptExpr::Other
}

/// `with value as target`: the target is assigned the value (the checker decides whether a
/// context manager's `__enter__` changes the type).
fn with_item(c: &mut Collector<'_>, node: Node<'_>, d: usize) {
    let Some(value) = node.child_by_field_name("value") else { return };
    if value.kind() != "as_pattern" {
        visit(c, value, d);
        return;
    }
    let alias = value.child_by_field_name("alias");
    let expr = named_children(value).into_iter().find(|n| Some(*n) != alias);
    let expr = expr.map_or(ScriptExpr::Other, |e| visit(c, e, d));
    if let Some(alias) = alias {
        targets(c, alias, expr, None, d);
    }
}

/// `except E as e`: `e` is an instance of `E`, recorded as its annotation.
fn except_clause(c: &mut Collector<'_>, node: Node<'_>, d: usize) {
    let alias = node.child_by_field_name("alias");
    let mut kind = None;
    for child in named_children(node) {
        if Some(child) == alias {
            continue;
        }
        if child.kind() == "as_pattern" {
            // Older grammar shape: `E as e` as one pattern.
            let inner_alias = child.child_by_field_name("alias");
            if let Some(e) = named_children(child).into_iter().find(|n| Some(*n) != inner_alias) {
                visit(c, e, d);
                kind = Some(c.text(e));
            }
            if let Some(a) = inner_alias {
                targets(c, a, ScriptExpr::Other, kind.take(), d);
            }
            continue;
        }
        if kind.is_none() && child.kind() != "block" {
            kind = Some(c.text(child));
        }
        visit(c, child, d);
    }
    if let Some(alias) = alias {
        targets(c, alias, ScriptExpr::Other, kind, d);
    }
}

fn import(c: &mut Collector<'_>, node: Node<'_>) {
    let mut cursor = node.walk();
    let names: Vec<Node<'_>> = node.children_by_field_name("name", &mut cursor).collect();
    for name in names {
        match name.kind() {
            "aliased_import" => {
                let module = name.child_by_field_name("name").map(|n| c.compact_text(n)).unwrap_or_default();
                let alias = name.child_by_field_name("alias").map(|a| c.text(a));
                c.import(module, Vec::new(), alias, node);
            }
            _ => c.import(c.compact_text(name), Vec::new(), None, node),
        }
    }
}

/// `from m import a, b as c`, `from .m import x`, `from m import *` (the name `*`).
fn import_from(c: &mut Collector<'_>, node: Node<'_>) {
    let module = node.child_by_field_name("module_name").map(|m| c.compact_text(m)).unwrap_or_default();
    let mut cursor = node.walk();
    let mut names: Vec<(String, Option<String>)> = node
        .children_by_field_name("name", &mut cursor)
        .map(|name| match name.kind() {
            "aliased_import" => (
                name.child_by_field_name("name").map(|n| c.compact_text(n)).unwrap_or_default(),
                name.child_by_field_name("alias").map(|a| c.text(a)),
            ),
            _ => (c.compact_text(name), None),
        })
        .collect();
    if named_children(node).iter().any(|n| n.kind() == "wildcard_import") {
        names.push(("*".to_owned(), None));
    }
    c.import(module, names, None, node);
}

#[cfg(test)]
mod tests {
    use super::super::analyze_script;
    use super::super::test_support::*;
    use crate::domain::code::Language;
    use crate::domain::script::{CallArgs, ScriptEvent, ScriptExpr};

    fn events(source: &str) -> Vec<ScriptEvent> {
        let script = analyze_script(Language::Python, source).expect("python is supported");
        assert_eq!(script.syntax_error_lines, Vec::<u32>::new(), "{source}");
        script.events
    }

    #[test]
    fn pydantic_ai_script_reads_imports_assignments_calls_and_reads_in_order() {
        let source = r#"import asyncio
import os.path as osp
from pydantic_ai import Agent, RunContext as Ctx
from .local import helper
from typing import *

agent = Agent('openai:gpt-4o', system_prompt="Be concise.")

async def main(prompt: str):
    result = await agent.run(prompt, deps=None)
    print(result.output)
    async with agent.run_stream(prompt) as stream:
        text = await stream.get_output()
    return text

asyncio.run(main("hi"))
"#;
        let agent_call = call(name("Agent"), 1, &["system_prompt"]);
        let run = call(attr(name("agent"), "run"), 1, &["deps"]);
        let run_stream = call(attr(name("agent"), "run_stream"), 1, &[]);
        let get_output = call(attr(name("stream"), "get_output"), 0, &[]);
        let main_call = call(name("main"), 1, &[]);
        assert_eq!(
            events(source),
            vec![
                import("asyncio", &[], None, 1),
                import("os.path", &[], Some("osp"), 2),
                import("pydantic_ai", &[("Agent", None), ("RunContext", Some("Ctx"))], None, 3),
                import(".local", &[("helper", None)], None, 4),
                import("typing", &[("*", None)], None, 5),
                call_at(agent_call.clone(), 7),
                assign("agent", agent_call, None, 7),
                def("main", 9),
                assign("prompt", ScriptExpr::Other, Some("str"), 9),
                call_at(run.clone(), 10),
                assign("result", run, None, 10),
                read(attr(name("result"), "output"), 11),
                call_at(call(name("print"), 1, &[]), 11),
                call_at(run_stream.clone(), 12),
                assign("stream", run_stream, None, 12),
                call_at(get_output.clone(), 13),
                assign("text", get_output, None, 13),
                call_at(main_call.clone(), 16),
                call_at(call(attr(name("asyncio"), "run"), 1, &[]), 16),
            ]
        );
    }

    #[test]
    fn chained_and_nested_calls_are_each_an_event_inner_first() {
        let list = call(attr(attr(name("client"), "models"), "list"), 0, &[]);
        assert_eq!(
            events("models = client.models.list().data\n"),
            vec![
                read(attr(name("client"), "models"), 1),
                call_at(list.clone(), 1),
                read(attr(list.clone(), "data"), 1),
                assign("models", attr(list, "data"), None, 1),
            ]
        );

        let inner = call(attr(name("c"), "d"), 0, &[]);
        let middle = call(attr(name("a"), "b"), 1, &[]);
        let outer = call(attr(middle.clone(), "e"), 0, &[]);
        assert_eq!(events("a.b(c.d()).e()\n"), vec![call_at(inner, 1), call_at(middle, 1), call_at(outer, 1)]);
    }

    #[test]
    fn a_call_spanning_lines_is_reported_at_its_method_name() {
        let source = "resp = (client.chat\n    .completions\n    .create(model='x'))\n";
        let create = call(attr(attr(attr(name("client"), "chat"), "completions"), "create"), 0, &["model"]);
        assert_eq!(
            events(source),
            vec![
                read(attr(name("client"), "chat"), 1),
                read(attr(attr(name("client"), "chat"), "completions"), 2),
                call_at(create.clone(), 3),
                assign("resp", create, None, 1),
            ]
        );
    }

    #[test]
    fn arguments_count_positional_keywords_and_spreads() {
        let args = |positional, keywords: &[&str], star_args, star_kwargs| CallArgs {
            positional,
            keywords: keywords.iter().map(|k| (*k).to_owned()).collect(),
            star_args,
            star_kwargs,
        };
        let source = "f(1, x, *xs, key=2, **kw, other=3)\ng(*a)\nh(**k)\ni(y for y in ys)\n";
        let calls: Vec<ScriptExpr> = events(source)
            .into_iter()
            .filter_map(|e| match e {
                ScriptEvent::Call { expr, .. } => Some(expr),
                ScriptEvent::Import(_)
                | ScriptEvent::Assign { .. }
                | ScriptEvent::AttributeRead { .. }
                | ScriptEvent::LocalDefinition { .. } => None,
            })
            .collect();
        assert_eq!(
            calls,
            vec![
                ScriptExpr::call(name("f"), args(2, &["key", "other"], true, true)),
                ScriptExpr::call(name("g"), args(0, &[], true, false)),
                ScriptExpr::call(name("h"), args(0, &[], false, true)),
                ScriptExpr::call(name("i"), args(1, &[], false, false)),
            ]
        );
    }

    #[test]
    fn decorators_local_definitions_and_annotated_parameters() {
        let source = r#"@app.get("/items", response_model=Item)
@functools.lru_cache
def handler(client: openai.OpenAI, *args, limit: int = 10, **kwargs) -> dict:
    return client.models.list()

class Model(BaseModel):
    name: str = Field(default="x")

    def method(self):
        self.total = helper(self.name)
"#;
        let list = call(attr(attr(name("client"), "models"), "list"), 0, &[]);
        let field = call(name("Field"), 0, &["default"]);
        assert_eq!(
            events(source),
            vec![
                call_at(call(attr(name("app"), "get"), 1, &["response_model"]), 1),
                read(attr(name("functools"), "lru_cache"), 2),
                def("handler", 3),
                read(attr(name("openai"), "OpenAI"), 3),
                assign("client", ScriptExpr::Other, Some("openai.OpenAI"), 3),
                assign("args", ScriptExpr::Other, None, 3),
                assign("limit", ScriptExpr::Other, Some("int"), 3),
                assign("kwargs", ScriptExpr::Other, None, 3),
                read(attr(name("client"), "models"), 4),
                call_at(list, 4),
                def("Model", 6),
                call_at(field.clone(), 7),
                assign("name", field, Some("str"), 7),
                def("method", 9),
                assign("self", ScriptExpr::Other, None, 9),
                read(attr(name("self"), "name"), 10),
                call_at(call(name("helper"), 1, &[]), 10),
            ]
        );
    }

    #[test]
    fn every_kind_of_assignment_binds_its_names() {
        let source = r#"a, (b, *c) = pair()
x: Config
total += 1
self.client.timeout = 5
with open(path) as fh, lock:
    pass
for item in items:
    pass
if (m := pattern.match(line)):
    pass
try:
    pass
except requests.HTTPError as err:
    pass
first = second = Client()
double = lambda v: v * 2
"#;
        let pair = call(name("pair"), 0, &[]);
        let open = call(name("open"), 1, &[]);
        let matched = call(attr(name("pattern"), "match"), 1, &[]);
        let client = call(name("Client"), 0, &[]);
        assert_eq!(
            events(source),
            vec![
                call_at(pair, 1),
                assign("a", ScriptExpr::Other, None, 1),
                assign("b", ScriptExpr::Other, None, 1),
                assign("c", ScriptExpr::Other, None, 1),
                assign("x", ScriptExpr::Other, Some("Config"), 2),
                assign("total", ScriptExpr::Other, None, 3),
                read(attr(name("self"), "client"), 4),
                call_at(open.clone(), 5),
                assign("fh", open, None, 5),
                assign("item", ScriptExpr::Other, None, 7),
                call_at(matched.clone(), 9),
                assign("m", matched, None, 9),
                read(attr(name("requests"), "HTTPError"), 13),
                assign("err", ScriptExpr::Other, Some("requests.HTTPError"), 13),
                call_at(client.clone(), 15),
                assign("second", client.clone(), None, 15),
                assign("first", client, None, 15),
                assign("v", ScriptExpr::Other, None, 16),
                assign("double", ScriptExpr::Other, None, 16),
            ]
        );
    }

    #[test]
    fn f_strings_comprehensions_subscripts_and_awaits_are_looked_into() {
        let source = r#"print(f"{resp.json()['x']} {user.name!r}")
names = [u.name for u in client.users.list() if u.active]
value = data[0].strip()
out = await (await session.get(url)).json()
"#;
        let users = call(attr(attr(name("client"), "users"), "list"), 0, &[]);
        let get = call(attr(name("session"), "get"), 1, &[]);
        let json = call(attr(get.clone(), "json"), 0, &[]);
        assert_eq!(
            events(source),
            vec![
                call_at(call(attr(name("resp"), "json"), 0, &[]), 1),
                read(attr(name("user"), "name"), 1),
                call_at(call(name("print"), 1, &[]), 1),
                read(attr(name("client"), "users"), 2),
                call_at(users, 2),
                assign("u", ScriptExpr::Other, None, 2),
                read(attr(name("u"), "active"), 2),
                read(attr(name("u"), "name"), 2),
                assign("names", ScriptExpr::Other, None, 2),
                call_at(call(attr(ScriptExpr::Other, "strip"), 0, &[]), 3),
                assign("value", call(attr(ScriptExpr::Other, "strip"), 0, &[]), None, 3),
                call_at(get, 4),
                call_at(json.clone(), 4),
                assign("out", json, None, 4),
            ]
        );
    }

    #[test]
    fn a_syntax_error_mid_file_is_reported_and_later_code_still_read() {
        let source =
            "import requests\ndef broken(:\n    pass\nresp = requests.post('v', json={})\nprint(resp.status_code)\n";
        let script = analyze_script(Language::Python, source).expect("python is supported");
        assert_eq!(script.syntax_error_lines, vec![2]);
        assert_eq!(script.line_count, 5);
        let post = call(attr(name("requests"), "post"), 1, &["json"]);
        let tail: Vec<ScriptEvent> =
            script.events.iter().skip_while(|e| **e != call_at(post.clone(), 4)).cloned().collect();
        assert_eq!(
            tail,
            vec![
                call_at(post.clone(), 4),
                assign("resp", post, None, 4),
                read(attr(name("resp"), "status_code"), 5),
                call_at(call(name("print"), 1, &[]), 5),
            ]
        );
    }

    #[test]
    fn pathological_nesting_neither_overflows_nor_panics() {
        let sources = [
            format!("x = {}y{}\n", "(".repeat(5000), ")".repeat(5000)),
            format!("x = a{}\n", ".b".repeat(5000)),
            format!("x = {}1{}\n", "f(".repeat(3000), ")".repeat(3000)),
            format!("x = a{}\n", ".b()".repeat(3000)),
            format!("x = {}\n", "[".repeat(5000)),
            format!("x = 1{}\n", " + y.z".repeat(5000)),
            format!("{}pass\n", (0..300).map(|i| format!("{}if a:\n", " ".repeat(i))).collect::<String>()),
            String::new(),
            "def f(:\n  )))\n\0\u{feff}é = 1 if else\n".to_owned(),
        ];
        let handle = std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(move || {
                for source in &sources {
                    let script = analyze_script(Language::Python, source).expect("python is supported");
                    assert_eq!(script.line_count as usize, source.lines().count());
                }
            })
            .expect("spawn");
        handle.join().expect("no stack overflow or panic");
    }

    #[test]
    fn a_long_script_is_analysed_quickly() {
        let block = "resp = client.chat.completions.create(model='gpt-4o', messages=[{'role': 'user', 'content': f'{x.y}'}])\nprint(resp.choices[0].message.content)\n";
        let source = block.repeat(150);
        let started = std::time::Instant::now();
        let script = analyze_script(Language::Python, &source).expect("python is supported");
        // Well under 20 ms when optimised; in debug builds tree-sitter's C parser itself (built at -O0)
        // takes most of the time, and the machine may be busy: the bound only catches blow-ups.
        assert!(started.elapsed() < std::time::Duration::from_millis(500), "{:?}", started.elapsed());
        assert_eq!(script.line_count, 300);
    }
}
