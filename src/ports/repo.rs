//! The repository port, sketched for the code knowledge graph: check out a repository (a git URL,
//! `file://` URL or local path) at a ref into a temporary folder that is always removed.

use std::path::Path;

use async_trait::async_trait;

#[derive(Debug, thiserror::Error)]
pub enum RepoError {
    #[error("invalid repository '{0}'")]
    Invalid(String),
    #[error("repository {url} is larger than the cap: {reason}")]
    TooLarge { url: String, reason: String },
    #[error("could not fetch {url}: {reason}")]
    Unreachable { url: String, reason: String },
}

/// A checked-out repository; its folder is removed when this is dropped.
pub trait Checkout: Send + Sync + std::fmt::Debug {
    fn root(&self) -> &Path;
    /// The commit checked out (full hash).
    fn commit(&self) -> &str;
}

#[async_trait]
pub trait RepoSource: Send + Sync + std::fmt::Debug {
    /// Check out `url` at `reference` (default branch when `None`), within the size caps.
    ///
    /// # Errors
    /// A [`RepoError`] naming the repository and what went wrong.
    async fn checkout(&self, url: &str, reference: Option<&str>) -> Result<Box<dyn Checkout>, RepoError>;
}
