//! JavaScript, TypeScript and TSX (the three grammars name their nodes alike): classes with
//! `extends`/`implements`, TS interfaces and enums, methods and fields with their visibility,
//! top-level functions (declarations, overload signatures, and `const f = () => ...`), and ES
//! imports, re-exports and top-level `require` calls.
//!
//! Only the top level is read (plus `declare` blocks and `export` wrappers): classes and
//! functions inside function bodies or namespaces are local. Type aliases are skipped.

use tree_sitter::Node;

use super::{MAX_DEPTH, compact, kids, line, squash, strip_generics, symbol, text};
use crate::domain::code::{
    MethodBinding, Param, ParamKind, ParsedFile, ParsedImport, ParsedSymbol, SymbolKind, Visibility,
};

pub(super) fn read(root: Node, src: &str, out: &mut ParsedFile) {
    Reader { src, out }.statements(root, 0);
}

struct Reader<'s, 'o> {
    src: &'s str,
    out: &'o mut ParsedFile,
}

impl Reader<'_, '_> {
    fn statements(&mut self, node: Node, depth: usize) {
        for child in kids(node) {
            self.statement(child, child, depth);
        }
    }

    /// One top-level statement; `outer` is the node whose lines a symbol spans (the `export`
    /// or `const` around a declaration).
    fn statement(&mut self, node: Node, outer: Node, depth: usize) {
        match node.kind() {
            "import_statement" => self.import(node),
            "export_statement" => self.export(node, depth),
            "class_declaration" | "abstract_class_declaration" | "class" => self.class(node, None),
            "interface_declaration" => self.interface(node),
            "enum_declaration" => {
                if let Some(name) = node.child_by_field_name("name") {
                    let name = text(name, self.src);
                    self.out.symbols.push(symbol(name, SymbolKind::Enum, None, Visibility::Public, outer));
                }
            }
            "function_declaration" | "generator_function_declaration" | "function_signature" => {
                if let Some(name) = node.child_by_field_name("name") {
                    let f = self.function(text(name, self.src), SymbolKind::Function, None, node, outer);
                    self.out.symbols.push(f);
                }
            }
            "lexical_declaration" | "variable_declaration" => {
                for declarator in kids(node).into_iter().filter(|n| n.kind() == "variable_declarator") {
                    self.declarator(declarator, outer);
                }
            }
            "ambient_declaration" | "ERROR" if depth < MAX_DEPTH => self.statements(node, depth + 1),
            _ => {}
        }
    }

    /// `export ...`: a re-export from another module, or a declaration.
    fn export(&mut self, node: Node, depth: usize) {
        if let Some(source) = node.child_by_field_name("source") {
            let mut import = ParsedImport {
                module: string(source, self.src),
                names: Vec::new(),
                alias: None,
                reexport: true,
                line: line(node),
            };
            match kids(node).into_iter().find(|n| matches!(n.kind(), "export_clause" | "namespace_export")) {
                Some(clause) if clause.kind() == "export_clause" => {
                    import.names = kids(clause)
                        .into_iter()
                        .filter(|n| n.kind() == "export_specifier")
                        .filter_map(|n| self.specifier(n))
                        .collect();
                }
                Some(ns) => import.alias = ns.named_child(0).map(|n| text(n, self.src).to_owned()),
                None => import.names.push(("*".to_owned(), None)),
            }
            self.out.imports.push(import);
            return;
        }
        let declaration = node.child_by_field_name("declaration").or_else(|| node.child_by_field_name("value"));
        if let Some(declaration) = declaration {
            self.statement(declaration, node, depth);
        }
    }

    /// `const f = () => ...`, `const f = function () {}`, `const A = class {}`, and
    /// `const x = require('m')` / `const { a, b: c } = require('m')`.
    fn declarator(&mut self, node: Node, outer: Node) {
        let (Some(name), Some(value)) = (node.child_by_field_name("name"), node.child_by_field_name("value")) else {
            return;
        };
        match value.kind() {
            "arrow_function" | "function_expression" | "function" | "generator_function"
                if name.kind() == "identifier" =>
            {
                let f = self.function(text(name, self.src), SymbolKind::Function, None, value, outer);
                self.out.symbols.push(f);
            }
            "class" => self.class(value, Some(text(name, self.src))),
            "call_expression" => self.require(name, value),
            _ => {}
        }
    }

    fn require(&mut self, name: Node, call: Node) {
        let callee = call.child_by_field_name("function").map(|f| text(f, self.src));
        let argument = call.child_by_field_name("arguments").and_then(|a| a.named_child(0));
        let (Some("require"), Some(argument)) = (callee, argument) else { return };
        if argument.kind() != "string" {
            return;
        }
        let mut import = ParsedImport {
            module: string(argument, self.src),
            names: Vec::new(),
            alias: None,
            reexport: false,
            line: line(call),
        };
        match name.kind() {
            "identifier" => import.alias = Some(text(name, self.src).to_owned()),
            "object_pattern" => {
                for field in kids(name) {
                    match field.kind() {
                        "shorthand_property_identifier_pattern" => {
                            import.names.push((text(field, self.src).to_owned(), None));
                        }
                        "pair_pattern" => {
                            let key = field.child_by_field_name("key").map(|k| text(k, self.src).to_owned());
                            let value = field.child_by_field_name("value").map(|v| text(v, self.src).to_owned());
                            if let Some(key) = key {
                                import.names.push((key, value));
                            }
                        }
                        _ => {}
                    }
                }
            }
            _ => {}
        }
        self.out.imports.push(import);
    }

    fn import(&mut self, node: Node) {
        let Some(source) = node.child_by_field_name("source") else {
            // TS `import x = require('m')`.
            if let Some(clause) = kids(node).into_iter().find(|n| n.kind() == "import_require_clause") {
                let alias = clause.named_child(0).map(|n| text(n, self.src).to_owned());
                if let Some(source) = clause.child_by_field_name("source") {
                    let module = string(source, self.src);
                    self.out.imports.push(ParsedImport {
                        module,
                        names: Vec::new(),
                        alias,
                        reexport: false,
                        line: line(node),
                    });
                }
            }
            return;
        };
        let mut import = ParsedImport {
            module: string(source, self.src),
            names: Vec::new(),
            alias: None,
            reexport: false,
            line: line(node),
        };
        if let Some(clause) = kids(node).into_iter().find(|n| n.kind() == "import_clause") {
            for part in kids(clause) {
                match part.kind() {
                    "identifier" => import.names.push(("default".to_owned(), Some(text(part, self.src).to_owned()))),
                    "named_imports" => import.names.extend(
                        kids(part)
                            .into_iter()
                            .filter(|n| n.kind() == "import_specifier")
                            .filter_map(|n| self.specifier(n)),
                    ),
                    "namespace_import" => import.alias = part.named_child(0).map(|n| text(n, self.src).to_owned()),
                    _ => {}
                }
            }
        }
        self.out.imports.push(import);
    }

    /// `a` or `a as b` in an import or export list.
    fn specifier(&self, node: Node) -> Option<(String, Option<String>)> {
        let name = text(node.child_by_field_name("name")?, self.src);
        let alias = node.child_by_field_name("alias").map(|a| text(a, self.src).to_owned());
        Some((unquote(name), alias.map(|a| unquote(&a))))
    }

    /// A class declaration or expression; `named` names an anonymous class expression by the
    /// variable it is assigned to.
    fn class(&mut self, node: Node, named: Option<&str>) {
        let Some(name) = node.child_by_field_name("name").map(|n| text(n, self.src)).or(named) else { return };
        let mut sym = symbol(name, SymbolKind::Class, None, Visibility::Public, node);
        for heritage in kids(node).into_iter().filter(|n| n.kind() == "class_heritage") {
            for clause in kids(heritage) {
                match clause.kind() {
                    // TypeScript: `extends A<T>` (type arguments are a sibling field).
                    "extends_clause" => {
                        let mut cursor = clause.walk();
                        for value in clause.children_by_field_name("value", &mut cursor) {
                            sym.bases.extend(self.type_name(value));
                        }
                    }
                    "implements_clause" => {
                        sym.implements.extend(kids(clause).into_iter().filter_map(|t| self.type_name(t)))
                    }
                    // JavaScript: the expression itself.
                    _ => sym.bases.extend(self.type_name(clause)),
                }
            }
        }
        self.out.symbols.push(sym);
        let path = name.to_owned();
        let Some(body) = node.child_by_field_name("body") else { return };
        for member in kids(body) {
            match member.kind() {
                "method_definition" | "method_signature" | "abstract_method_signature" => {
                    let Some(name) = member.child_by_field_name("name") else { continue };
                    let name = text(name, self.src);
                    let mut m = self.function(name, SymbolKind::Method, Some(&path), member, member);
                    m.visibility = self.visibility(member, name);
                    m.binding = binding(member);
                    self.out.symbols.push(m);
                    if name == "constructor" {
                        let properties = self.parameter_properties(member, &path);
                        self.out.symbols.extend(properties);
                    }
                }
                "public_field_definition" | "field_definition" => {
                    let name = member.child_by_field_name("name").or_else(|| member.child_by_field_name("property"));
                    let Some(name) = name.map(|n| text(n, self.src)) else { continue };
                    let mut field =
                        symbol(name, SymbolKind::Attribute, Some(&path), self.visibility(member, name), member);
                    field.type_name = annotation(member, "type", self.src);
                    self.out.symbols.push(field);
                }
                _ => {}
            }
        }
    }

    /// TS constructor parameter properties (`constructor(private a: number)`) are fields too.
    fn parameter_properties(&self, constructor: Node, class: &str) -> Vec<ParsedSymbol> {
        let Some(params) = constructor.child_by_field_name("parameters") else { return Vec::new() };
        kids(params)
            .into_iter()
            .filter(|p| kids(*p).iter().any(|m| m.kind() == "accessibility_modifier") || has_token(*p, "readonly"))
            .filter_map(|p| {
                let name = text(p.child_by_field_name("pattern")?, self.src);
                let mut field = symbol(name, SymbolKind::Attribute, Some(class), self.visibility(p, name), p);
                field.type_name = annotation(p, "type", self.src);
                Some(field)
            })
            .collect()
    }

    fn interface(&mut self, node: Node) {
        let Some(name) = node.child_by_field_name("name").map(|n| text(n, self.src)) else { return };
        let mut sym = symbol(name, SymbolKind::Interface, None, Visibility::Public, node);
        if let Some(extends) = kids(node).into_iter().find(|n| n.kind() == "extends_type_clause") {
            sym.bases = kids(extends).into_iter().filter_map(|t| self.type_name(t)).collect();
        }
        self.out.symbols.push(sym);
        let Some(body) = node.child_by_field_name("body") else { return };
        for member in kids(body) {
            let Some(member_name) = member.child_by_field_name("name").map(|n| text(n, self.src)) else { continue };
            match member.kind() {
                "method_signature" => {
                    let m = self.function(member_name, SymbolKind::Method, Some(name), member, member);
                    self.out.symbols.push(m);
                }
                "property_signature" => {
                    let mut field = symbol(member_name, SymbolKind::Attribute, Some(name), Visibility::Public, member);
                    field.type_name = annotation(member, "type", self.src);
                    self.out.symbols.push(field);
                }
                _ => {}
            }
        }
    }

    /// A function-like node's symbol: parameters, return type and `async`; `outer` gives its
    /// lines.
    fn function(&self, name: &str, kind: SymbolKind, parent: Option<&str>, node: Node, outer: Node) -> ParsedSymbol {
        let mut sym = symbol(name, kind, parent, Visibility::Public, outer);
        sym.is_async = has_token(node, "async");
        sym.return_type = annotation(node, "return_type", self.src);
        if let Some(params) = node.child_by_field_name("parameters") {
            sym.params = kids(params).into_iter().filter_map(|p| self.param(p)).collect();
        } else if let Some(param) = node.child_by_field_name("parameter") {
            // `x => ...`
            sym.params = self.param(param).into_iter().collect();
        }
        sym
    }

    fn param(&self, node: Node) -> Option<Param> {
        let (pattern, type_name, default) = match node.kind() {
            "required_parameter" | "optional_parameter" => {
                let default = node.child_by_field_name("value").map(|v| squash(text(v, self.src)));
                let default = match (default, node.kind()) {
                    (None, "optional_parameter") => Some("undefined".to_owned()),
                    (d, _) => d,
                };
                (node.child_by_field_name("pattern")?, annotation(node, "type", self.src), default)
            }
            "assignment_pattern" => {
                let default = node.child_by_field_name("right").map(|v| squash(text(v, self.src)));
                (node.child_by_field_name("left")?, None, default)
            }
            "identifier" | "rest_pattern" | "object_pattern" | "array_pattern" => (node, None, None),
            _ => return None,
        };
        let (name, kind) = match pattern.kind() {
            // TS's `this: Type` declares the receiver's type: not a parameter.
            "this" => return None,
            "rest_pattern" => (pattern.named_child(0).unwrap_or(pattern), ParamKind::VarPositional),
            _ => (pattern, ParamKind::PositionalOrKeyword),
        };
        Some(Param { name: squash(text(name, self.src)), kind, type_name, default })
    }

    /// `private`/`protected` modifiers and `#private` names.
    fn visibility(&self, node: Node, name: &str) -> Visibility {
        if name.starts_with('#') {
            return Visibility::Private;
        }
        match kids(node).into_iter().find(|n| n.kind() == "accessibility_modifier").map(|n| text(n, self.src)) {
            Some("private") => Visibility::Private,
            Some("protected") => Visibility::Protected,
            _ => Visibility::Public,
        }
    }

    /// A base or implemented type by name (`mod.Base`, `Base<T>` as `Base`); computed bases
    /// (`extends mixin(A)`) have none.
    fn type_name(&self, node: Node) -> Option<String> {
        match node.kind() {
            "identifier" | "type_identifier" | "member_expression" | "nested_type_identifier" => {
                Some(compact(text(node, self.src)))
            }
            "generic_type" => Some(strip_generics(text(node, self.src))),
            _ => None,
        }
    }
}

/// `static` methods bind statically; getters and setters read as properties.
fn binding(member: Node) -> MethodBinding {
    if has_token(member, "static") {
        MethodBinding::Static
    } else if has_token(member, "get") || has_token(member, "set") {
        MethodBinding::Property
    } else {
        MethodBinding::Instance
    }
}

/// Whether a node has the anonymous keyword child `token` (`static`, `async`, `get`).
fn has_token(node: Node, token: &str) -> bool {
    let mut cursor = node.walk();
    node.children(&mut cursor).any(|c| !c.is_named() && c.kind() == token)
}

/// A `type_annotation` field's type without its colon.
fn annotation(node: Node, field: &str, src: &str) -> Option<String> {
    let t = squash(text(node.child_by_field_name(field)?, src));
    let t = t.strip_prefix(':').map_or(t.as_str(), str::trim);
    (!t.is_empty()).then(|| t.to_owned())
}

/// A string literal's content.
fn string(node: Node, src: &str) -> String {
    unquote(text(node, src))
}

fn unquote(s: &str) -> String {
    let s = s.trim();
    let quoted = s.len() >= 2 && (s.starts_with(['\'', '"', '`'])) && s.ends_with(&s[..1]);
    if quoted { s[1..s.len() - 1].to_owned() } else { s.to_owned() }
}

#[cfg(test)]
mod tests {
    use super::super::parse_file;
    use super::super::test_support::{find, names, of_kind, params};
    use crate::domain::code::{Language, MethodBinding, ParsedFile, ParsedImport, SymbolKind, Visibility};

    fn parse(language: Language, src: &str) -> ParsedFile {
        parse_file(language, src).expect("parses")
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

    const SERVICE_TS: &str = r#"import axios from 'axios';
import { Injectable, Inject as In } from "@nestjs/common";
import * as path from 'path';
import './polyfills';
import type { Config } from './config';
export { Client, Options as ClientOptions } from './client';
export * from './types';
export * as utils from './utils';

export interface Named extends Base, Generic<T> {
  name: string;
  nick?: string;
  greet(other: Named): string;
}

export abstract class Service<T> extends BaseService<T> implements Named, Disposable {
  #secret = 1;
  private cache: Map<string, T>;
  protected retries?: number = 3;
  static instances = 0;
  name: string;

  constructor(private readonly http: HttpClient, public region = "eu") {
    super();
  }

  static create(): Service<unknown> {
    return null as any;
  }

  get size(): number {
    return 0;
  }

  async load(id?: string, ...rest: string[]): Promise<T[]> {
    return [];
  }

  find(id: number): T;
  find(id: string): T;
  find(id: any): T {
    return this.cache.get(id);
  }

  protected abstract dispose(): void;

  #tick({ now, late }: Clock, [first] = [], n = 1) {}
}

export enum Color { Red, Green }
type Alias = string;

export function parse(input: string): Ast;
export function parse(input: Buffer): Ast;
export function parse(input: any): Ast {
  return null;
}

export const handler = async (event: Event): Promise<void> => {};
const helper = function (a, b) {};
const single = x => x;
let counter = 0;
export default function main() {}
"#;

    #[test]
    fn typescript_types_and_inheritance() {
        let f = parse(Language::TypeScript, SERVICE_TS);
        let service = find(&f, None, "Service");
        assert_eq!(service.kind, SymbolKind::Class);
        assert_eq!(service.bases, ["BaseService"]);
        assert_eq!(service.implements, ["Named", "Disposable"]);
        assert_eq!((service.line, service.end_line), (16, 48));
        let named = find(&f, None, "Named");
        assert_eq!(named.kind, SymbolKind::Interface);
        assert_eq!(named.bases, ["Base", "Generic"]);
        assert_eq!(find(&f, Some("Named"), "greet").kind, SymbolKind::Method);
        assert_eq!(params(find(&f, Some("Named"), "greet")), ["other:Named"]);
        assert_eq!(find(&f, Some("Named"), "nick").type_name.as_deref(), Some("string"));
        assert_eq!(find(&f, None, "Color").kind, SymbolKind::Enum);
        assert!(f.symbols.iter().all(|s| s.name != "Alias" && s.name != "counter"));
    }

    #[test]
    fn typescript_members() {
        let f = parse(Language::TypeScript, SERVICE_TS);
        let m = |name| find(&f, Some("Service"), name);
        assert_eq!(m("#secret").visibility, Visibility::Private);
        assert_eq!(
            (m("cache").visibility, m("cache").type_name.as_deref()),
            (Visibility::Private, Some("Map<string, T>"))
        );
        assert_eq!(m("retries").visibility, Visibility::Protected);
        assert_eq!(m("name").visibility, Visibility::Public);
        assert_eq!(m("instances").kind, SymbolKind::Attribute);
        // Constructor parameter properties are fields.
        assert_eq!((m("http").kind, m("http").visibility), (SymbolKind::Attribute, Visibility::Private));
        assert_eq!(m("region").kind, SymbolKind::Attribute);
        assert_eq!(params(m("constructor")), ["http:HttpClient", "region:Any=\"eu\""]);
        assert_eq!(m("create").binding, MethodBinding::Static);
        assert_eq!(m("create").return_type.as_deref(), Some("Service<unknown>"));
        assert_eq!(m("size").binding, MethodBinding::Property);
        assert!(m("load").is_async);
        assert_eq!(params(m("load")), ["id:string=undefined", "[var_positional] *rest:string[]"]);
        assert_eq!(m("load").return_type.as_deref(), Some("Promise<T[]>"));
        assert_eq!(m("dispose").visibility, Visibility::Protected);
        assert_eq!(m("#tick").visibility, Visibility::Private);
        assert_eq!(params(m("#tick")), ["{ now, late }:Clock", "[first]:Any=[]", "n:Any=1"]);
        let finds: Vec<u32> = f.symbols.iter().filter(|s| s.name == "find").map(|s| s.line).collect();
        assert_eq!(finds, [39, 40, 41]);
    }

    #[test]
    fn typescript_functions_and_imports() {
        let f = parse(Language::TypeScript, SERVICE_TS);
        assert_eq!(
            of_kind(&f, SymbolKind::Function),
            ["parse", "parse", "parse", "handler", "helper", "single", "main"]
        );
        let handler = find(&f, None, "handler");
        assert!(handler.is_async);
        assert_eq!(params(handler), ["event:Event"]);
        assert_eq!(handler.return_type.as_deref(), Some("Promise<void>"));
        assert_eq!(params(find(&f, None, "single")), ["x:Any"]);
        assert_eq!(
            f.imports,
            [
                import("axios", &[("default", Some("axios"))], None, false, 1),
                import("@nestjs/common", &[("Injectable", None), ("Inject", Some("In"))], None, false, 2),
                import("path", &[], Some("path"), false, 3),
                import("./polyfills", &[], None, false, 4),
                import("./config", &[("Config", None)], None, false, 5),
                import("./client", &[("Client", None), ("Options", Some("ClientOptions"))], None, true, 6),
                import("./types", &[("*", None)], None, true, 7),
                import("./utils", &[], Some("utils"), true, 8),
            ]
        );
    }

    #[test]
    fn tsx_component_file() {
        let src = r#"import React, { useState } from "react";
import type { Props } from "./types";

export interface ButtonProps extends Props {
  label: string;
}

export const Button = ({ label, onClick }: ButtonProps): JSX.Element => {
  const [n, setN] = useState(0);
  return <button onClick={() => setN(n + 1)}>{label}</button>;
};

export default class Panel extends React.Component<ButtonProps> {
  render() {
    return <div className="panel">{this.props.label}</div>;
  }
}
"#;
        let f = parse(Language::TypeScript, src);
        assert_eq!(
            names(&f),
            [
                "ButtonProps:interface",
                "ButtonProps.label:attribute",
                "Button:function",
                "Panel:class",
                "Panel.render:method"
            ]
        );
        assert_eq!(find(&f, None, "Panel").bases, ["React.Component"]);
        assert_eq!(params(find(&f, None, "Button")), ["{ label, onClick }:ButtonProps"]);
        assert_eq!(f.imports[0], import("react", &[("default", Some("React")), ("useState", None)], None, false, 1));
    }

    #[test]
    fn javascript_classes_requires_and_default_imports() {
        let src = r#"const fs = require('fs');
const { join, resolve: res } = require("path");
import EventEmitter from 'events';

class Store extends mixins.Base {
  #items = [];
  static count = 0;
  constructor(name, opts = {}, ...plugins) {
    super();
  }
  static async *scan({ deep }) {}
  get size() { return this.#items.length; }
  #drop() {}
}

export default class extends Store {}
export async function load(path) {}
module.exports = { Store };
"#;
        let f = parse(Language::JavaScript, src);
        assert_eq!(
            names(&f),
            [
                "Store:class",
                "Store.#items:attribute",
                "Store.count:attribute",
                "Store.constructor:method",
                "Store.scan:method",
                "Store.size:method",
                "Store.#drop:method",
                "load:function",
            ]
        );
        assert_eq!(find(&f, None, "Store").bases, ["mixins.Base"]);
        let ctor = find(&f, Some("Store"), "constructor");
        assert_eq!(params(ctor), ["name:Any", "opts:Any={}", "[var_positional] *plugins:Any"]);
        let scan = find(&f, Some("Store"), "scan");
        assert_eq!((scan.binding, scan.is_async), (MethodBinding::Static, true));
        assert_eq!(params(scan), ["{ deep }:Any"]);
        assert_eq!(find(&f, Some("Store"), "size").binding, MethodBinding::Property);
        assert_eq!(find(&f, Some("Store"), "#drop").visibility, Visibility::Private);
        assert!(find(&f, None, "load").is_async);
        assert_eq!(
            f.imports,
            [
                import("fs", &[], Some("fs"), false, 1),
                import("path", &[("join", None), ("resolve", Some("res"))], None, false, 2),
                import("events", &[("default", Some("EventEmitter"))], None, false, 3),
            ]
        );
    }
}
