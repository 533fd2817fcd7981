//! What a script uses, as the hallucination checker needs it: imports, assignments (to follow a
//! variable's type) and every call and attribute read, as small expression trees. A parser
//! adapter fills a [`Script`] from syntax alone; `code_check` resolves it against the code graph.

use serde::{Deserialize, Serialize};

use super::code::ParsedImport;

/// The arguments of one call, as far as parameter checks need them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallArgs {
    /// Arguments passed by position (`*xs` not counted).
    pub positional: usize,
    /// Names of arguments passed by keyword, in order.
    pub keywords: Vec<String>,
    /// A `*xs` / `...xs` spread was passed: the positional count is unknown.
    pub star_args: bool,
    /// A `**kw` was passed: the keyword set is unknown.
    pub star_kwargs: bool,
}

/// An expression, reduced to what decides its type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ScriptExpr {
    /// A bare name: `x`, `Agent`, `requests`.
    Name(String),
    /// `object.name` (`object::name` in Rust).
    Attribute { object: Box<ScriptExpr>, name: String },
    /// `callee(args)`; `new Foo(args)` is a call of `Foo`.
    Call { callee: Box<ScriptExpr>, args: CallArgs },
    /// Anything else (literals, subscripts, lambdas, operators): of unknown type.
    Other,
}

impl ScriptExpr {
    pub fn name(name: &str) -> Self {
        Self::Name(name.to_owned())
    }

    pub fn attr(object: Self, name: &str) -> Self {
        Self::Attribute { object: Box::new(object), name: name.to_owned() }
    }

    pub fn call(callee: Self, args: CallArgs) -> Self {
        Self::Call { callee: Box::new(callee), args }
    }

    /// `a.b.c` as a dotted name, when the expression is only names and attributes.
    pub fn dotted(&self) -> Option<String> {
        match self {
            Self::Name(n) => Some(n.clone()),
            Self::Attribute { object, name } => Some(format!("{}.{name}", object.dotted()?)),
            Self::Call { .. } | Self::Other => None,
        }
    }
}

/// One thing a script does, in source order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ScriptEvent {
    Import(ParsedImport),
    /// `target = value` (also `with value as target`, `for target in ...` with `Other`, a
    /// parameter `target: annotation`). Later assignments replace earlier ones.
    Assign {
        target: String,
        value: ScriptExpr,
        /// A declared type (`x: Foo = ...`, `def f(x: Foo)`, `let x: Foo`), as written.
        annotation: Option<String>,
        line: u32,
    },
    /// A call expression (`expr` is a `ScriptExpr::Call`). Nested and chained calls are each
    /// their own event, inner ones first.
    Call {
        expr: ScriptExpr,
        line: u32,
    },
    /// An attribute read that is not the callee of a call (`expr` is a `ScriptExpr::Attribute`).
    AttributeRead {
        expr: ScriptExpr,
        line: u32,
    },
    /// A function or class the script defines itself: calls to it are not checked.
    LocalDefinition {
        name: String,
        line: u32,
    },
}

/// What a script uses, in source order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Script {
    pub events: Vec<ScriptEvent>,
    /// Lines where the parser found syntax errors (the rest is still analysed).
    pub syntax_error_lines: Vec<u32>,
    pub line_count: u32,
}
