//! The API key port: [`ApiKeys`] stores keys by the SHA-256 digest of their secret (never the
//! secret), lists and revokes them, and finds one by digest for the HTTP transport's check.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreError;

/// One stored key (its secret is not kept; `prefix` is its first characters, for listings).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyRecord {
    pub id: String,
    pub name: String,
    pub prefix: String,
    /// Lowercase hex of the SHA-256 digest of the secret.
    pub hash: String,
    /// Comma-separated scopes, as stored (`read,crawl`).
    pub scopes: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

#[async_trait]
pub trait ApiKeys: Send + Sync + std::fmt::Debug {
    /// Store a new key (`created_at` is the store's clock; the other times are ignored).
    ///
    /// # Errors
    /// [`StoreError`] on database failure.
    async fn create_key(&self, key: &ApiKeyRecord) -> Result<(), StoreError>;
    /// Every key, newest first, revoked ones included.
    ///
    /// # Errors
    /// [`StoreError`] on database failure.
    async fn list_keys(&self) -> Result<Vec<ApiKeyRecord>, StoreError>;
    /// Revoke the key whose id is `id_or_prefix` or whose shown prefix is; answers the ids revoked
    /// (empty: none matched).
    ///
    /// # Errors
    /// [`StoreError`] on database failure.
    async fn revoke_key(&self, id_or_prefix: &str) -> Result<Vec<String>, StoreError>;
    /// The key with this digest (hex), revoked or not.
    ///
    /// # Errors
    /// [`StoreError`] on database failure.
    async fn find_key(&self, hash: &str) -> Result<Option<ApiKeyRecord>, StoreError>;
    /// Record that key `id` was just used (`last_used_at` = the store's clock).
    ///
    /// # Errors
    /// [`StoreError`] on database failure.
    async fn touch_key(&self, id: &str) -> Result<(), StoreError>;
    /// Whether any key that is not revoked exists.
    ///
    /// # Errors
    /// [`StoreError`] on database failure.
    async fn any_active_key(&self) -> Result<bool, StoreError>;
}
