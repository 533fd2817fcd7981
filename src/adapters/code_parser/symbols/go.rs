//! Placeholder.

use tree_sitter::Node;

use crate::domain::code::ParsedFile;

pub(super) fn read(_root: Node, _src: &str, _out: &mut ParsedFile) {}
