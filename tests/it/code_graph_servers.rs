//! The code graph (`CodeGraphStore`) on the real graph servers: FalkorDB
//! (`CRAWLRAG_TEST_FALKORDB_URL`) and a Bolt server (`CRAWLRAG_TEST_BOLT_*`: ArcadeDB, hence the
//! `bolt_compatible_` names), both started by `scripts/services.sh`. Each backend: a repository
//! loads back as written (edges to names outside it included), a replace leaves exactly the new
//! graph and is idempotent, repositories with the same paths never collide and delete apart, the
//! listing carries the counts, and the anchor's Cypher reads the `Class`/`Method` labels. Plus a
//! 1,000-file repository through FalkorDB, timed.
//!
//! FalkorDB tests get a graph of their own; Bolt tests share one database, so their repository
//! keys start with a namespace of their own and they count only their repositories' nodes.

use std::collections::BTreeSet;
use std::time::Instant;

use crawlrag::domain::code::{
    CodeEdge, CodeEdgeKind, CodeFile, CodeSymbol, Language, MethodBinding, Param, ParamKind, ParsedFile, ParsedImport,
    ParsedSymbol, RepoGraph, RepositoryInfo, SymbolKind, Visibility,
};
use crawlrag::domain::code_graph::{Manifest, SourceFile, assemble};
use crawlrag::ports::{CodeGraphStore, GraphStore};
use serde_json::Value;

use crate::common;
use crate::graph_bolt::{bolt_server, connect};
use crate::graph_falkordb::TestGraph;

fn info(key: &str, commit: &str) -> RepositoryInfo {
    RepositoryInfo {
        key: key.into(),
        name: key.rsplit('/').next().unwrap_or(key).into(),
        url: format!("https://{key}"),
        commit: commit.into(),
        reference: Some("main".into()),
        parsed_at: 1_700_000_000,
        root_modules: Vec::new(),
        docs: vec!["README.md".into(), "docs/guide.md".into()],
    }
}

fn symbol(name: &str, kind: SymbolKind, parent: Option<&str>, line: u32) -> ParsedSymbol {
    ParsedSymbol {
        name: name.into(),
        kind,
        parent: parent.map(Into::into),
        visibility: if name.starts_with('_') && !name.ends_with("__") {
            Visibility::Private
        } else {
            Visibility::Public
        },
        binding: MethodBinding::Instance,
        params: Vec::new(),
        return_type: None,
        type_name: None,
        bases: Vec::new(),
        implements: Vec::new(),
        is_async: false,
        line,
        end_line: line + 3,
    }
}

fn param(name: &str, kind: ParamKind, type_name: Option<&str>, default: Option<&str>) -> Param {
    Param { name: name.into(), kind, type_name: type_name.map(Into::into), default: default.map(Into::into) }
}

fn import(module: &str, names: &[(&str, Option<&str>)], alias: Option<&str>) -> ParsedImport {
    ParsedImport {
        module: module.into(),
        names: names.iter().map(|(n, a)| ((*n).to_owned(), a.map(Into::into))).collect(),
        alias: alias.map(Into::into),
        reexport: false,
        line: 1,
    }
}

/// Two Python files: `pkg/base.py` (an interface, a class with `__init__`, an async method, a
/// property and an attribute, a function; external imports) and `pkg/child.py` (a subclass of
/// `Base` and of the external `Exception`, implementing `Runnable`; two imports of `pkg/base.py`
/// with different names). `changed` drops `helper` and `Child.create` and adds `Child.stop`.
fn shop(key: &str, changed: bool) -> RepoGraph {
    let mut init = symbol("__init__", SymbolKind::Method, Some("Base"), 5);
    init.params = vec![
        param("name", ParamKind::PositionalOrKeyword, Some("str"), None),
        param("timeout", ParamKind::KeywordOnly, Some("Optional[float]"), Some("None")),
    ];
    let mut run = symbol("run", SymbolKind::Method, Some("Base"), 9);
    run.is_async = true;
    run.return_type = Some("str".into());
    let mut size = symbol("size", SymbolKind::Method, Some("Base"), 13);
    size.binding = MethodBinding::Property;
    let mut retries = symbol("retries", SymbolKind::Attribute, Some("Base"), 4);
    retries.type_name = Some("int".into());
    let mut helper = symbol("helper", SymbolKind::Function, None, 20);
    helper.params = vec![
        param("x", ParamKind::PositionalOnly, None, None),
        param("args", ParamKind::VarPositional, None, None),
        param("kwargs", ParamKind::VarKeyword, Some("Any"), None),
    ];
    let mut base_symbols = vec![
        symbol("Runnable", SymbolKind::Interface, None, 1),
        symbol("Base", SymbolKind::Class, None, 3),
        retries,
        init,
        run,
        size,
        symbol("_cache", SymbolKind::Attribute, Some("Base"), 15),
    ];
    if !changed {
        base_symbols.push(helper);
    }
    let base = SourceFile {
        path: "pkg/base.py".into(),
        language: Language::Python,
        parsed: ParsedFile {
            symbols: base_symbols,
            imports: vec![
                import("os", &[], None),
                import("typing", &[("Optional", None), ("List", Some("L"))], None),
                import("numpy", &[], Some("np")),
            ],
            line_count: 24,
        },
    };
    let mut child_class = symbol("Child", SymbolKind::Class, None, 3);
    child_class.bases = vec!["Base".into(), "Exception".into()];
    child_class.implements = vec!["Runnable".into(), "Sized".into()];
    let mut child_run = symbol("run", SymbolKind::Method, Some("Child"), 5);
    // Quotes, a backslash and non-ASCII text travel through parameters and back.
    child_run.params = vec![param("sep", ParamKind::PositionalOrKeyword, Some("str"), Some(r#"'\n "é"'"#))];
    let mut create = symbol("create", SymbolKind::Method, Some("Child"), 8);
    create.binding = MethodBinding::Class;
    let mut child_symbols = vec![child_class, child_run];
    child_symbols.push(if changed { symbol("stop", SymbolKind::Method, Some("Child"), 11) } else { create });
    let child = SourceFile {
        path: "pkg/child.py".into(),
        language: Language::Python,
        parsed: ParsedFile {
            symbols: child_symbols,
            imports: vec![import(".base", &[("Base", None)], None), import(".base", &[("helper", Some("h"))], None)],
            line_count: 14,
        },
    };
    let init_file = SourceFile {
        path: "pkg/__init__.py".into(),
        language: Language::Python,
        parsed: ParsedFile { symbols: Vec::new(), imports: Vec::new(), line_count: 0 },
    };
    assemble(info(key, if changed { "def456" } else { "abc123" }), &Manifest::default(), vec![base, child, init_file])
}

/// `graph` with files, symbols and edges in one order, to compare regardless of read order.
fn sorted(mut graph: RepoGraph) -> RepoGraph {
    graph.files.sort_by(|a, b| a.path.cmp(&b.path));
    graph.symbols.sort_by(|a, b| a.key.cmp(&b.key));
    graph.edges.sort();
    graph
}

/// Nodes a repository's graph takes: the repository, its files and symbols, and one per name
/// outside it that edges point at.
fn expected_nodes(graph: &RepoGraph) -> i64 {
    let externals: BTreeSet<&str> = graph.edges.iter().filter(|e| !e.resolved).map(|e| e.to.as_str()).collect();
    (1 + graph.files.len() + graph.symbols.len() + externals.len()) as i64
}

/// Relationships: CONTAINS per file, DEFINES or HAS_MEMBER per symbol, and the edges.
fn expected_relationships(graph: &RepoGraph) -> i64 {
    (graph.files.len() + graph.symbols.len() + graph.edges.len()) as i64
}

/// The single number a read-only query answers.
async fn number(store: &dyn GraphStore, query: &str) -> i64 {
    let rows = store.read_query(query, 10).await.unwrap();
    rows.first().and_then(|row| row.values().next()).and_then(Value::as_i64).unwrap_or_else(|| {
        panic!("{query} -> {rows:?}");
    })
}

/// Nodes and relationships stored for repository `key`, counted with users' read-only Cypher.
async fn stored_sizes(store: &dyn GraphStore, key: &str) -> (i64, i64) {
    let mut nodes = number(store, &format!("MATCH (r:CodeRepository) WHERE r.key = '{key}' RETURN count(r)")).await;
    for label in ["CodeFile", "CodeSymbol", "CodeExternal"] {
        nodes += number(store, &format!("MATCH (n:{label}) WHERE n.repo = '{key}' RETURN count(n)")).await;
    }
    let mut relationships =
        number(store, &format!("MATCH (r:CodeRepository)-[e]->() WHERE r.key = '{key}' RETURN count(e)")).await;
    for label in ["CodeFile", "CodeSymbol"] {
        relationships +=
            number(store, &format!("MATCH (n:{label})-[e]->() WHERE n.repo = '{key}' RETURN count(e)")).await;
    }
    (nodes, relationships)
}

async fn assert_stored<S: CodeGraphStore + GraphStore>(store: &S, graph: &RepoGraph) {
    let key = &graph.repository.key;
    let loaded = store.load_repository(key).await.unwrap().unwrap_or_else(|| panic!("{key} is stored"));
    assert_eq!(sorted(loaded), sorted(graph.clone()), "{key} loads back as written");
    assert_eq!(
        stored_sizes(store, key).await,
        (expected_nodes(graph), expected_relationships(graph)),
        "{key}: nodes and relationships"
    );
    let listed = store.repositories().await.unwrap();
    let summary = listed.iter().find(|s| &s.info.key == key).unwrap_or_else(|| panic!("{key} is listed"));
    assert_eq!(summary.info, graph.repository);
    assert_eq!(summary.counts, graph.counts());
}

/// Round trip, the anchor's Cypher, then delete. `anchor_filter` restricts the anchor's query to
/// this repository (the Bolt tests share a database).
async fn round_trip<S: CodeGraphStore + GraphStore>(store: &S, ns: &str, anchor_filter: bool) {
    let key = format!("github.com/{ns}/shop");
    assert!(store.load_repository(&key).await.unwrap().is_none(), "unknown key");
    assert!(!store.delete_repository(&key).await.unwrap(), "nothing to delete");
    let graph = shop(&key, false);
    let edge = |kind, to: &str| graph.edges.iter().find(|e| e.kind == kind && e.to == to).cloned();
    assert!(matches!(edge(CodeEdgeKind::Inherits, "Exception"), Some(CodeEdge { resolved: false, .. })));
    assert!(matches!(edge(CodeEdgeKind::Inherits, &format!("{key}::pkg/base.py::Base")), Some(e) if e.resolved));
    assert!(matches!(edge(CodeEdgeKind::Implements, "Sized"), Some(CodeEdge { resolved: false, .. })));
    assert_eq!(graph.edges.iter().filter(|e| e.kind == CodeEdgeKind::Imports && e.resolved).count(), 2);
    store.replace_repository(&graph).await.unwrap();
    assert_stored(store, &graph).await;
    let counts = graph.counts();
    assert_eq!((counts.files, counts.classes, counts.methods, counts.attributes), (3, 3, 5, 2));
    assert_eq!((counts.functions, counts.imports, counts.inherits), (1, 5, 4));

    let filter = if anchor_filter { format!(" WHERE c.repo = '{key}'") } else { String::new() };
    let query = format!("MATCH (c:Class)-[:HAS_MEMBER]->(m:Method){filter} RETURN c.name, m.name");
    let rows = store.read_query(&query, 100).await.unwrap();
    let pairs: BTreeSet<(String, String)> = rows
        .iter()
        .map(|row| (row["c.name"].as_str().unwrap().to_owned(), row["m.name"].as_str().unwrap().to_owned()))
        .collect();
    let expected: BTreeSet<(String, String)> =
        [("Base", "__init__"), ("Base", "run"), ("Base", "size"), ("Child", "run"), ("Child", "create")]
            .map(|(c, m)| (c.to_owned(), m.to_owned()))
            .into();
    assert_eq!(pairs, expected, "{query}");
    let params = format!(
        "MATCH (m:Method) WHERE m.repo = '{key}' AND m.name = '__init__' RETURN m.params_list AS list, \
         m.params_detailed AS detailed"
    );
    let rows = store.read_query(&params, 10).await.unwrap();
    assert_eq!(rows[0]["list"], serde_json::json!(["name:str", "timeout:Optional[float]"]));
    assert_eq!(rows[0]["detailed"], serde_json::json!(["name:str", "[keyword_only] timeout:Optional[float]=None"]));

    assert!(store.delete_repository(&key).await.unwrap());
    assert!(store.load_repository(&key).await.unwrap().is_none());
    assert_eq!(stored_sizes(store, &key).await, (0, 0), "every node of the repository is gone");
    assert!(!store.delete_repository(&key).await.unwrap());
}

/// A replace leaves exactly the new graph, and replacing it again changes nothing.
async fn replace_changes<S: CodeGraphStore + GraphStore>(store: &S, ns: &str) {
    let key = format!("github.com/{ns}/shop");
    let (old, new) = (shop(&key, false), shop(&key, true));
    store.replace_repository(&old).await.unwrap();
    store.replace_repository(&new).await.unwrap();
    assert_stored(store, &new).await;
    let loaded = store.load_repository(&key).await.unwrap().unwrap();
    for gone in ["pkg/base.py::helper", "pkg/child.py::Child.create"] {
        assert!(loaded.symbols.iter().all(|s| s.key != format!("{key}::{gone}")), "{gone} is gone");
    }
    assert!(loaded.symbols.iter().any(|s| s.name == "stop"));
    assert_eq!(loaded.repository.commit, "def456");
    assert_ne!(old.counts(), new.counts());
    store.replace_repository(&new).await.unwrap();
    assert_stored(store, &new).await;
    store.delete_repository(&key).await.unwrap();
}

/// Two repositories with the same paths: stored apart, and deleting one leaves the other whole.
async fn two_repositories<S: CodeGraphStore + GraphStore>(store: &S, ns: &str) {
    let (a, b) = (shop(&format!("github.com/{ns}/a/shop"), false), shop(&format!("github.com/{ns}/b/shop"), true));
    store.replace_repository(&a).await.unwrap();
    store.replace_repository(&b).await.unwrap();
    assert_stored(store, &a).await;
    assert_stored(store, &b).await;
    let listed: Vec<String> = store
        .repositories()
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.info.key)
        .filter(|k| k.starts_with(&format!("github.com/{ns}/")))
        .collect();
    assert_eq!(listed, [a.repository.key.clone(), b.repository.key.clone()], "listed by key");
    assert!(store.delete_repository(&a.repository.key).await.unwrap());
    assert!(store.load_repository(&a.repository.key).await.unwrap().is_none());
    assert_eq!(stored_sizes(store, &a.repository.key).await, (0, 0));
    assert_stored(store, &b).await;
    assert!(store.repositories().await.unwrap().iter().all(|s| s.info.key != a.repository.key));
    store.delete_repository(&b.repository.key).await.unwrap();
}

#[tokio::test]
async fn falkordb_code_graph_round_trip() {
    let Some(graph) = TestGraph::start("code_round_trip").await else { return };
    round_trip(&graph.store, "falkor", false).await;
    graph.finish().await;
}

#[tokio::test]
async fn falkordb_code_graph_replace() {
    let Some(graph) = TestGraph::start("code_replace").await else { return };
    replace_changes(&graph.store, "falkor").await;
    graph.finish().await;
}

#[tokio::test]
async fn falkordb_code_graph_two_repositories() {
    let Some(graph) = TestGraph::start("code_two").await else { return };
    two_repositories(&graph.store, "falkor").await;
    graph.finish().await;
}

#[tokio::test]
async fn bolt_compatible_code_graph_round_trip() {
    let Some(server) = bolt_server() else { return };
    let store = connect(&server).await;
    round_trip(&store, &common::unique_schema("code_round_trip"), true).await;
}

#[tokio::test]
async fn bolt_compatible_code_graph_replace() {
    let Some(server) = bolt_server() else { return };
    let store = connect(&server).await;
    replace_changes(&store, &common::unique_schema("code_replace")).await;
}

#[tokio::test]
async fn bolt_compatible_code_graph_two_repositories() {
    let Some(server) = bolt_server() else { return };
    let store = connect(&server).await;
    two_repositories(&store, &common::unique_schema("code_two")).await;
}

/// A generated repository of `files` files, 15 symbols each (a class inheriting the previous
/// file's, ten methods, two attributes, two functions), each file importing the previous one and
/// `os`; every tenth class also inherits `Exception`.
fn generated(key: &str, files: usize) -> RepoGraph {
    let mut graph =
        RepoGraph { repository: info(key, "big"), files: Vec::new(), symbols: Vec::new(), edges: Vec::new() };
    let sym = |path: &str, local: &str, name: &str, kind, parent: Option<String>, line| CodeSymbol {
        key: format!("{key}::{path}::{local}"),
        file: path.to_owned(),
        name: name.to_owned(),
        qualified_name: format!("{}.{local}", path.trim_end_matches(".py").replace('/', ".")),
        kind,
        parent,
        visibility: Visibility::Public,
        binding: MethodBinding::Instance,
        params: vec![param("value", ParamKind::PositionalOrKeyword, Some("int"), Some("0"))],
        return_type: Some("None".into()),
        type_name: None,
        is_async: line % 2 == 0,
        line,
        end_line: line + 1,
    };
    for i in 0..files {
        let path = format!("pkg/m{i:04}.py");
        graph.files.push(CodeFile {
            path: path.clone(),
            language: Language::Python,
            module: format!("pkg.m{i:04}"),
            line_count: 120,
        });
        let class = format!("C{i}");
        let class_key = format!("{key}::{path}::{class}");
        graph.symbols.push(sym(&path, &class, &class, SymbolKind::Class, None, 1));
        for m in 0..10 {
            let name = format!("method_{m}");
            graph.symbols.push(sym(
                &path,
                &format!("{class}.{name}"),
                &name,
                SymbolKind::Method,
                Some(class_key.clone()),
                2 + m,
            ));
        }
        for a in 0..2 {
            let name = format!("attr_{a}");
            graph.symbols.push(sym(
                &path,
                &format!("{class}.{name}"),
                &name,
                SymbolKind::Attribute,
                Some(class_key.clone()),
                20 + a,
            ));
        }
        for f in 0..2 {
            let name = format!("func_{f}");
            graph.symbols.push(sym(&path, &name, &name, SymbolKind::Function, None, 30 + f));
        }
        let edge = |kind, from: &str, to: String, resolved, names: Vec<String>| CodeEdge {
            kind,
            from: from.to_owned(),
            to,
            resolved,
            names,
        };
        if i > 0 {
            let previous = format!("pkg/m{:04}.py", i - 1);
            graph.edges.push(edge(
                CodeEdgeKind::Inherits,
                &class_key,
                format!("{key}::{previous}::C{}", i - 1),
                true,
                Vec::new(),
            ));
            graph.edges.push(edge(CodeEdgeKind::Imports, &path, previous, true, vec![format!("C{}", i - 1)]));
        }
        if i % 10 == 0 {
            graph.edges.push(edge(CodeEdgeKind::Inherits, &class_key, "Exception".into(), false, Vec::new()));
        }
        graph.edges.push(edge(CodeEdgeKind::Imports, &path, "os".into(), false, Vec::new()));
    }
    graph
}

#[tokio::test]
async fn falkordb_code_graph_thousand_files() {
    let Some(graph) = TestGraph::start("code_big").await else { return };
    let repo = generated("github.com/big/repo", 1_000);
    let started = Instant::now();
    graph.store.replace_repository(&repo).await.unwrap();
    let written = started.elapsed();
    let started = Instant::now();
    let loaded = graph.store.load_repository(&repo.repository.key).await.unwrap().unwrap();
    let load = started.elapsed();
    eprintln!(
        "FalkorDB code graph: {} files, {} symbols, {} edges: write {written:?}, load {load:?}",
        repo.files.len(),
        repo.symbols.len(),
        repo.edges.len()
    );
    assert_eq!(loaded.counts(), repo.counts());
    assert_eq!(sorted(loaded), sorted(repo.clone()));
    let started = Instant::now();
    graph.store.replace_repository(&repo).await.unwrap();
    eprintln!("FalkorDB code graph: replaced again in {:?}", started.elapsed());
    assert_eq!(
        stored_sizes(&graph.store, &repo.repository.key).await,
        (expected_nodes(&repo), expected_relationships(&repo))
    );
    graph.finish().await;
}
