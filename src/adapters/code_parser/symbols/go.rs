//! Go: struct types with their fields (embedded types are bases), interface types with their
//! method sets (embedded interfaces are bases), functions, methods under their receiver's type,
//! and import specs. Other `type` declarations (named basic types, aliases) are skipped.
//!
//! Unnamed parameters and results (`func(int) error`) are listed with the name `_`.

use tree_sitter::Node;

use super::{MAX_DEPTH, field_text, kids, line, squash, strip_generics, symbol, text};
use crate::domain::code::{Param, ParamKind, ParsedFile, ParsedImport, ParsedSymbol, SymbolKind, Visibility};

pub(super) fn read(root: Node, src: &str, out: &mut ParsedFile) {
    Reader { src, out }.declarations(root, 0);
}

/// Exported names start with a capital letter.
fn visibility(name: &str) -> Visibility {
    if name.chars().next().is_some_and(char::is_uppercase) { Visibility::Public } else { Visibility::Private }
}

struct Reader<'s, 'o> {
    src: &'s str,
    out: &'o mut ParsedFile,
}

impl Reader<'_, '_> {
    fn declarations(&mut self, node: Node, depth: usize) {
        for decl in kids(node) {
            match decl.kind() {
                "import_declaration" => self.imports(decl),
                "type_declaration" => {
                    let specs: Vec<Node> = kids(decl).into_iter().filter(|s| s.kind() == "type_spec").collect();
                    // A lone `type X struct {...}` spans its `type` keyword; grouped specs their own lines.
                    let lone = specs.len() == 1;
                    for spec in specs {
                        self.type_spec(spec, if lone { decl } else { spec });
                    }
                }
                "function_declaration" => {
                    if let Some(f) = self.function(decl, None) {
                        self.out.symbols.push(f);
                    }
                }
                "method_declaration" => {
                    let receiver = decl.child_by_field_name("receiver").and_then(|r| self.receiver_type(r));
                    if let Some(m) = receiver.and_then(|r| self.function(decl, Some(&r))) {
                        self.out.symbols.push(m);
                    }
                }
                "ERROR" if depth < MAX_DEPTH => self.declarations(decl, depth + 1),
                _ => {}
            }
        }
    }

    fn imports(&mut self, decl: Node) {
        let specs = kids(decl).into_iter().flat_map(|n| if n.kind() == "import_spec_list" { kids(n) } else { vec![n] });
        for spec in specs.filter(|s| s.kind() == "import_spec") {
            let Some(path) = spec.child_by_field_name("path") else { continue };
            let module = text(path, self.src).trim_matches(['"', '`']).to_owned();
            let alias = spec.child_by_field_name("name").map(|n| text(n, self.src).to_owned());
            self.out.imports.push(ParsedImport { module, names: Vec::new(), alias, reexport: false, line: line(spec) });
        }
    }

    fn type_spec(&mut self, spec: Node, lines: Node) {
        let (Some(name), Some(body)) = (spec.child_by_field_name("name"), spec.child_by_field_name("type")) else {
            return;
        };
        let name = text(name, self.src);
        let kind = match body.kind() {
            "struct_type" => SymbolKind::Struct,
            "interface_type" => SymbolKind::Interface,
            _ => return,
        };
        let at = self.out.symbols.len();
        self.out.symbols.push(symbol(name, kind, None, visibility(name), lines));
        let mut bases = Vec::new();
        if kind == SymbolKind::Struct {
            let fields = kids(body).into_iter().filter(|n| n.kind() == "field_declaration_list").flat_map(kids);
            for field in fields.filter(|f| f.kind() == "field_declaration") {
                let type_name = field_text(field, "type", self.src);
                let mut cursor = field.walk();
                let names: Vec<Node> = field.children_by_field_name("name", &mut cursor).collect();
                if names.is_empty() {
                    // Embedded: `*Base`, `pkg.Mixin`, `Generic[T]`.
                    bases.extend(type_name.map(|t| strip_generics(t.trim_start_matches('*'))));
                    continue;
                }
                for field_name in names {
                    let field_name = text(field_name, self.src);
                    let mut attr = symbol(field_name, SymbolKind::Attribute, Some(name), visibility(field_name), field);
                    attr.type_name.clone_from(&type_name);
                    self.out.symbols.push(attr);
                }
            }
        } else {
            for member in kids(body) {
                match member.kind() {
                    "method_elem" => {
                        if let Some(m) = self.function(member, Some(name)) {
                            self.out.symbols.push(m);
                        }
                    }
                    // An embedded interface; a type set (`~int | ~string`) is a constraint.
                    "type_elem" => {
                        if let [t] = kids(member).as_slice()
                            && matches!(t.kind(), "type_identifier" | "qualified_type" | "generic_type")
                        {
                            bases.push(strip_generics(text(*t, self.src)));
                        }
                    }
                    _ => {}
                }
            }
        }
        if let Some(sym) = self.out.symbols.get_mut(at) {
            sym.bases = bases;
        }
    }

    /// The receiver's type name: `(s *Server[T])` is `Server`.
    fn receiver_type(&self, receiver: Node) -> Option<String> {
        let decl = kids(receiver).into_iter().find(|n| n.kind() == "parameter_declaration")?;
        let mut t = decl.child_by_field_name("type")?;
        loop {
            match t.kind() {
                "pointer_type" | "parenthesized_type" => t = t.named_child(0)?,
                "generic_type" => t = t.child_by_field_name("type")?,
                "type_identifier" => return Some(text(t, self.src).to_owned()),
                _ => return None,
            }
        }
    }

    /// A function, method or interface method: `a, b int` are two parameters of type `int`,
    /// `...T` is variadic, results are the text as written (`error`, `(int, error)`).
    fn function(&self, node: Node, parent: Option<&str>) -> Option<ParsedSymbol> {
        let name = text(node.child_by_field_name("name")?, self.src);
        let kind = if parent.is_some() { SymbolKind::Method } else { SymbolKind::Function };
        let mut sym = symbol(name, kind, parent, visibility(name), node);
        sym.return_type = field_text(node, "result", self.src);
        let Some(params) = node.child_by_field_name("parameters") else { return Some(sym) };
        for decl in kids(params) {
            let kind = match decl.kind() {
                "parameter_declaration" => ParamKind::PositionalOrKeyword,
                "variadic_parameter_declaration" => ParamKind::VarPositional,
                _ => continue,
            };
            let type_name = field_text(decl, "type", self.src);
            let mut cursor = decl.walk();
            let names: Vec<String> =
                decl.children_by_field_name("name", &mut cursor).map(|n| squash(text(n, self.src))).collect();
            let names = if names.is_empty() { vec!["_".to_owned()] } else { names };
            for name in names {
                sym.params.push(Param { name, kind, type_name: type_name.clone(), default: None });
            }
        }
        Some(sym)
    }
}

#[cfg(test)]
mod tests {
    use super::super::parse_file;
    use super::super::test_support::{find, names, params};
    use crate::domain::code::{Language, MethodBinding, ParsedFile, ParsedImport, SymbolKind, Visibility};

    fn parse(src: &str) -> ParsedFile {
        parse_file(Language::Go, src).expect("parses")
    }

    fn import(module: &str, alias: Option<&str>, line: u32) -> ParsedImport {
        ParsedImport { module: module.into(), names: vec![], alias: alias.map(str::to_owned), reexport: false, line }
    }

    const SERVER: &str = r#"package server

import "fmt"
import (
	ctx "context"
	_ "embed"
	. "strings"
	"github.com/acme/kit/log"
)

// Server serves.
type Server struct {
	*Base
	log.Logger
	Generic[T]
	Name, Addr string `json:"name"`
	port       int
}

type Handler interface {
	io.Reader
	Serve(c ctx.Context, req *Request) (resp *Response, err error)
	close()
}

type Number interface {
	~int | ~float64
}

type ID int

type (
	Empty struct{}
	Alias = Server
)

func (s *Server) Start(a, b int, opts ...Option) error {
	return nil
}

func (Server) reset() {}

func (l *List[T]) Push(v T) {}

func New[T any](name string) (*Server, error) {
	return nil, nil
}

func helper(int, string) {}
"#;

    #[test]
    fn structs_interfaces_and_embedding() {
        let f = parse(SERVER);
        let server = find(&f, None, "Server");
        assert_eq!(server.kind, SymbolKind::Struct);
        assert_eq!(server.bases, ["Base", "log.Logger", "Generic"]);
        assert_eq!((server.line, server.end_line), (12, 18));
        let field = |name| find(&f, Some("Server"), name);
        assert_eq!(
            (field("Name").type_name.as_deref(), field("Name").visibility),
            (Some("string"), Visibility::Public)
        );
        assert_eq!(field("Addr").type_name.as_deref(), Some("string"));
        assert_eq!((field("port").type_name.as_deref(), field("port").visibility), (Some("int"), Visibility::Private));
        let handler = find(&f, None, "Handler");
        assert_eq!((handler.kind, handler.bases.clone()), (SymbolKind::Interface, vec!["io.Reader".to_owned()]));
        let serve = find(&f, Some("Handler"), "Serve");
        assert_eq!(params(serve), ["c:ctx.Context", "req:*Request"]);
        assert_eq!(serve.return_type.as_deref(), Some("(resp *Response, err error)"));
        assert_eq!(find(&f, Some("Handler"), "close").visibility, Visibility::Private);
        assert!(find(&f, None, "Number").bases.is_empty());
        assert_eq!((find(&f, None, "Empty").line, find(&f, None, "Empty").kind), (32, SymbolKind::Struct));
        assert!(f.symbols.iter().all(|s| s.name != "ID" && s.name != "Alias"));
    }

    #[test]
    fn functions_methods_and_imports() {
        let f = parse(SERVER);
        let start = find(&f, Some("Server"), "Start");
        assert_eq!((start.kind, start.binding), (SymbolKind::Method, MethodBinding::Instance));
        assert_eq!(params(start), ["a:int", "b:int", "[var_positional] *opts:Option"]);
        assert_eq!(start.return_type.as_deref(), Some("error"));
        assert_eq!((start.line, start.end_line), (37, 39));
        assert_eq!(find(&f, Some("Server"), "reset").visibility, Visibility::Private);
        assert_eq!(find(&f, Some("List"), "Push").kind, SymbolKind::Method);
        let new = find(&f, None, "New");
        assert_eq!((new.kind, new.return_type.as_deref()), (SymbolKind::Function, Some("(*Server, error)")));
        assert_eq!(params(find(&f, None, "helper")), ["_:int", "_:string"]);
        assert_eq!(
            f.imports,
            [
                import("fmt", None, 3),
                import("context", Some("ctx"), 5),
                import("embed", Some("_"), 6),
                import("strings", Some("."), 7),
                import("github.com/acme/kit/log", None, 8),
            ]
        );
        assert_eq!(names(&f).len(), 14);
    }
}
