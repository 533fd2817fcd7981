//! SQLite SQL for the embedded code graph body (`adapters/sql_body/code_graph.rs`).

use super::{SqliteStore, classify};
use crate::adapters::sql_body::code_graph::impl_embedded_code_graph;

mod sql {
    /// Everything of one repository, children first.
    pub(super) const DELETE_REPOSITORY: [&str; 4] = [
        // language=SQLite
        "delete from code_edges where repo = ?1",
        // language=SQLite
        "delete from code_symbols where repo = ?1",
        // language=SQLite
        "delete from code_files where repo = ?1",
        // language=SQLite
        "delete from code_repositories where key = ?1",
    ];
    // language=SQLite
    pub(super) const INSERT_REPOSITORY: &str = "insert into code_repositories
         (key, name, url, commit_sha, reference, parsed_at, root_modules, counts, docs)
         values (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";
    // language=SQLite
    pub(super) const INSERT_FILES: &str = "insert into code_files (repo, path, language, module, line_count)
         select ?1, json_extract(e.value, '$.path'), json_extract(e.value, '$.language'),
                json_extract(e.value, '$.module'), json_extract(e.value, '$.line_count')
         from json_each(?2) as e";
    // language=SQLite
    pub(super) const INSERT_SYMBOLS: &str = "insert into code_symbols
         (key, repo, file, name, qualified_name, kind, parent, visibility, binding, params, return_type, type_name,
          is_async, line, end_line)
         select json_extract(e.value, '$.key'), ?1, json_extract(e.value, '$.file'), json_extract(e.value, '$.name'),
                json_extract(e.value, '$.qualified_name'), json_extract(e.value, '$.kind'),
                json_extract(e.value, '$.parent'), json_extract(e.value, '$.visibility'),
                json_extract(e.value, '$.binding'), json_extract(e.value, '$.params'),
                json_extract(e.value, '$.return_type'), json_extract(e.value, '$.type_name'),
                json_extract(e.value, '$.is_async'), json_extract(e.value, '$.line'), json_extract(e.value, '$.end_line')
         from json_each(?2) as e";
    // language=SQLite
    pub(super) const INSERT_EDGES: &str = "insert into code_edges (repo, kind, from_key, to_key, resolved, names)
         select ?1, json_extract(e.value, '$.kind'), json_extract(e.value, '$.from'), json_extract(e.value, '$.to'),
                json_extract(e.value, '$.resolved'), coalesce(json_extract(e.value, '$.names'), '[]')
         from json_each(?2) as e";
    // language=SQLite
    pub(super) const REPOSITORIES: &str =
        "select key, name, url, commit_sha, reference, parsed_at, root_modules, counts, docs
         from code_repositories order by key";
    // language=SQLite
    pub(super) const REPOSITORY: &str =
        "select key, name, url, commit_sha, reference, parsed_at, root_modules, counts, docs
         from code_repositories where key = ?1";
    // language=SQLite
    pub(super) const FILES: &str = "select path, language, module, line_count from code_files where repo = ?1";
    // language=SQLite
    pub(super) const SYMBOLS: &str =
        "select key, file, name, qualified_name, kind, parent, visibility, binding, params,
                return_type, type_name, is_async, line, end_line
         from code_symbols where repo = ?1";
    // language=SQLite
    pub(super) const EDGES: &str = "select kind, from_key, to_key, resolved, names from code_edges where repo = ?1";
}

impl_embedded_code_graph!(SqliteStore, sql, classify);
