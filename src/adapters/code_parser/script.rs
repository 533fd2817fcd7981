//! What a script uses (placeholder until the analyser lands).

use crate::domain::code::Language;
use crate::domain::script::Script;
use crate::ports::ParseError;

pub(super) fn analyze_script(language: Language, _source: &str) -> Result<Script, ParseError> {
    Err(ParseError::Unsupported(format!("checking {} scripts", language.as_str())))
}
