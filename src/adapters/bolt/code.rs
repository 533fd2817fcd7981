//! The code graph on a Bolt server: the `CodeGraphStore` port with the shared statements of
//! `cypher/code/` and the rows and load of `adapters::cypher::code` (schema in
//! `cypher/README.md`); only the constraints and indexes are Bolt's own.
//!
//! A replace is one transaction (delete the repository's nodes, write the new graph), so readers
//! see the old graph or the new one and a failure leaves the old one; a transaction the server
//! aborts as a conflict is rolled back and run again, as a page write is (`write.rs`).

use async_trait::async_trait;
use neo4rs::{BoltBoolean, BoltFloat, BoltInteger, BoltMap, BoltString, BoltType, Txn};
use serde_json::Value;

use super::BoltGraph;
use super::errors::statement_error;
use super::values::{Params, column, count, list, null, row_json, text_param};
use super::write::{WRITE_ATTEMPTS, backoff, is_transient, write};
use crate::adapters::cypher::code as q;
use crate::domain::code::RepoGraph;
use crate::ports::{CodeGraphStore, GraphError, GraphRow, RepositorySummary};

/// Unique node keys and the `repo` lookups every delete of a repository makes, created at connect
/// with the document graph's (ArcadeDB's indexes cover the `Class`/`Method`/... subtypes too).
pub(super) const SCHEMA: [&str; 7] = [
    "CREATE CONSTRAINT crawlrag_code_repository_key IF NOT EXISTS FOR (r:CodeRepository) REQUIRE r.key IS UNIQUE",
    "CREATE CONSTRAINT crawlrag_code_file_key IF NOT EXISTS FOR (f:CodeFile) REQUIRE f.key IS UNIQUE",
    "CREATE CONSTRAINT crawlrag_code_symbol_key IF NOT EXISTS FOR (s:CodeSymbol) REQUIRE s.key IS UNIQUE",
    "CREATE CONSTRAINT crawlrag_code_external_key IF NOT EXISTS FOR (x:CodeExternal) REQUIRE x.key IS UNIQUE",
    "CREATE INDEX crawlrag_code_file_repo IF NOT EXISTS FOR (f:CodeFile) ON (f.repo)",
    "CREATE INDEX crawlrag_code_symbol_repo IF NOT EXISTS FOR (s:CodeSymbol) ON (s.repo)",
    "CREATE INDEX crawlrag_code_external_repo IF NOT EXISTS FOR (x:CodeExternal) ON (x.repo)",
];

/// One write of the code graph, run as one transaction.
#[derive(Debug, Clone, Copy)]
enum Change<'a> {
    Replace(&'a RepoGraph),
    Delete(&'a str),
}

impl BoltGraph {
    /// Run `change` in a write transaction, committed when it succeeds and rolled back when it
    /// fails; run again (up to [`WRITE_ATTEMPTS`]) when the server aborted it as a conflict.
    /// Answers how many nodes the delete removed.
    async fn code_transaction(&self, change: Change<'_>) -> Result<u64, GraphError> {
        let mut attempt = 1;
        loop {
            let mut txn = self.graph.start_txn().await.map_err(statement_error)?;
            let done = match change {
                Change::Replace(graph) => replace(&mut txn, graph).await,
                Change::Delete(key) => delete(&mut txn, key).await,
            };
            let result = match done {
                Ok(deleted) => txn.commit().await.map(|()| deleted).map_err(statement_error),
                Err(failed) => {
                    // If this fails too, the pool resets the connection before reusing it.
                    if let Err(e) = txn.rollback().await {
                        tracing::debug!(error = %e, "rollback after a failed code graph write");
                    }
                    Err(failed)
                }
            };
            match result {
                Err(GraphError::Query(message)) if attempt < WRITE_ATTEMPTS && is_transient(&message) => {
                    tracing::debug!(attempt, %message, "code graph write conflicted with another; running it again");
                    tokio::time::sleep(backoff(attempt)).await;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    /// Run one of the code graph's reads, its rows as JSON.
    async fn read_json(&self, statement: &'static str, params: q::Params) -> Result<Vec<GraphRow>, GraphError> {
        Ok(self.read(statement, bolt_params(params)).await?.iter().map(row_json).collect())
    }
}

/// Delete every node of repository `key` (its own node first); answers how many went.
async fn delete(txn: &mut Txn, key: &str) -> Result<u64, GraphError> {
    let mut deleted = 0;
    for statement in q::DELETE {
        let rows = write(txn, statement, vec![("repo", text_param(key))]).await?;
        deleted += rows.first().map_or(0, |row| count(&column(row, "deleted")));
    }
    Ok(deleted)
}

async fn replace(txn: &mut Txn, graph: &RepoGraph) -> Result<u64, GraphError> {
    let deleted = delete(txn, &graph.repository.key).await?;
    for step in q::replace_steps(graph) {
        write(txn, step.statement, bolt_params(step.params)).await?;
    }
    Ok(deleted)
}

#[async_trait]
impl CodeGraphStore for BoltGraph {
    fn backend(&self) -> &'static str {
        "bolt"
    }

    async fn replace_repository(&self, graph: &RepoGraph) -> Result<(), GraphError> {
        let _writing = self.writes.lock().await;
        self.code_transaction(Change::Replace(graph)).await.map(drop)
    }

    async fn delete_repository(&self, key: &str) -> Result<bool, GraphError> {
        let _writing = self.writes.lock().await;
        Ok(self.code_transaction(Change::Delete(key)).await? > 0)
    }

    async fn repositories(&self) -> Result<Vec<RepositorySummary>, GraphError> {
        self.read_json(q::REPOSITORIES, Vec::new())
            .await?
            .iter()
            .map(|row| q::repository_from(row).map(|(info, counts)| RepositorySummary { info, counts }))
            .collect()
    }

    async fn load_repository(&self, key: &str) -> Result<Option<RepoGraph>, GraphError> {
        q::load(key, |statement, params| self.read_json(statement, params)).await
    }
}

fn bolt_params(params: q::Params) -> Params {
    params.into_iter().map(|(name, value)| (name, bolt_value(value))).collect()
}

/// A JSON parameter as a Bolt value.
fn bolt_value(value: Value) -> BoltType {
    match value {
        Value::Null => null(),
        Value::Bool(b) => BoltType::Boolean(BoltBoolean::new(b)),
        Value::Number(n) => n.as_i64().map_or_else(
            || BoltType::Float(BoltFloat::new(n.as_f64().unwrap_or(0.0))),
            |n| BoltType::Integer(BoltInteger::new(n)),
        ),
        Value::String(s) => BoltType::String(BoltString::from(s)),
        Value::Array(items) => list(items.into_iter().map(bolt_value).collect()),
        Value::Object(entries) => {
            let mut map = BoltMap::with_capacity(entries.len());
            for (key, value) in entries {
                map.put(BoltString::from(key), bolt_value(value));
            }
            BoltType::Map(map)
        }
    }
}
