//! `ApiKeys` on PostgreSQL: the shared body (`adapters/sql_body/api_keys.rs`) with this dialect's SQL.

use super::{PgStore, classify};
use crate::adapters::sql_body::api_keys::impl_api_keys;

mod sql {
    // language=PostgreSQL
    pub(super) const CREATE: &str =
        "insert into api_keys (id, name, prefix, key_hash, scopes) values ($1, $2, $3, $4, $5)";
    // language=PostgreSQL
    pub(super) const LIST: &str = "select id, name, prefix, key_hash, scopes, created_at, last_used_at, revoked_at
         from api_keys order by created_at desc, id";
    // language=PostgreSQL
    pub(super) const REVOKE: &str = "update api_keys set revoked_at = now()
         where (id = $1 or prefix = $1) and revoked_at is null returning id";
    // language=PostgreSQL
    pub(super) const FIND: &str = "select id, name, prefix, key_hash, scopes, created_at, last_used_at, revoked_at
         from api_keys where key_hash = $1";
    // language=PostgreSQL
    pub(super) const TOUCH: &str = "update api_keys set last_used_at = now() where id = $1";
    // language=PostgreSQL
    pub(super) const ACTIVE: &str = "select count(*) from api_keys where revoked_at is null";
}

impl_api_keys!(PgStore, sql, classify);
