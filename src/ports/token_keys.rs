//! The token key port: [`TokenKeys`] answers the public key an OAuth issuer signs access tokens
//! with (its JWKS), by `kid`, for the HTTP transport's bearer check.

use async_trait::async_trait;

use crate::domain::oauth::PublicJwk;

#[derive(Debug, Clone, thiserror::Error)]
pub enum TokenKeysError {
    /// The key set could not be fetched and none is cached.
    #[error("the issuer's key set is unavailable: {0}")]
    Unavailable(String),
}

#[async_trait]
pub trait TokenKeys: Send + Sync + std::fmt::Debug {
    /// The key for `kid` fitting `alg` (without `kid`: the only key fitting `alg`), or `None`.
    /// An unknown `kid` may refetch the set, at most at a bounded rate.
    ///
    /// # Errors
    /// [`TokenKeysError::Unavailable`] when no key set was ever fetched.
    async fn key(&self, kid: Option<&str>, alg: &str) -> Result<Option<PublicJwk>, TokenKeysError>;
}
