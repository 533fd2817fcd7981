//! The code knowledge graph on the embedded backend, both stores: a real git repository made on
//! disk (`tests/fixtures/code_repo`: Python, TypeScript, JavaScript, Rust and Go with inheritance,
//! overloads, private members and re-exports) parsed into rows, re-parsed idempotently, changed,
//! kept apart from a second repository with the same paths, its docs searchable, its commands
//! answered; then AI-written scripts checked against it: every planted hallucination found, no
//! clean call flagged, unparsed packages uncertain.

use std::sync::Arc;
use std::time::Duration;

use crawlrag::adapters::falkordb::FalkorGraph;
use crawlrag::adapters::git_checkout::{GitCheckout, GitCheckoutConfig};
use crawlrag::app::ServiceSettings;
use crawlrag::codegraph::batch::BatchRequest;
use crawlrag::codegraph::{CheckOutcome, CheckRequest, CodeGraph, CodeGraphConfig, ParseRequest};
use crawlrag::domain::code::{MethodBinding, SymbolKind, Visibility};
use crawlrag::domain::code_check::{CheckKind, CheckStatus};
use crawlrag::error::Error;
use crawlrag::ports::{CodeGraphStore, GraphStore};
use crawlrag::progress::NoProgress;
use crawlrag::retrieve::RagQuery;

use crate::both_stores;
use crate::common::repo::TestRepo;
use crate::common::{self, Backend};

async fn parse(code: &CodeGraph, url: &str) -> crawlrag::codegraph::ParseReport {
    code.parse_repository(&ParseRequest { url: url.to_owned(), reference: None }, &NoProgress)
        .await
        .unwrap_or_else(|e| panic!("parse {url}: {e}"))
}

async fn check(code: &CodeGraph, script: &str, language: &str) -> CheckOutcome {
    let request =
        CheckRequest { script_path: None, script_content: Some(script.to_owned()), language: Some(language.into()) };
    code.check(request).await.expect("check")
}

both_stores!(a_repository_in_five_languages_becomes_a_namespaced_graph_replaced_on_reparse);
async fn a_repository_in_five_languages_becomes_a_namespaced_graph_replaced_on_reparse(backend: Backend) {
    let Some(services) = common::services() else { return };
    let (app, db) = common::app(&services, backend, "code_graph").await;
    let code = app.code.as_ref().expect("the app has a code graph");
    let repo = TestRepo::from_fixture("code_repo", "shoplib");

    let report = parse(code, &repo.url()).await;
    let key = report.repository.key.clone();
    assert_eq!(report.repository.name, "shoplib");
    assert_eq!(report.repository.commit.len(), 40);
    let languages: Vec<&str> = report.languages.keys().map(String::as_str).collect();
    assert_eq!(languages, ["go", "javascript", "python", "rust", "typescript"], "{report:?}");
    // tests/test_client.py is left out; every other source file is parsed.
    assert_eq!(report.counts.files, 12, "{report:?}");
    assert_eq!(report.files_skipped, 1);
    assert!(report.repository.root_modules.iter().any(|m| m == "shoplib"), "{:?}", report.repository.root_modules);
    assert!(report.repository.root_modules.iter().any(|m| m == "shop-web"));
    assert_eq!(db.count("code_files").await, 12);
    let symbols = db.count("code_symbols").await;
    assert_eq!(
        usize::try_from(symbols).unwrap(),
        report.counts.classes + report.counts.functions + report.counts.methods + report.counts.attributes
    );

    // What the graph holds, read back through the index.
    let index = code.index().await.unwrap();
    let one = |name: &str, kind: SymbolKind| {
        let found = index.find(|s| s.name == name && s.kind == kind);
        assert_eq!(found.len(), 1, "{name} {kind:?}: {found:?}");
        index.symbol(found[0]).clone()
    };
    let init = index.find(|s| s.qualified_name == "shoplib.base.BaseClient.__init__");
    assert_eq!(init.len(), 1, "dunder methods are kept");
    let init = index.symbol(init[0]).clone();
    let params: Vec<&str> = init.params.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(params, ["base_url", "timeout", "retries"], "self is not a parameter");
    assert_eq!(one("_helper", SymbolKind::Method).visibility, Visibility::Private);
    assert_eq!(one("from_env", SymbolKind::Method).binding, MethodBinding::Class);
    assert_eq!(one("closed", SymbolKind::Method).binding, MethodBinding::Property);
    assert_eq!(index.find(|s| s.name == "find" && s.kind == SymbolKind::Method).len(), 3, "overloads each kept");
    let client = index.types_named("Client");
    assert_eq!(index.bases_of(client[0]), ["shoplib.base.BaseClient"], "inheritance resolved through the import");
    let cart = index.types_named("Cart");
    assert_eq!(index.bases_of(cart[0]), ["web/src/base.Base"]);
    assert!(index.bases_of(index.types_named("Item")[0]).iter().any(|b| b.ends_with("Priced")), "implements");
    assert_eq!(one("Store", SymbolKind::Struct).qualified_name, "example.com/shop/inventory.Store");
    assert!(
        index.bases_of(index.types_named("Store")[0]).iter().any(|b| b.ends_with("inventory.Base")),
        "Go embedding"
    );
    assert_eq!(one("Add", SymbolKind::Method).parent.as_deref(), Some(one("Store", SymbolKind::Struct).key.as_str()));
    let price = index.find(|s| s.qualified_name == "shop_engine::pricing::Pricer::price");
    assert_eq!(price.len(), 1, "Rust impl methods belong to their type, in the crate's module path");
    assert!(index.bases_of(index.types_named("Pricer")[0]).iter().any(|b| b.ends_with("Discount")), "impl Trait for");

    // The README and docs are searchable under the repository's key.
    assert_eq!(report.docs_indexed, 2, "{report:?}");
    let hits = app
        .retriever
        .search(&RagQuery {
            query: "which courier ships the orders?".into(),
            source: Some(key.clone().into()),
            match_count: 3,
            offset: 0,
            mode: None,
            rerank: None,
        })
        .await
        .unwrap();
    assert!(hits.first().is_some_and(|h| h.content.contains("flux capacitor")), "{hits:?}");

    // Re-parsing the same commit is idempotent.
    let again = parse(code, &repo.url()).await;
    assert_eq!(again.counts, report.counts);
    assert_eq!(db.count("code_symbols").await, symbols);
    assert_eq!(db.count("code_edges").await, i64::try_from(report.counts.imports + report.counts.inherits).unwrap());

    // A new commit replaces the repository's previous graph.
    let commit = repo.commit(&[("shoplib/errors.py", None), ("docs/guide.md", None)]);
    let changed = parse(code, &repo.url()).await;
    assert_eq!(changed.repository.commit, commit);
    assert_eq!(changed.counts.files, 11);
    let index = code.index().await.unwrap();
    assert!(index.types_named("ShopError").is_empty(), "the deleted file's class is gone");
    assert_eq!(changed.docs_indexed, 1);

    // A second repository with the same paths never collides with the first.
    let other = TestRepo::from_fixture("code_repo", "shoplib");
    let second = parse(code, &other.url()).await;
    assert_ne!(second.repository.key, key);
    let index = code.index().await.unwrap();
    assert_eq!(index.types_named("Client").len(), 2);
    assert_eq!(index.types_named("ShopError").len(), 1, "only the second repository still has errors.py");

    // Commands.
    let repos = code.command("repos").await.unwrap();
    assert_eq!(repos.total_results, 2);
    let err = code.command("explore shoplib").await.unwrap_err();
    assert!(matches!(&err, Error::BadInput(m) if m.contains("several")), "{err}");
    let explore = code.command(&format!("explore {key}")).await.unwrap();
    assert_eq!(explore.data["statistics"]["files"], 11);
    let class = code.command("class Client").await.unwrap();
    let methods: Vec<&str> =
        class.data["class"]["methods"].as_array().unwrap().iter().map(|m| m["name"].as_str().unwrap()).collect();
    assert!(methods.contains(&"get_order") && methods.contains(&"_helper"), "{methods:?}");
    let method = code.command("method get_order Client").await.unwrap();
    assert_eq!(method.data["methods"][0]["parameters"][0], "[positional_only] order_id:int");
    assert!(matches!(code.command("class Nope").await, Err(Error::NotFound(_))));
    assert!(matches!(code.command("frobnicate").await, Err(Error::BadInput(_))));
    let cypher = code.command("query MATCH (n) DETACH DELETE n").await.unwrap_err();
    assert!(matches!(cypher, Error::BadInput(_)), "writes are refused: {cypher}");
    assert_eq!(db.count("code_files").await, 23, "nothing was deleted");

    // Deleting a repository removes exactly its rows.
    assert!(code.store().delete_repository(&second.repository.key).await.unwrap());
    assert_eq!(db.count("code_files").await, 11);
    // delete_source of the repository's key removes its docs and its code graph.
    let deleted = app.sources.delete(&key.clone().into()).await.unwrap();
    assert_eq!(deleted.pages, 1, "{deleted:?}");
    assert_eq!(db.count("code_files").await, 0);
    assert_eq!(code.command("repos").await.unwrap().total_results, 0);
}

/// The clean script: every call is right, including the ones a naive checker flags
/// (inherited methods, keyword-passed positionals, `*args`/`**kwargs`, classmethods, properties).
const CLEAN: &str = r#"import os
from shoplib import Client, Order
from shoplib.base import BaseClient
import requests

client = Client("https://shop.test", timeout=5.0)
client2 = Client(base_url="https://shop.test")
order = client.get_order(42, include_items=True)
order.refund(10.0, reason="damaged")
client.list_orders("open", "paid", limit=10, verbose=True)
client.find(3)
client.find("A-1", True)
client.close()
with Client.from_env() as c:
    c.close()
print(client.closed, client.base_url, BaseClient.version(), client2.timeout)
o = Order(1, 9.5)
requests.get("https://example.com", timeout=1)
os.path.join("a", "b")
"#;

/// Each planted hallucination, by line.
const PLANTED: &str = r#"from shoplib import Client
from shoplib.client import Clientt
client = Client("https://shop.test", timeout=5, verify=False)
client.get_orders(1)
client.get_order(order_id=5)
client.get_order(1, True, 3)
print(client.session_token)
order = client.get_order(1)
order.cancel()
from shoplib.payments import Gateway
client.find()
"#;

/// What [`PLANTED`] must yield: (line, type).
const PLANTED_FINDINGS: [(u32, &str); 9] = [
    (2, "IMPORT_NOT_FOUND"),
    (3, "INVALID_PARAMETERS"),
    (4, "METHOD_NOT_FOUND"),
    (5, "INVALID_PARAMETERS"),
    (6, "INVALID_PARAMETERS"),
    (7, "ATTRIBUTE_NOT_FOUND"),
    (9, "METHOD_NOT_FOUND"),
    (10, "IMPORT_NOT_FOUND"),
    (11, "INVALID_PARAMETERS"),
];

/// Check [`PLANTED`] and assert exactly its findings.
async fn check_planted(code: &CodeGraph) -> CheckOutcome {
    let planted = check(code, PLANTED, "python").await;
    let found: Vec<(u32, &str)> = planted.report.findings().map(|v| (v.line, v.finding_type().unwrap())).collect();
    assert_eq!(found, PLANTED_FINDINGS, "{:#?}", planted.report.validations);
    planted
}

both_stores!(planted_hallucinations_are_found_and_clean_calls_are_not);
async fn planted_hallucinations_are_found_and_clean_calls_are_not(backend: Backend) {
    let Some(services) = common::services() else { return };
    let (app, _db) = common::app(&services, backend, "code_check").await;
    let code = app.code.as_ref().unwrap();

    // Before anything is parsed, nothing can be a hallucination.
    let early = check(code, PLANTED, "python").await;
    assert_eq!(early.report.findings().count(), 0, "{:?}", early.report.validations);
    assert!(early.repositories.is_empty());

    let repo = TestRepo::from_fixture("code_repo", "shoplib");
    parse(code, &repo.url()).await;

    let clean = check(code, CLEAN, "python").await;
    let findings: Vec<_> = clean.report.findings().collect();
    assert!(findings.is_empty(), "clean calls flagged: {findings:#?}");
    let valid = clean.report.count(CheckStatus::Valid);
    assert!(valid >= 15, "the clean calls are checked, not skipped: {:#?}", clean.report.validations);
    assert!((clean.report.overall_confidence() - 0.0).abs() > 0.7);
    assert_eq!(clean.report.hallucination_rate(), 0.0);
    let external: Vec<_> = clean
        .report
        .validations
        .iter()
        .filter(|v| v.name.starts_with("requests") || v.name.starts_with("os"))
        .collect();
    assert!(!external.is_empty() && external.iter().all(|v| v.status == CheckStatus::Uncertain), "{external:?}");

    let planted = check_planted(code).await;
    let by_line = |line: u32| planted.report.findings().find(|v| v.line == line).unwrap();
    assert_eq!(by_line(2).suggestions.first().map(String::as_str), Some("Client"));
    assert!(by_line(3).message.contains("verify"), "{}", by_line(3).message);
    assert_eq!(by_line(4).suggestions.first().map(String::as_str), Some("get_order"));
    assert!(by_line(5).message.contains("positional-only"), "{}", by_line(5).message);
    assert!(by_line(9).message.contains("Order"), "{}", by_line(9).message);
    assert!(planted.report.hallucination_rate() > 0.4);

    // TypeScript against the same repository: the package is imported by its package.json name.
    let ts = "import { Cart, Item } from 'shop-web';\nconst cart = new Cart();\ncart.add(new Item('pen', 120));\n\
              cart.total();\ncart.checkout();\nconsole.log(cart.size());\n";
    let outcome = check(code, ts, "typescript").await;
    let found: Vec<(u32, &str)> = outcome.report.findings().map(|v| (v.line, v.finding_type().unwrap())).collect();
    assert_eq!(found, [(5, "METHOD_NOT_FOUND")], "{:#?}", outcome.report.validations);
    assert!(
        outcome
            .report
            .validations
            .iter()
            .any(|v| v.kind == CheckKind::Method && v.name == "cart.size" && v.status == CheckStatus::Valid),
        "inherited from Base"
    );
}

both_stores!(a_failing_repository_is_retried_with_growing_delays_and_the_others_succeed);
async fn a_failing_repository_is_retried_with_growing_delays_and_the_others_succeed(backend: Backend) {
    let Some(services) = common::services() else { return };
    // Remotes on loopback are allowed here, so a closed port is a transient failure.
    let repos = GitCheckout::new(GitCheckoutConfig { allow_private_networks: true, ..GitCheckoutConfig::default() });
    let settings = ServiceSettings {
        code: CodeGraphConfig { retry_base: Duration::from_millis(100), ..CodeGraphConfig::default() },
        repos: Some(Arc::new(repos)),
        ..ServiceSettings::default()
    };
    let (app, _db) = common::app_with(&services, backend, "code_batch", settings).await;
    let code = app.code.as_ref().unwrap();
    let a = TestRepo::from_fixture("code_repo", "alpha");
    let b = TestRepo::from_fixture("code_repo", "beta");
    // A git server that does not answer (a closed port): unreachable, so retried.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let broken = format!("http://{closed}/team/nothing.git");
    let request = BatchRequest {
        urls: vec![a.url(), broken.clone(), b.url(), "https://github.com/".into()],
        max_concurrent: 1,
        max_retries: 2,
    };
    let report = code.parse_batch(&request, &NoProgress).await.unwrap();
    assert_eq!(report.validation_errors.len(), 1, "{report:?}");
    assert_eq!(report.items.len(), 3);
    let failed: Vec<_> = report.failed().collect();
    assert_eq!(failed.len(), 1, "{report:#?}");
    let failure = failed[0];
    assert_eq!(failure.url, broken);
    assert_eq!(failure.attempts, 3);
    assert!(failure.retries_exhausted);
    assert_eq!(failure.retry_delays_ms.len(), 2);
    assert!(failure.retry_delays_ms[1] > failure.retry_delays_ms[0], "{:?}", failure.retry_delays_ms);
    assert!(failure.retry_delays_ms[0] >= 100);
    for item in report.items.iter().filter(|i| i.report.is_some()) {
        assert_eq!(item.attempts, 1);
        assert_eq!(item.report.as_ref().unwrap().counts.files, 12);
    }
}

/// The whole path with FalkorDB as the graph backend: the code graph lives there (not in the SQL
/// store), checks answer the same, the anchor's Cypher reads it, and writes are refused.
#[tokio::test]
async fn the_whole_code_graph_path_runs_on_falkordb() {
    let Some(services) = common::services() else { return };
    let Some(test_graph) = crate::graph_falkordb::TestGraph::start("code_app").await else { return };
    let falkor = Arc::new(FalkorGraph::connect(&test_graph.url, &test_graph.name).await.expect("connect"));
    let settings = ServiceSettings {
        graph: Some(Arc::clone(&falkor) as Arc<dyn GraphStore>),
        code_store: Some(falkor as Arc<dyn CodeGraphStore>),
        ..ServiceSettings::default()
    };
    let (app, db) = common::app_with(&services, Backend::Sqlite, "code_falkor", settings).await;
    let code = app.code.as_ref().unwrap();
    let repo = TestRepo::from_fixture("code_repo", "shoplib");
    let report = parse(code, &repo.url()).await;
    assert_eq!(report.counts.files, 12);
    assert_eq!(db.count("code_files").await, 0, "the code graph lives in FalkorDB");

    check_planted(code).await;
    assert_eq!(check(code, CLEAN, "python").await.report.findings().count(), 0);

    let query = "query MATCH (c:Class)-[:HAS_MEMBER]->(m:Method {name: 'get_order'}) RETURN c.name AS class, \
                 m.params_detailed AS params";
    let answer = code.command(query).await.unwrap();
    assert_eq!(answer.data["results"][0]["class"], "Client", "{:?}", answer.data);
    assert_eq!(answer.data["results"][0]["params"][0], "[positional_only] order_id:int");
    let refused = code.command("query MATCH (n:CodeSymbol) DETACH DELETE n").await.unwrap_err();
    assert!(matches!(refused, Error::BadInput(_)), "{refused}");
    let explore = code.command(&format!("explore {}", report.repository.key)).await.unwrap();
    assert_eq!(explore.data["statistics"]["methods"], report.counts.methods, "nothing was deleted");
    let rows = falkor_count(&app, "MATCH (s:CodeSymbol) RETURN count(s) AS n").await;
    let symbols = report.counts.classes + report.counts.functions + report.counts.methods + report.counts.attributes;
    assert_eq!(rows, i64::try_from(symbols).unwrap());
    test_graph.finish().await;
}

async fn falkor_count(app: &crawlrag::app::App, query: &str) -> i64 {
    let code = app.code.as_ref().unwrap();
    let answer = code.command(&format!("query {query}")).await.unwrap();
    answer.data["results"][0]["n"].as_i64().unwrap()
}
