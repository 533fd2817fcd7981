//! JavaScript and TypeScript scripts (placeholder).

use tree_sitter::Node;

use super::Collector;

pub(super) fn walk(_c: &mut Collector<'_>, _root: Node<'_>) {}
