//! A source file's definitions and imports (placeholder until the parsers land).

use crate::domain::code::{Language, ParsedFile};
use crate::ports::ParseError;

pub(super) fn parse_file(language: Language, _source: &str) -> Result<ParsedFile, ParseError> {
    Err(ParseError::Unsupported(format!("parsing {}", language.as_str())))
}
