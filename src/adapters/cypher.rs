//! The openCypher statements shared by every Cypher backend (FalkorDB over RESP, Neo4j and other
//! Bolt servers): one parameterised statement per file under `cypher/document/` (the document
//! graph) and `cypher/code/` (the code graph), compiled in so a release carries exactly the
//! statements it was tested with. `cypher/README.md` says which subset of openCypher they keep to
//! and why; DDL, vectors and read-only enforcement are each backend's own.
//!
//! The code graph's statements come with what both backends do with them alike ([`code`]): the
//! rows a repository's write sends and the reads that load it back, as JSON, which each adapter
//! turns into its driver's values.

/// The document graph (GraphRAG): see `cypher/README.md` for the schema.
pub(crate) mod document {
    /// `$url` -> `hash` (null for a stub).
    pub(crate) const PAGE_HASH: &str = include_str!("../../cypher/document/page_hash.cypher");
    /// `$url` -> `keys`, `mentions`, `relations`, `targets` (what the page said, now deleted).
    pub(crate) const REPLACE_PAGE_DELETE: &str = include_str!("../../cypher/document/replace_page_delete.cypher");
    /// `$url`, `$source`, `$title`, `$chunks` (chunk numbers); the hash is left empty.
    pub(crate) const WRITE_DOCUMENT: &str = include_str!("../../cypher/document/write_document.cypher");
    /// `$url`, `$content_hash`: the last statement of a page's write.
    pub(crate) const SET_PAGE_HASH: &str = include_str!("../../cypher/document/set_page_hash.cypher");
    /// `$rows`: `{key, name, type, description, score}`.
    pub(crate) const UPSERT_ENTITIES: &str = include_str!("../../cypher/document/upsert_entities.cypher");
    /// `$source`, `$rows`: `{chunk, key, name, type, count}`.
    pub(crate) const INSERT_MENTIONS: &str = include_str!("../../cypher/document/insert_mentions.cypher");
    /// `$url`, `$source`, `$rows`: `{source, target, type, weight, count}`.
    pub(crate) const INSERT_RELATIONS: &str = include_str!("../../cypher/document/insert_relations.cypher");
    /// `$url`, `$source`, `$links` (target urls).
    pub(crate) const INSERT_LINKS: &str = include_str!("../../cypher/document/insert_links.cypher");
    /// `$url` -> `documents` (1 if the page was in the graph; it is a stub now).
    pub(crate) const UNSET_DOCUMENT: &str = include_str!("../../cypher/document/unset_document.cypher");
    /// `$urls` -> `deleted`.
    pub(crate) const DELETE_UNLINKED_STUBS: &str = include_str!("../../cypher/document/delete_unlinked_stubs.cypher");
    /// `$keys` -> `recounted`.
    pub(crate) const RECOUNT_ENTITIES: &str = include_str!("../../cypher/document/recount_entities.cypher");
    /// `$keys` -> `orphans`.
    pub(crate) const DELETE_ORPHANS: &str = include_str!("../../cypher/document/delete_orphans.cypher");
    /// `$keys` -> `deleted`: the `EntityVector` nodes of the entities among them that are gone.
    pub(crate) const DELETE_ENTITY_VECTORS: &str = include_str!("../../cypher/document/delete_entity_vectors.cypher");
    /// `$source` -> `keys`, `mentions`, `relations`.
    pub(crate) const DELETE_SOURCE: &str = include_str!("../../cypher/document/delete_source.cypher");
    /// `$source` -> `documents`, `outside` (other sources' urls its pages linked to).
    pub(crate) const DELETE_SOURCE_DOCUMENTS: &str =
        include_str!("../../cypher/document/delete_source_documents.cypher");
    /// `$keys`, `$max_aliases` -> `key`, `name`, `type`, `description`, `mention_count`, `aliases`.
    pub(crate) const ENTITIES: &str = include_str!("../../cypher/document/entities.cypher");
    /// `$prefix`, `$limit` -> `key`.
    pub(crate) const ENTITIES_WITH_PREFIX: &str = include_str!("../../cypher/document/entities_with_prefix.cypher");
    /// `$keys`, `$source` (or null), `$limit` -> `source`, `target`, `type`, `weight`, `count`.
    pub(crate) const RELATIONS_OF: &str = include_str!("../../cypher/document/relations_of.cypher");
    /// `$keys` -> `key` (one hop, either direction).
    pub(crate) const NEIGHBOURHOOD: &str = include_str!("../../cypher/document/neighbourhood.cypher");
    /// `$keys`, `$source` (or null), `$limit` -> `url`, `chunk_number`, `keys`.
    pub(crate) const CHUNKS_MENTIONING: &str = include_str!("../../cypher/document/chunks_mentioning.cypher");
    /// `$key`, `$limit` -> `url`, `title`, `source_id`, `mentions`.
    pub(crate) const DOCUMENTS_MENTIONING: &str = include_str!("../../cypher/document/documents_mentioning.cypher");
    /// -> `source`, `entities`.
    pub(crate) const SOURCE_COUNTS_ENTITIES: &str = include_str!("../../cypher/document/source_counts_entities.cypher");
    /// -> `source`, `relations`.
    pub(crate) const SOURCE_COUNTS_RELATIONS: &str =
        include_str!("../../cypher/document/source_counts_relations.cypher");
}

/// The code graph (repositories' files, symbols, imports and inheritance): see `cypher/README.md`
/// for the schema. A repository is deleted and written again as a unit ([`replace_steps`]) and
/// loaded back page by page ([`load`]); both backends run exactly these statements and rows.
pub(crate) mod code {
    use std::collections::BTreeSet;
    use std::future::Future;

    use serde::de::DeserializeOwned;
    use serde_json::{Value, json};

    use crate::domain::code::{
        CodeEdge, CodeEdgeKind, CodeFile, CodeSymbol, RepoCounts, RepoGraph, RepositoryInfo, SymbolKind,
    };
    use crate::ports::{GraphError, GraphRow};

    /// `$repo` -> `deleted`: the repository's node, first (it marks the repository as stored).
    pub(crate) const DELETE_REPOSITORY: &str = include_str!("../../cypher/code/delete_repository.cypher");
    /// `$repo` -> `deleted`.
    pub(crate) const DELETE_SYMBOLS: &str = include_str!("../../cypher/code/delete_symbols.cypher");
    /// `$repo` -> `deleted`.
    pub(crate) const DELETE_FILES: &str = include_str!("../../cypher/code/delete_files.cypher");
    /// `$repo` -> `deleted`.
    pub(crate) const DELETE_EXTERNALS: &str = include_str!("../../cypher/code/delete_externals.cypher");
    /// `$repo`, `$rows`: `{key, path, language, module, line_count}`.
    pub(crate) const WRITE_FILES: &str = include_str!("../../cypher/code/write_files.cypher");
    /// `$repo`, `$rows`: symbol rows ([`symbol_row`]), one statement per kind label.
    pub(crate) const WRITE_CLASS_SYMBOLS: &str = include_str!("../../cypher/code/write_class_symbols.cypher");
    pub(crate) const WRITE_METHOD_SYMBOLS: &str = include_str!("../../cypher/code/write_method_symbols.cypher");
    pub(crate) const WRITE_FUNCTION_SYMBOLS: &str = include_str!("../../cypher/code/write_function_symbols.cypher");
    pub(crate) const WRITE_ATTRIBUTE_SYMBOLS: &str = include_str!("../../cypher/code/write_attribute_symbols.cypher");
    /// `$rows`: `{file, key}`.
    pub(crate) const DEFINES: &str = include_str!("../../cypher/code/defines.cypher");
    /// `$rows`: `{parent, key}`.
    pub(crate) const HAS_MEMBER: &str = include_str!("../../cypher/code/has_member.cypher");
    /// `$repo`, `$rows`: `{key, name}`.
    pub(crate) const WRITE_EXTERNALS: &str = include_str!("../../cypher/code/write_externals.cypher");
    /// `$rows`: `{source, target}` (symbol keys; a CodeExternal's key for `_EXTERNAL`).
    pub(crate) const INHERITS: &str = include_str!("../../cypher/code/inherits.cypher");
    pub(crate) const INHERITS_EXTERNAL: &str = include_str!("../../cypher/code/inherits_external.cypher");
    pub(crate) const IMPLEMENTS: &str = include_str!("../../cypher/code/implements.cypher");
    pub(crate) const IMPLEMENTS_EXTERNAL: &str = include_str!("../../cypher/code/implements_external.cypher");
    /// `$rows`: `{source, target, names}` (file keys; a CodeExternal's key for `_EXTERNAL`).
    pub(crate) const IMPORTS: &str = include_str!("../../cypher/code/imports.cypher");
    pub(crate) const IMPORTS_EXTERNAL: &str = include_str!("../../cypher/code/imports_external.cypher");
    /// `$repo`, `$name`, `$url`, `$commit`, `$reference`, `$parsed_at`, `$root_modules`, `$docs` and the
    /// counts: the repository's node, written last.
    pub(crate) const WRITE_REPOSITORY: &str = include_str!("../../cypher/code/write_repository.cypher");
    /// `$repo`.
    pub(crate) const CONTAIN_FILES: &str = include_str!("../../cypher/code/contain_files.cypher");
    /// -> repository columns ([`repository_from`]), by key.
    pub(crate) const REPOSITORIES: &str = include_str!("../../cypher/code/repositories.cypher");
    /// `$repo` -> repository columns, or no row.
    pub(crate) const REPOSITORY: &str = include_str!("../../cypher/code/repository.cypher");
    /// `$repo`, `$skip`, `$limit` -> `key`, `path`, `language`, `module`, `line_count`.
    pub(crate) const FILES: &str = include_str!("../../cypher/code/files.cypher");
    /// `$repo`, `$skip`, `$limit` -> symbol columns ([`symbol_from`]).
    pub(crate) const SYMBOLS: &str = include_str!("../../cypher/code/symbols.cypher");
    /// `$keys` (symbol keys) -> `kind`, `source`, `target`.
    pub(crate) const TYPE_EDGES: &str = include_str!("../../cypher/code/type_edges.cypher");
    pub(crate) const TYPE_EDGES_EXTERNAL: &str = include_str!("../../cypher/code/type_edges_external.cypher");
    /// `$keys` (file keys) -> `source`, `target`, `names`.
    pub(crate) const FILE_IMPORTS: &str = include_str!("../../cypher/code/file_imports.cypher");
    pub(crate) const FILE_IMPORTS_EXTERNAL: &str = include_str!("../../cypher/code/file_imports_external.cypher");

    /// What deletes a repository, each `$repo` -> `deleted`: its node first, so it stops being
    /// listed or loaded before anything else goes.
    pub(crate) const DELETE: [&str; 4] = [DELETE_REPOSITORY, DELETE_SYMBOLS, DELETE_FILES, DELETE_EXTERNALS];

    /// Rows per `UNWIND` batch and keys per edge read: a symbol row is about half a kilobyte, so
    /// a batch stays well under a megabyte of query text on FalkorDB.
    pub(crate) const BATCH_ROWS: usize = 1_000;
    /// Rows per page of files and symbols read back.
    pub(crate) const PAGE_ROWS: usize = 2_000;

    /// A statement's parameters, as JSON (each adapter converts them to its driver's values).
    pub(crate) type Params = Vec<(&'static str, Value)>;

    /// One statement of a repository's write.
    #[derive(Debug)]
    pub(crate) struct Step {
        pub(crate) statement: &'static str,
        pub(crate) params: Params,
    }

    /// A file's node key: files of two repositories never share one.
    pub(crate) fn file_key(repo: &str, path: &str) -> String {
        format!("{repo}::{path}")
    }

    /// The key of the node standing for `name` outside the repository.
    pub(crate) fn external_key(repo: &str, name: &str) -> String {
        format!("{repo}::ext::{name}")
    }

    /// The statements writing `graph` into a graph where its repository is absent (after
    /// [`DELETE`]): files, symbols, their containment, external names, edges, and last the
    /// repository's node with its counts.
    pub(crate) fn replace_steps(graph: &RepoGraph) -> Vec<Step> {
        let repo = graph.repository.key.as_str();
        let mut steps = Vec::new();
        let files = graph.files.iter().map(|f| {
            json!({
                "key": file_key(repo, &f.path),
                "path": f.path,
                "language": f.language.as_str(),
                "module": f.module,
                "line_count": f.line_count,
            })
        });
        batches(&mut steps, WRITE_FILES, repo, files);
        for statement in [WRITE_CLASS_SYMBOLS, WRITE_METHOD_SYMBOLS, WRITE_FUNCTION_SYMBOLS, WRITE_ATTRIBUTE_SYMBOLS] {
            let rows = graph.symbols.iter().filter(|s| symbol_statement(s.kind) == statement).map(symbol_row);
            batches(&mut steps, statement, repo, rows);
        }
        let (members, top): (Vec<&CodeSymbol>, Vec<&CodeSymbol>) =
            graph.symbols.iter().partition(|s| s.parent.is_some());
        let defines = top.iter().map(|s| json!({"file": file_key(repo, &s.file), "key": s.key}));
        batches(&mut steps, DEFINES, repo, defines);
        batches(&mut steps, HAS_MEMBER, repo, members.iter().map(|s| json!({"parent": s.parent, "key": s.key})));
        let externals: BTreeSet<&str> = graph.edges.iter().filter(|e| !e.resolved).map(|e| e.to.as_str()).collect();
        let externals = externals.into_iter().map(|name| json!({"key": external_key(repo, name), "name": name}));
        batches(&mut steps, WRITE_EXTERNALS, repo, externals);
        for kind in [CodeEdgeKind::Inherits, CodeEdgeKind::Implements, CodeEdgeKind::Imports] {
            for resolved in [true, false] {
                let rows = graph.edges.iter().filter(|e| e.kind == kind && e.resolved == resolved);
                batches(&mut steps, edge_statement(kind, resolved), repo, rows.map(|e| edge_row(repo, e)));
            }
        }
        let r = &graph.repository;
        let counts = graph.counts();
        let params = vec![
            ("repo", json!(repo)),
            ("name", json!(r.name)),
            ("url", json!(r.url)),
            ("commit", json!(r.commit)),
            ("reference", json!(r.reference)),
            ("parsed_at", json!(r.parsed_at)),
            ("root_modules", json!(r.root_modules)),
            ("docs", json!(r.docs)),
            ("files", json!(counts.files)),
            ("classes", json!(counts.classes)),
            ("functions", json!(counts.functions)),
            ("methods", json!(counts.methods)),
            ("attributes", json!(counts.attributes)),
            ("imports", json!(counts.imports)),
            ("inherits", json!(counts.inherits)),
        ];
        steps.push(Step { statement: WRITE_REPOSITORY, params });
        steps.push(Step { statement: CONTAIN_FILES, params: vec![("repo", json!(repo))] });
        steps
    }

    /// `statement` once per [`BATCH_ROWS`] of `rows`, bound as `$rows` beside `$repo`.
    fn batches(steps: &mut Vec<Step>, statement: &'static str, repo: &str, rows: impl Iterator<Item = Value>) {
        let rows: Vec<Value> = rows.collect();
        for batch in rows.chunks(BATCH_ROWS) {
            steps.push(Step { statement, params: vec![("repo", json!(repo)), ("rows", Value::Array(batch.to_vec()))] });
        }
    }

    /// The statement writing symbols of `kind`, which gives them their second label (`Class`
    /// for every type, as the anchor's Cypher expects).
    fn symbol_statement(kind: SymbolKind) -> &'static str {
        match kind {
            SymbolKind::Class | SymbolKind::Struct | SymbolKind::Trait | SymbolKind::Interface | SymbolKind::Enum => {
                WRITE_CLASS_SYMBOLS
            }
            SymbolKind::Method => WRITE_METHOD_SYMBOLS,
            SymbolKind::Function => WRITE_FUNCTION_SYMBOLS,
            SymbolKind::Attribute => WRITE_ATTRIBUTE_SYMBOLS,
        }
    }

    fn symbol_row(s: &CodeSymbol) -> Value {
        json!({
            "key": s.key,
            "file": s.file,
            "name": s.name,
            "qualified_name": s.qualified_name,
            "kind": s.kind.as_str(),
            "parent": s.parent,
            "visibility": s.visibility,
            "binding": s.binding,
            // What load reads back; the two lists are for users' Cypher.
            "params_json": serde_json::to_string(&s.params).unwrap_or_else(|_| "[]".into()),
            "params_list": s.params.iter().map(|p| p.listed()).collect::<Vec<_>>(),
            "params_detailed": s.params.iter().map(|p| p.detailed()).collect::<Vec<_>>(),
            "return_type": s.return_type,
            "type_name": s.type_name,
            "is_async": s.is_async,
            "line": s.line,
            "end_line": s.end_line,
        })
    }

    fn edge_statement(kind: CodeEdgeKind, resolved: bool) -> &'static str {
        match (kind, resolved) {
            (CodeEdgeKind::Inherits, true) => INHERITS,
            (CodeEdgeKind::Inherits, false) => INHERITS_EXTERNAL,
            (CodeEdgeKind::Implements, true) => IMPLEMENTS,
            (CodeEdgeKind::Implements, false) => IMPLEMENTS_EXTERNAL,
            (CodeEdgeKind::Imports, true) => IMPORTS,
            (CodeEdgeKind::Imports, false) => IMPORTS_EXTERNAL,
        }
    }

    /// An edge's row: its ends as node keys (an unresolved target is its CodeExternal).
    fn edge_row(repo: &str, e: &CodeEdge) -> Value {
        let target = if e.resolved { None } else { Some(external_key(repo, &e.to)) };
        match e.kind {
            CodeEdgeKind::Inherits | CodeEdgeKind::Implements => {
                json!({"source": e.from, "target": target.unwrap_or_else(|| e.to.clone())})
            }
            CodeEdgeKind::Imports => json!({
                "source": file_key(repo, &e.from),
                "target": target.unwrap_or_else(|| file_key(repo, &e.to)),
                "names": e.names,
            }),
        }
    }

    /// The repository `key` as written, or `None`: its node, then its files and symbols a page at
    /// a time ([`PAGE_ROWS`], by key), then the edges leaving them a batch of keys at a time.
    /// `read` runs one read-only statement and answers its rows as JSON. The pages are separate
    /// reads: a replace running meanwhile may be seen half (the embedded backend reads in one
    /// transaction).
    pub(crate) async fn load<F, Fut>(key: &str, mut read: F) -> Result<Option<RepoGraph>, GraphError>
    where
        F: FnMut(&'static str, Params) -> Fut,
        Fut: Future<Output = Result<Vec<GraphRow>, GraphError>>,
    {
        let Some(row) = read(REPOSITORY, vec![("repo", json!(key))]).await?.into_iter().next() else {
            return Ok(None);
        };
        let (repository, _) = repository_from(&row)?;
        let mut file_keys = Vec::new();
        let mut files = Vec::new();
        for row in pages(&mut read, FILES, key).await? {
            file_keys.push(text(&row, "key")?);
            files.push(CodeFile {
                path: text(&row, "path")?,
                language: parse_name("language", text(&row, "language")?)?,
                module: text(&row, "module")?,
                line_count: number(&row, "line_count"),
            });
        }
        let symbols = pages(&mut read, SYMBOLS, key).await?.iter().map(symbol_from).collect::<Result<Vec<_>, _>>()?;
        let symbol_keys: Vec<&str> = symbols.iter().map(|s| s.key.as_str()).collect();
        let mut edges = Vec::new();
        for batch in symbol_keys.chunks(BATCH_ROWS) {
            for (statement, resolved) in [(TYPE_EDGES, true), (TYPE_EDGES_EXTERNAL, false)] {
                for row in read(statement, vec![("keys", json!(batch))]).await? {
                    let kind = parse_name("edge kind", text(&row, "kind")?)?;
                    edges.push(edge(kind, &row, resolved, Vec::new())?);
                }
            }
        }
        for batch in file_keys.chunks(BATCH_ROWS) {
            for (statement, resolved) in [(FILE_IMPORTS, true), (FILE_IMPORTS_EXTERNAL, false)] {
                for row in read(statement, vec![("keys", json!(batch))]).await? {
                    edges.push(edge(CodeEdgeKind::Imports, &row, resolved, strings(&row, "names"))?);
                }
            }
        }
        Ok(Some(RepoGraph { repository, files, symbols, edges }))
    }

    /// Every row of a paged read of `repo` ([`FILES`], [`SYMBOLS`]).
    async fn pages<F, Fut>(read: &mut F, statement: &'static str, repo: &str) -> Result<Vec<GraphRow>, GraphError>
    where
        F: FnMut(&'static str, Params) -> Fut,
        Fut: Future<Output = Result<Vec<GraphRow>, GraphError>>,
    {
        let mut rows = Vec::new();
        loop {
            let params = vec![("repo", json!(repo)), ("skip", json!(rows.len())), ("limit", json!(PAGE_ROWS))];
            let page = read(statement, params).await?;
            let last = page.len() < PAGE_ROWS;
            rows.extend(page);
            if last {
                return Ok(rows);
            }
        }
    }

    fn edge(kind: CodeEdgeKind, row: &GraphRow, resolved: bool, names: Vec<String>) -> Result<CodeEdge, GraphError> {
        Ok(CodeEdge { kind, from: text(row, "source")?, to: text(row, "target")?, resolved, names })
    }

    /// A repository row ([`REPOSITORIES`], [`REPOSITORY`]) with its stored counts.
    pub(crate) fn repository_from(row: &GraphRow) -> Result<(RepositoryInfo, RepoCounts), GraphError> {
        let info = RepositoryInfo {
            key: text(row, "key")?,
            name: text(row, "name")?,
            url: text(row, "url")?,
            commit: text(row, "commit")?,
            reference: optional(row, "reference"),
            parsed_at: row.get("parsed_at").and_then(Value::as_i64).unwrap_or(0),
            root_modules: strings(row, "root_modules"),
            docs: strings(row, "docs"),
        };
        let count = |name: &str| number::<usize>(row, name);
        let counts = RepoCounts {
            files: count("files"),
            classes: count("classes"),
            functions: count("functions"),
            methods: count("methods"),
            attributes: count("attributes"),
            imports: count("imports"),
            inherits: count("inherits"),
        };
        Ok((info, counts))
    }

    fn symbol_from(row: &GraphRow) -> Result<CodeSymbol, GraphError> {
        let params = text(row, "params_json")?;
        Ok(CodeSymbol {
            key: text(row, "key")?,
            file: text(row, "file")?,
            name: text(row, "name")?,
            qualified_name: text(row, "qualified_name")?,
            kind: parse_name("symbol kind", text(row, "kind")?)?,
            parent: optional(row, "parent"),
            visibility: parse_name("visibility", text(row, "visibility")?)?,
            binding: parse_name("method binding", text(row, "binding")?)?,
            params: serde_json::from_str(&params)
                .map_err(|e| GraphError::Query(format!("malformed parameters in the code graph: {e}")))?,
            return_type: optional(row, "return_type"),
            type_name: optional(row, "type_name"),
            is_async: row.get("is_async").and_then(Value::as_bool).unwrap_or(false),
            line: number(row, "line"),
            end_line: number(row, "end_line"),
        })
    }

    /// A text column that every node of the kind has.
    fn text(row: &GraphRow, name: &str) -> Result<String, GraphError> {
        optional(row, name).ok_or_else(|| GraphError::Query(format!("the code graph answered no '{name}'")))
    }

    fn optional(row: &GraphRow, name: &str) -> Option<String> {
        row.get(name).and_then(Value::as_str).map(str::to_owned)
    }

    fn strings(row: &GraphRow, name: &str) -> Vec<String> {
        row.get(name)
            .and_then(Value::as_array)
            .map(|items| items.iter().filter_map(Value::as_str).map(str::to_owned).collect())
            .unwrap_or_default()
    }

    /// A count or line number (0 for anything else).
    fn number<T: TryFrom<i64> + Default>(row: &GraphRow, name: &str) -> T {
        row.get(name).and_then(Value::as_i64).and_then(|n| T::try_from(n).ok()).unwrap_or_default()
    }

    /// A stored enum name (`class`, `python`, `INHERITS`) back as its type.
    fn parse_name<T: DeserializeOwned>(what: &str, name: String) -> Result<T, GraphError> {
        serde_json::from_value(Value::String(name.clone()))
            .map_err(|_| GraphError::Query(format!("unknown {what} '{name}' in the code graph")))
    }
}

/// Other spellings listed per entity.
pub(crate) const MAX_ALIASES: i64 = 8;

/// `x` as the f64 its shortest decimal form reads as (0.7, not 0.699999988...), so weights and
/// scores read back as the numbers they were (FalkorDB parameters travel as text, and `vecf32()`
/// reads the same f32 back from the shorter form; Bolt sends f64 as is).
pub(crate) fn decimal(x: f32) -> f64 {
    x.to_string().parse().unwrap_or(f64::from(x))
}

/// Entities within `max_hops` of `key` (itself excluded), nearest first, at most `limit`:
/// breadth first, one `neighbours` call (one statement) per hop, each entity reached once at its
/// fewest hops. The walk both Cypher backends answer `GraphStore::neighbourhood` with.
pub(crate) async fn breadth_first<F, Fut>(
    key: &str,
    max_hops: u32,
    limit: usize,
    mut neighbours: F,
) -> Result<Vec<(String, u32)>, crate::ports::GraphError>
where
    F: FnMut(Vec<String>) -> Fut,
    Fut: std::future::Future<Output = Result<Vec<String>, crate::ports::GraphError>>,
{
    let mut seen: std::collections::HashSet<String> = std::collections::HashSet::from([key.to_owned()]);
    let mut frontier = vec![key.to_owned()];
    let mut found = Vec::new();
    for hops in 1..=max_hops {
        if frontier.is_empty() || found.len() >= limit {
            break;
        }
        let mut next: Vec<String> =
            neighbours(frontier).await?.into_iter().filter(|k| seen.insert(k.clone())).collect();
        next.sort();
        found.extend(next.iter().map(|k| (k.clone(), hops)));
        frontier = next;
    }
    found.truncate(limit);
    Ok(found)
}
