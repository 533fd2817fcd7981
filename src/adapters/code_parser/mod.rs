//! The `CodeParser` port on tree-sitter: one grammar per language (Python, JavaScript,
//! TypeScript/TSX, Rust, Go). `symbols` reads a source file's definitions and imports for the
//! code graph; `script` reads what a script uses for the hallucination checker. Both only
//! report syntax; resolution against the graph happens in the services.

mod script;
mod symbols;

use crate::domain::code::{Language, ParsedFile};
use crate::domain::script::Script;
use crate::ports::{CodeParser, ParseError};

/// Parses with tree-sitter; stateless (a parser per call: `tree_sitter::Parser` is not `Sync`).
#[derive(Debug, Clone, Copy, Default)]
pub struct TreeSitterParser;

impl CodeParser for TreeSitterParser {
    fn parse_file(&self, language: Language, source: &str) -> Result<ParsedFile, ParseError> {
        symbols::parse_file(language, source)
    }

    fn analyze_script(&self, language: Language, source: &str) -> Result<Script, ParseError> {
        script::analyze_script(language, source)
    }
}
