//! The code graph's ports: a parser that reads source files and scripts ([`CodeParser`]), and
//! the store of repositories' graphs ([`CodeGraphStore`]), implemented by every graph backend
//! (the embedded tables, FalkorDB, Bolt servers).
//!
//! A repository's graph is written and replaced as a unit ([`RepoGraph`]): re-parsing replaces
//! the repository's previous graph, and repositories never share nodes (every key starts with
//! the repository's key).

use async_trait::async_trait;

use super::graph::GraphError;
use crate::domain::code::{Language, ParsedFile, RepoCounts, RepoGraph, RepositoryInfo};
use crate::domain::script::Script;

#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    #[error("{0} is not supported here")]
    Unsupported(String),
    #[error("could not parse: {0}")]
    Failed(String),
}

/// Reads source code. Pure CPU work: callers run it on the blocking pool.
pub trait CodeParser: Send + Sync + std::fmt::Debug {
    /// The symbols and imports of one source file.
    ///
    /// # Errors
    /// [`ParseError`] when the language cannot be parsed at all (syntax errors are tolerated:
    /// what parses is read).
    fn parse_file(&self, language: Language, source: &str) -> Result<ParsedFile, ParseError>;

    /// What a script imports, calls and reads.
    ///
    /// # Errors
    /// [`ParseError::Unsupported`] for a language whose scripts cannot be analysed.
    fn analyze_script(&self, language: Language, source: &str) -> Result<Script, ParseError>;
}

/// A stored repository with its graph's sizes.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RepositorySummary {
    pub info: RepositoryInfo,
    pub counts: RepoCounts,
}

/// Where repositories' code graphs live.
#[async_trait]
pub trait CodeGraphStore: Send + Sync + std::fmt::Debug {
    /// Which backend answers (`embedded`, `falkordb`, `bolt`).
    fn backend(&self) -> &'static str;

    /// Replace everything stored for `graph.repository.key` with `graph`, atomically where the
    /// backend can (readers never see half a repository on the embedded backend).
    ///
    /// # Errors
    /// [`GraphError`] on database failure (the previous graph is then intact where the backend
    /// is transactional).
    async fn replace_repository(&self, graph: &RepoGraph) -> Result<(), GraphError>;

    /// Delete a repository's graph; `false` when there was none.
    ///
    /// # Errors
    /// [`GraphError`] on database failure.
    async fn delete_repository(&self, key: &str) -> Result<bool, GraphError>;

    /// Every stored repository, by key.
    ///
    /// # Errors
    /// [`GraphError`] on database failure.
    async fn repositories(&self) -> Result<Vec<RepositorySummary>, GraphError>;

    /// A repository's whole graph as it was written (files, symbols and edges in any order), or
    /// `None` when it is not stored.
    ///
    /// # Errors
    /// [`GraphError`] on database failure.
    async fn load_repository(&self, key: &str) -> Result<Option<RepoGraph>, GraphError>;
}
