//! The embedded code graph: the `CodeGraphStore` port on the `code_*` tables of either SQL store,
//! once for both dialects (see `sql_body`). A repository is replaced in one transaction: its rows
//! are deleted and written again, files, symbols and edges each as a few statements whose rows
//! travel as one JSON array parameter, so readers see the old graph or the new one, never half.

use serde::de::DeserializeOwned;

use crate::domain::code::{CodeEdge, CodeFile, CodeSymbol, RepoCounts, RepositoryInfo};
use crate::ports::GraphError;

/// Rows per insert statement (one JSON parameter each; bounded so no statement gets huge).
pub(crate) const ROWS_PER_STATEMENT: usize = 2_000;

/// A file row: path, language, module, line count.
pub(crate) type FileRow = (String, String, String, i64);

/// A symbol row, in the column order of `code_symbols` after `repo`.
pub(crate) type SymbolRow = (
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    bool,
    i64,
    i64,
);

/// An edge row: kind, from, to, resolved, names (JSON).
pub(crate) type EdgeRow = (String, String, String, bool, String);

/// A repository row: key, name, url, commit, reference, parsed_at, root modules, counts, docs (JSON).
pub(crate) type RepositoryRow = (String, String, String, String, Option<String>, i64, String, String, String);

pub(crate) fn json_rows<T: serde::Serialize>(rows: &[T]) -> Result<String, GraphError> {
    serde_json::to_string(rows).map_err(|e| GraphError::Query(format!("could not encode code graph rows: {e}")))
}

/// A stored enum name (`class`, `python`, `INHERITS`) back as its type.
fn parse_name<T: DeserializeOwned>(what: &str, name: String) -> Result<T, GraphError> {
    serde_json::from_value(serde_json::Value::String(name.clone()))
        .map_err(|_| GraphError::Query(format!("unknown {what} '{name}' in the code graph")))
}

fn parse_json<T: DeserializeOwned>(what: &str, text: &str) -> Result<T, GraphError> {
    serde_json::from_str(text).map_err(|e| GraphError::Query(format!("malformed {what} in the code graph: {e}")))
}

fn to_u32(n: i64) -> u32 {
    u32::try_from(n).unwrap_or(0)
}

pub(crate) fn repository_from_row(
    (key, name, url, commit, reference, parsed_at, roots, counts, docs): RepositoryRow,
) -> Result<(RepositoryInfo, RepoCounts), GraphError> {
    let root_modules = parse_json("root modules", &roots)?;
    let counts = parse_json("repository counts", &counts)?;
    let docs = parse_json("document paths", &docs)?;
    Ok((RepositoryInfo { key, name, url, commit, reference, parsed_at, root_modules, docs }, counts))
}

pub(crate) fn file_from_row((path, language, module, line_count): FileRow) -> Result<CodeFile, GraphError> {
    Ok(CodeFile { path, language: parse_name("language", language)?, module, line_count: to_u32(line_count) })
}

pub(crate) fn symbol_from_row(row: SymbolRow) -> Result<CodeSymbol, GraphError> {
    let (
        key,
        file,
        name,
        qualified_name,
        kind,
        parent,
        visibility,
        binding,
        params,
        return_type,
        type_name,
        is_async,
        line,
        end_line,
    ) = row;
    Ok(CodeSymbol {
        key,
        file,
        name,
        qualified_name,
        kind: parse_name("symbol kind", kind)?,
        parent,
        visibility: parse_name("visibility", visibility)?,
        binding: parse_name("method binding", binding)?,
        params: parse_json("parameters", &params)?,
        return_type,
        type_name,
        is_async,
        line: to_u32(line),
        end_line: to_u32(end_line),
    })
}

pub(crate) fn edge_from_row((kind, from, to, resolved, names): EdgeRow) -> Result<CodeEdge, GraphError> {
    Ok(CodeEdge {
        kind: parse_name("edge kind", kind)?,
        from,
        to,
        resolved,
        names: parse_json("imported names", &names)?,
    })
}

/// `impl CodeGraphStore for $store` on its `code_*` tables. `$sql` holds the statements; the
/// store has `pool`.
macro_rules! impl_embedded_code_graph {
    ($store:ty, $sql:path, $classify:path) => {
        #[async_trait::async_trait]
        impl $crate::ports::CodeGraphStore for $store {
            fn backend(&self) -> &'static str {
                "embedded"
            }

            async fn replace_repository(
                &self,
                graph: &$crate::domain::code::RepoGraph,
            ) -> Result<(), $crate::ports::GraphError> {
                use $crate::adapters::sql_body::code_graph::{ROWS_PER_STATEMENT, json_rows};
                use $crate::adapters::sql_body::graph::graph_error;
                use $sql as sql;
                let err = |e| graph_error($classify(e));
                let repo = &graph.repository;
                let roots = json_rows(&repo.root_modules)?;
                let counts = serde_json::to_string(&graph.counts()).unwrap_or_else(|_| "{}".into());
                let mut tx = self.pool.begin().await.map_err(err)?;
                for statement in sql::DELETE_REPOSITORY {
                    sqlx::query(statement).bind(&repo.key).execute(&mut *tx).await.map_err(err)?;
                }
                sqlx::query(sql::INSERT_REPOSITORY)
                    .bind(&repo.key)
                    .bind(&repo.name)
                    .bind(&repo.url)
                    .bind(&repo.commit)
                    .bind(repo.reference.as_deref())
                    .bind(repo.parsed_at)
                    .bind(roots)
                    .bind(counts)
                    .bind(json_rows(&repo.docs)?)
                    .execute(&mut *tx)
                    .await
                    .map_err(err)?;
                for rows in graph.files.chunks(ROWS_PER_STATEMENT) {
                    sqlx::query(sql::INSERT_FILES)
                        .bind(&repo.key)
                        .bind(json_rows(rows)?)
                        .execute(&mut *tx)
                        .await
                        .map_err(err)?;
                }
                for rows in graph.symbols.chunks(ROWS_PER_STATEMENT) {
                    sqlx::query(sql::INSERT_SYMBOLS)
                        .bind(&repo.key)
                        .bind(json_rows(rows)?)
                        .execute(&mut *tx)
                        .await
                        .map_err(err)?;
                }
                for rows in graph.edges.chunks(ROWS_PER_STATEMENT) {
                    sqlx::query(sql::INSERT_EDGES)
                        .bind(&repo.key)
                        .bind(json_rows(rows)?)
                        .execute(&mut *tx)
                        .await
                        .map_err(err)?;
                }
                tx.commit().await.map_err(err)
            }

            async fn delete_repository(&self, key: &str) -> Result<bool, $crate::ports::GraphError> {
                use $crate::adapters::sql_body::graph::graph_error;
                use $sql as sql;
                let err = |e| graph_error($classify(e));
                let mut tx = self.pool.begin().await.map_err(err)?;
                let mut existed = false;
                for statement in sql::DELETE_REPOSITORY {
                    let done = sqlx::query(statement).bind(key).execute(&mut *tx).await.map_err(err)?;
                    existed |= done.rows_affected() > 0;
                }
                tx.commit().await.map_err(err)?;
                Ok(existed)
            }

            async fn repositories(&self) -> Result<Vec<$crate::ports::RepositorySummary>, $crate::ports::GraphError> {
                use $crate::adapters::sql_body::code_graph::{RepositoryRow, repository_from_row};
                use $crate::adapters::sql_body::graph::graph_error;
                use $sql as sql;
                let rows: Vec<RepositoryRow> = sqlx::query_as(sql::REPOSITORIES)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(|e| graph_error($classify(e)))?;
                rows.into_iter()
                    .map(|row| {
                        repository_from_row(row).map(|(info, counts)| $crate::ports::RepositorySummary { info, counts })
                    })
                    .collect()
            }

            async fn load_repository(
                &self,
                key: &str,
            ) -> Result<Option<$crate::domain::code::RepoGraph>, $crate::ports::GraphError> {
                use $crate::adapters::sql_body::code_graph::{
                    EdgeRow, FileRow, RepositoryRow, SymbolRow, edge_from_row, file_from_row, repository_from_row,
                    symbol_from_row,
                };
                use $crate::adapters::sql_body::graph::graph_error;
                use $sql as sql;
                let err = |e| graph_error($classify(e));
                // One read transaction: a concurrent re-parse is seen whole or not at all.
                let mut tx = self.pool.begin().await.map_err(err)?;
                let Some(row): Option<RepositoryRow> =
                    sqlx::query_as(sql::REPOSITORY).bind(key).fetch_optional(&mut *tx).await.map_err(err)?
                else {
                    return Ok(None);
                };
                let (repository, _) = repository_from_row(row)?;
                let files: Vec<FileRow> =
                    sqlx::query_as(sql::FILES).bind(key).fetch_all(&mut *tx).await.map_err(err)?;
                let symbols: Vec<SymbolRow> =
                    sqlx::query_as(sql::SYMBOLS).bind(key).fetch_all(&mut *tx).await.map_err(err)?;
                let edges: Vec<EdgeRow> =
                    sqlx::query_as(sql::EDGES).bind(key).fetch_all(&mut *tx).await.map_err(err)?;
                tx.commit().await.map_err(err)?;
                Ok(Some($crate::domain::code::RepoGraph {
                    repository,
                    files: files.into_iter().map(file_from_row).collect::<Result<_, _>>()?,
                    symbols: symbols.into_iter().map(symbol_from_row).collect::<Result<_, _>>()?,
                    edges: edges.into_iter().map(edge_from_row).collect::<Result<_, _>>()?,
                }))
            }
        }
    };
}

pub(crate) use impl_embedded_code_graph;
