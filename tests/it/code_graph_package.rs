//! The code knowledge graph of a real open-source package, not a fixture written for it: the
//! `requests` 2.32.3 source distribution from PyPI (`scripts/sdists.sh` downloads it into
//! `CRAWLRAG_TEST_SDIST_DIR`), unpacked, committed to a git repository and parsed on the embedded
//! store. The graph must hold its real classes, methods and resolved bases, and a realistic
//! AI-written script using it must have each planted hallucination found at its line while none of
//! its correct calls is flagged.

use std::path::PathBuf;
use std::process::Command;

use crawlrag::codegraph::{CheckRequest, ParseRequest};
use crawlrag::domain::code::SymbolKind;
use crawlrag::domain::code_check::CheckStatus;
use crawlrag::progress::NoProgress;

use crate::common::repo::TestRepo;
use crate::common::{self, Backend};

const SDIST: &str = "requests-2.32.3.tar.gz";

/// The folder holding the sdists, or `None` (with the reason printed) when it is not set up
/// locally. Under `CI=true` a missing folder is a failure, never a skip.
fn sdist_dir() -> Option<PathBuf> {
    match std::env::var_os("CRAWLRAG_TEST_SDIST_DIR") {
        Some(dir) => Some(PathBuf::from(dir)),
        None => {
            let reason = "CRAWLRAG_TEST_SDIST_DIR must be set (run: eval \"$(scripts/services.sh)\")";
            assert!(std::env::var("CI").as_deref() != Ok("true"), "CI=true but the sdists are missing: {reason}");
            eprintln!("SKIPPED: {reason}");
            None
        }
    }
}

/// `requests` unpacked from its sdist and committed: the repository is named `requests`.
fn requests_repo(dir: &std::path::Path) -> TestRepo {
    let sdist = dir.join(SDIST);
    assert!(sdist.is_file(), "{} is missing: run scripts/sdists.sh", sdist.display());
    let unpacked = tempfile::tempdir().expect("temp dir");
    let status = Command::new("tar").arg("-xzf").arg(&sdist).arg("-C").arg(unpacked.path()).status().expect("run tar");
    assert!(status.success(), "tar -xzf {}: {status}", sdist.display());
    TestRepo::from_dir(&unpacked.path().join("requests-2.32.3"), "requests")
}

/// A script an assistant might write against requests: the correct calls, then the planted
/// hallucinations on lines 3, 17, 18 and 19.
const SCRIPT: &str = r#"import requests
from requests.adapters import HTTPAdapter
from requests.magic import Wand

url = "https://api.example.com/items"
resp = requests.get(url, timeout=5)
s = requests.Session()
s.headers.update({"User-Agent": "inventory-bot/1.0"})
s.mount("https://", HTTPAdapter(max_retries=3))
page = s.get(url, params={"page": 2}, timeout=5)
created = s.post(url, json={"name": "pen"})
raw = s.request("GET", url)
r = requests.models.Response()
data = r.json()
r.raise_for_status()
s.close()
items = s.fetch(url)
insecure = requests.Session(verify=False)
text = r.jsonify()
"#;

/// The planted hallucinations, by line.
const PLANTED: [(u32, &str); 4] =
    [(3, "IMPORT_NOT_FOUND"), (17, "METHOD_NOT_FOUND"), (18, "INVALID_PARAMETERS"), (19, "METHOD_NOT_FOUND")];

#[tokio::test]
async fn the_requests_sdist_becomes_a_graph_that_catches_hallucinated_calls() {
    let Some(services) = common::services() else { return };
    let Some(dir) = sdist_dir() else { return };
    let repo = requests_repo(&dir);
    let (app, _db) = common::app(&services, Backend::Sqlite, "code_pkg").await;
    let code = app.code.as_ref().expect("the app has a code graph");

    let report = code
        .parse_repository(&ParseRequest { url: repo.url(), reference: None }, &NoProgress)
        .await
        .expect("parse requests");
    assert_eq!(report.repository.name, "requests");
    assert!(report.repository.root_modules.iter().any(|m| m == "requests"), "{:?}", report.repository.root_modules);
    assert!(report.languages.get("python").is_some_and(|n| *n >= 15), "{report:?}");
    // src/requests/*.py; the tests/ folder and setup.py are tooling.
    assert!(report.counts.files >= 15 && report.counts.classes >= 30, "{report:?}");

    let index = code.index().await.expect("index");
    let class = |name: &str| {
        let found = index.types_named(name);
        assert_eq!(found.len(), 1, "class {name}: {found:?}");
        found[0]
    };
    for name in ["Session", "Response", "PreparedRequest", "HTTPAdapter"] {
        let s = index.symbol(class(name));
        assert_eq!(s.kind, SymbolKind::Class, "{s:?}");
        assert!(s.qualified_name.starts_with("requests."), "{s:?}");
    }
    let session = class("Session");
    assert_eq!(index.symbol(session).qualified_name, "requests.sessions.Session");
    let methods: Vec<&str> = index
        .own_members(session)
        .iter()
        .map(|&m| index.symbol(m))
        .filter(|m| m.kind == SymbolKind::Method)
        .map(|m| m.name.as_str())
        .collect();
    for wanted in ["get", "post", "request", "mount", "__init__", "close", "send"] {
        assert!(methods.contains(&wanted), "Session.{wanted} missing: {methods:?}");
    }
    assert_eq!(index.bases_of(class("HTTPAdapter")), ["requests.adapters.BaseAdapter"], "resolved in its module");
    assert_eq!(index.bases_of(session), ["requests.sessions.SessionRedirectMixin"]);
    let init = index.find(|s| s.qualified_name == "requests.sessions.Session.__init__");
    assert_eq!(init.len(), 1);
    assert!(index.symbol(init[0]).params.is_empty(), "Session() takes no arguments: {:?}", index.symbol(init[0]));

    // The README is indexed under the repository's key.
    assert!(report.docs_indexed >= 1, "{report:?}");

    let request =
        CheckRequest { script_path: None, script_content: Some(SCRIPT.to_owned()), language: Some("python".into()) };
    let outcome = code.check(request).await.expect("check");
    let validations = &outcome.report.validations;
    let found: Vec<(u32, &str)> =
        outcome.report.findings().map(|v| (v.line, v.finding_type().unwrap_or_default())).collect();
    assert_eq!(found, PLANTED, "planted found, clean lines not flagged: {validations:#?}");
    let at = |line: u32| outcome.report.findings().find(|v| v.line == line).expect("finding");
    assert!(at(3).message.contains("magic"), "{:?}", at(3));
    assert!(at(17).name.ends_with("fetch"), "{:?}", at(17));
    // The closest names are by edit distance: `patch` is, `get` is too far from `fetch` to be listed.
    assert!(at(17).suggestions.iter().any(|s| s == "patch"), "closest Session methods suggested: {:?}", at(17));
    assert!(at(17).suggestions.iter().all(|s| methods.contains(&s.as_str())), "{:?}", at(17));
    assert!(at(18).message.contains("verify"), "{:?}", at(18));
    assert!(at(19).name.ends_with("jsonify"), "{:?}", at(19));
    assert!(at(19).suggestions.iter().any(|s| s == "json"), "{:?}", at(19));

    // The clean calls are checked against the graph, not waved through as uncertain.
    let valid_on = |line: u32| {
        validations.iter().any(|v| v.line == line && v.status == CheckStatus::Valid && v.repository.is_some())
    };
    for line in [1, 2, 6, 7, 9, 10, 11, 12, 13, 14, 15, 16] {
        assert!(valid_on(line), "line {line} was not validated: {validations:#?}");
    }
    assert!(outcome.report.hallucination_rate() > 0.0 && outcome.report.hallucination_rate() < 0.5);
    assert_eq!(outcome.repositories.len(), 1);
}
