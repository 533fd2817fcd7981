//! The code graph on FalkorDB: the `CodeGraphStore` port on the FalkorDB graph that holds the
//! document graph, with the shared statements of `cypher/code/` and the rows and load of
//! `adapters::cypher::code` (schema in `cypher/README.md`); only the indexes are FalkorDB's own.
//!
//! FalkorDB runs each statement atomically but has no transaction across statements, so a
//! replace is not atomic. Rather than writing under a staging key and renaming (which would
//! rewrite every key, again in several statements), the repository's node is deleted first and
//! written last: in between, and after a write that failed midway, the repository is neither
//! listed nor loaded (readers see the old graph, then none, then the new one), and the next
//! replace or delete removes whatever a failed write left, by the nodes' `repo`. Users' Cypher
//! can see the half-written graph during that window. This process runs one graph write at a
//! time (the document graph's lock), so its own replaces never interleave.

use ::falkordb::FalkorValue;
use async_trait::async_trait;
use serde_json::Value;

use super::cypher::code::{self as q, Params};
use super::falkordb::{FalkorGraph, row_json};
use crate::domain::code::RepoGraph;
use crate::ports::{CodeGraphStore, GraphError, GraphRow, RepositorySummary};

/// The code graph's exact-match indexes, created at connect with the document graph's: node keys,
/// and `repo`, which every delete of a repository looks up.
pub(super) const INDEXES: [&str; 7] = [
    "CREATE INDEX FOR (r:CodeRepository) ON (r.key)",
    "CREATE INDEX FOR (f:CodeFile) ON (f.key)",
    "CREATE INDEX FOR (f:CodeFile) ON (f.repo)",
    "CREATE INDEX FOR (s:CodeSymbol) ON (s.key)",
    "CREATE INDEX FOR (s:CodeSymbol) ON (s.repo)",
    "CREATE INDEX FOR (x:CodeExternal) ON (x.key)",
    "CREATE INDEX FOR (x:CodeExternal) ON (x.repo)",
];

impl FalkorGraph {
    /// Delete every node of repository `key` (its own node first); answers how many went.
    async fn delete_code(&self, key: &str) -> Result<u64, GraphError> {
        let mut deleted = 0;
        for statement in q::DELETE {
            let rows = self.write(statement, vec![("repo", key.into())]).await?;
            deleted += rows.first().and_then(|row| row.get("deleted")).and_then(FalkorValue::to_i64).unwrap_or(0);
        }
        Ok(u64::try_from(deleted).unwrap_or(0))
    }

    /// Run one of the code graph's reads, its rows as JSON.
    async fn read_json(&self, statement: &'static str, params: q::Params) -> Result<Vec<GraphRow>, GraphError> {
        Ok(self.read(statement, falkor_params(params)).await?.into_iter().map(row_json).collect())
    }
}

#[async_trait]
impl CodeGraphStore for FalkorGraph {
    fn backend(&self) -> &'static str {
        "falkordb"
    }

    async fn replace_repository(&self, graph: &RepoGraph) -> Result<(), GraphError> {
        let _writing = self.writes.lock().await;
        self.delete_code(&graph.repository.key).await?;
        for step in q::replace_steps(graph) {
            self.write(step.statement, falkor_params(step.params)).await?;
        }
        Ok(())
    }

    async fn delete_repository(&self, key: &str) -> Result<bool, GraphError> {
        let _writing = self.writes.lock().await;
        Ok(self.delete_code(key).await? > 0)
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

fn falkor_params(params: Params) -> super::falkordb::Params {
    params.into_iter().map(|(name, value)| (name, falkor_value(value))).collect()
}

/// A JSON parameter as FalkorDB's (the crate encodes it as a Cypher literal).
fn falkor_value(value: Value) -> FalkorValue {
    match value {
        Value::Null => FalkorValue::None,
        Value::Bool(b) => FalkorValue::Bool(b),
        Value::Number(n) => n.as_i64().map_or_else(|| FalkorValue::F64(n.as_f64().unwrap_or(0.0)), FalkorValue::I64),
        Value::String(s) => FalkorValue::String(s),
        Value::Array(items) => FalkorValue::Array(items.into_iter().map(falkor_value).collect()),
        Value::Object(entries) => FalkorValue::Map(entries.into_iter().map(|(k, v)| (k, falkor_value(v))).collect()),
    }
}
