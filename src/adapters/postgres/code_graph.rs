//! Postgres SQL for the embedded code graph body (`adapters/sql_body/code_graph.rs`).

use super::{PgStore, classify};
use crate::adapters::sql_body::code_graph::impl_embedded_code_graph;

mod sql {
    /// Everything of one repository, children first.
    pub(super) const DELETE_REPOSITORY: [&str; 4] = [
        // language=PostgreSQL
        "delete from code_edges where repo = $1",
        // language=PostgreSQL
        "delete from code_symbols where repo = $1",
        // language=PostgreSQL
        "delete from code_files where repo = $1",
        // language=PostgreSQL
        "delete from code_repositories where key = $1",
    ];
    // language=PostgreSQL
    pub(super) const INSERT_REPOSITORY: &str = "insert into code_repositories
         (key, name, url, commit_sha, reference, parsed_at, root_modules, counts, docs)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
    // language=PostgreSQL
    pub(super) const INSERT_FILES: &str = "insert into code_files (repo, path, language, module, line_count)
         select $1, e ->> 'path', e ->> 'language', e ->> 'module', (e ->> 'line_count')::int
         from jsonb_array_elements($2::jsonb) as e";
    // language=PostgreSQL
    pub(super) const INSERT_SYMBOLS: &str = "insert into code_symbols
         (key, repo, file, name, qualified_name, kind, parent, visibility, binding, params, return_type, type_name,
          is_async, line, end_line)
         select e ->> 'key', $1, e ->> 'file', e ->> 'name', e ->> 'qualified_name', e ->> 'kind', e ->> 'parent',
                e ->> 'visibility', e ->> 'binding', (e -> 'params')::text, e ->> 'return_type', e ->> 'type_name',
                (e ->> 'is_async')::boolean, (e ->> 'line')::int, (e ->> 'end_line')::int
         from jsonb_array_elements($2::jsonb) as e";
    // language=PostgreSQL
    pub(super) const INSERT_EDGES: &str = "insert into code_edges (repo, kind, from_key, to_key, resolved, names)
         select $1, e ->> 'kind', e ->> 'from', e ->> 'to', (e ->> 'resolved')::boolean,
                coalesce((e -> 'names')::text, '[]')
         from jsonb_array_elements($2::jsonb) as e";
    // language=PostgreSQL
    pub(super) const REPOSITORIES: &str =
        "select key, name, url, commit_sha, reference, parsed_at, root_modules, counts, docs
         from code_repositories order by key";
    // language=PostgreSQL
    pub(super) const REPOSITORY: &str =
        "select key, name, url, commit_sha, reference, parsed_at, root_modules, counts, docs
         from code_repositories where key = $1";
    // language=PostgreSQL
    pub(super) const FILES: &str = "select path, language, module, line_count from code_files where repo = $1";
    // language=PostgreSQL
    pub(super) const SYMBOLS: &str =
        "select key, file, name, qualified_name, kind, parent, visibility, binding, params,
                return_type, type_name, is_async, line, end_line
         from code_symbols where repo = $1";
    // language=PostgreSQL
    pub(super) const EDGES: &str = "select kind, from_key, to_key, resolved, names from code_edges where repo = $1";
}

impl_embedded_code_graph!(PgStore, sql, classify);
