//! The `ApiKeys` port on the `api_keys` table, once for both SQL stores (see `sql_body`): a key is
//! one row holding the digest of its secret, found through the unique index on that digest.

use chrono::{DateTime, Utc};

use crate::ports::ApiKeyRecord;

#[derive(sqlx::FromRow)]
pub(crate) struct KeyRow {
    id: String,
    name: String,
    prefix: String,
    key_hash: String,
    scopes: String,
    created_at: DateTime<Utc>,
    last_used_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
}

impl From<KeyRow> for ApiKeyRecord {
    fn from(row: KeyRow) -> Self {
        Self {
            id: row.id,
            name: row.name,
            prefix: row.prefix,
            hash: row.key_hash,
            scopes: row.scopes,
            created_at: row.created_at,
            last_used_at: row.last_used_at,
            revoked_at: row.revoked_at,
        }
    }
}

/// `impl ApiKeys for $store` over its `pool` field, with `$sql` naming the module of SQL constants
/// (`CREATE`, `LIST`, `REVOKE`, `FIND`, `TOUCH`, `ACTIVE`) and `$classify` the store's error mapping.
macro_rules! impl_api_keys {
    ($store:ty, $sql:path, $classify:path) => {
        #[async_trait::async_trait]
        impl $crate::ports::ApiKeys for $store {
            async fn create_key(&self, key: &$crate::ports::ApiKeyRecord) -> Result<(), $crate::ports::StoreError> {
                use $sql as sql;
                sqlx::query(sql::CREATE)
                    .bind(&key.id)
                    .bind(&key.name)
                    .bind(&key.prefix)
                    .bind(&key.hash)
                    .bind(&key.scopes)
                    .execute(&self.pool)
                    .await
                    .map_err($classify)
                    .map(|_| ())
            }

            async fn list_keys(&self) -> Result<Vec<$crate::ports::ApiKeyRecord>, $crate::ports::StoreError> {
                use $sql as sql;
                let rows: Vec<$crate::adapters::sql_body::api_keys::KeyRow> =
                    sqlx::query_as(sql::LIST).fetch_all(&self.pool).await.map_err($classify)?;
                Ok(rows.into_iter().map(Into::into).collect())
            }

            async fn revoke_key(&self, id_or_prefix: &str) -> Result<Vec<String>, $crate::ports::StoreError> {
                use $sql as sql;
                let ids: Vec<(String,)> =
                    sqlx::query_as(sql::REVOKE).bind(id_or_prefix).fetch_all(&self.pool).await.map_err($classify)?;
                Ok(ids.into_iter().map(|(id,)| id).collect())
            }

            async fn find_key(
                &self,
                hash: &str,
            ) -> Result<Option<$crate::ports::ApiKeyRecord>, $crate::ports::StoreError> {
                use $sql as sql;
                let row: Option<$crate::adapters::sql_body::api_keys::KeyRow> =
                    sqlx::query_as(sql::FIND).bind(hash).fetch_optional(&self.pool).await.map_err($classify)?;
                Ok(row.map(Into::into))
            }

            async fn touch_key(&self, id: &str) -> Result<(), $crate::ports::StoreError> {
                use $sql as sql;
                sqlx::query(sql::TOUCH).bind(id).execute(&self.pool).await.map_err($classify).map(|_| ())
            }

            async fn any_active_key(&self) -> Result<bool, $crate::ports::StoreError> {
                use $sql as sql;
                let (count,): (i64,) = sqlx::query_as(sql::ACTIVE).fetch_one(&self.pool).await.map_err($classify)?;
                Ok(count > 0)
            }
        }
    };
}

pub(crate) use impl_api_keys;
