//! `crawlrag keys create|list|revoke`: API keys for the HTTP transport. A key's secret is printed
//! once, by `create`; only its SHA-256 digest is stored, and `list` shows the first characters.

use clap::Subcommand;
use serde_json::json;

use super::{out, out_json};
use crate::app::App;
use crate::domain::api_key::{Scope, make_key};
use crate::domain::webhook::hex;
use crate::error::Error;
use crate::ports::ApiKeyRecord;

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Make a key and print its secret (shown this once only).
    Create {
        /// What the key is for (shown in listings).
        #[arg(long)]
        name: String,
        /// Comma-separated: read (query tools), crawl (crawl, parse, check, jobs; implies read),
        /// admin (delete, /metrics; implies all).
        #[arg(long)]
        scopes: String,
        #[arg(long)]
        json: bool,
    },
    /// List keys (never their secrets).
    List {
        #[arg(long)]
        json: bool,
    },
    /// Revoke a key by id or shown prefix (effective within CRAWLRAG_AUTH_CACHE_SECS on servers).
    Revoke {
        key: String,
        #[arg(long)]
        json: bool,
    },
}

fn listed(key: &ApiKeyRecord) -> serde_json::Value {
    json!({
        "id": key.id,
        "name": key.name,
        "prefix": key.prefix,
        "scopes": key.scopes.split(',').collect::<Vec<_>>(),
        "created_at": key.created_at,
        "last_used_at": key.last_used_at,
        "revoked_at": key.revoked_at,
    })
}

/// Run one `keys` command.
///
/// # Errors
/// Bad scopes or an unknown/ambiguous key ([`Error::BadInput`], [`Error::NotFound`]), or a
/// store failure.
pub(super) async fn run(app: &App, command: KeysCommand) -> anyhow::Result<()> {
    let keys = app.api_keys();
    match command {
        KeysCommand::Create { name, scopes, json } => {
            let scopes = Scope::parse_list(&scopes).map_err(|e| Error::BadInput(e.to_string()))?;
            let (a, b) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
            let id = a.simple().to_string()[..12].to_owned();
            let mut random = [0u8; 24];
            random[..16].copy_from_slice(b.as_bytes());
            random[16..].copy_from_slice(&a.as_bytes()[8..]);
            let key = make_key(&id, &random);
            let record = ApiKeyRecord {
                id: key.id.clone(),
                name: name.clone(),
                prefix: key.prefix.clone(),
                hash: hex(&key.hash),
                scopes: Scope::join(&scopes),
                created_at: chrono::Utc::now(),
                last_used_at: None,
                revoked_at: None,
            };
            keys.create_key(&record).await?;
            if json {
                out_json(
                    &json!({"id": key.id, "name": name, "prefix": key.prefix, "scopes": record.scopes.split(',').collect::<Vec<_>>(), "key": key.secret}),
                );
            } else {
                out(&format!(
                    "created key {} ({name}, scopes {}); its secret, shown this once:\n{}\n",
                    key.id, record.scopes, key.secret
                ));
            }
        }
        KeysCommand::List { json } => {
            let all = keys.list_keys().await?;
            if json {
                out_json(&json!(all.iter().map(listed).collect::<Vec<_>>()));
            } else {
                out(&format!(
                    "{:<14} {:<10} {:<20} {:<18} {:<17} {:<17} state\n",
                    "id", "prefix", "name", "scopes", "created", "last used"
                ));
                for k in &all {
                    let state = if k.revoked_at.is_some() { "revoked" } else { "active" };
                    let used =
                        k.last_used_at.map_or_else(|| "never".to_owned(), |t| t.format("%Y-%m-%d %H:%M").to_string());
                    out(&format!(
                        "{:<14} {:<10} {:<20} {:<18} {:<17} {used:<17} {state}\n",
                        k.id,
                        k.prefix,
                        k.name,
                        k.scopes,
                        k.created_at.format("%Y-%m-%d %H:%M")
                    ));
                }
            }
        }
        KeysCommand::Revoke { key, json } => {
            let all = keys.list_keys().await?;
            let matching: Vec<&ApiKeyRecord> =
                all.iter().filter(|k| k.revoked_at.is_none() && (k.id == key || k.prefix == key)).collect();
            let id = match matching.as_slice() {
                [one] => one.id.clone(),
                [] => return Err(Error::NotFound(format!("no active key with id or prefix {key:?}")).into()),
                [..] => {
                    return Err(Error::BadInput(format!("{key:?} matches several keys: revoke by id instead")).into());
                }
            };
            let revoked = keys.revoke_key(&id).await?;
            if json {
                out_json(&json!({"success": true, "revoked": revoked}));
            } else {
                out(&format!("revoked key {id}\n"));
            }
        }
    }
    Ok(())
}
