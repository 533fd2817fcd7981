//! The code graph tools over MCP against the real binary (stdio): `parse_github_repository` in the
//! foreground and in the background (followed through `get_crawl_job`), scripts checked by path
//! (confined to `CRAWLRAG_SCRIPT_ROOTS`: traversal, symlinks out, folders and missing files are
//! tool errors, and the server goes on answering) and by content, `query_knowledge_graph`'s
//! commands (a write through `query` is refused and deletes nothing), the repository's README in
//! `perform_rag_query`, and repository URLs that would make git run a command or reach a private
//! address refused without creating anything.

use std::path::Path;
use std::time::Duration;

use rmcp::RoleClient;
use rmcp::model::CallToolResult;
use rmcp::service::RunningService;
use serde_json::{Value, json};

use crate::both_stores;
use crate::common::binary::{self, StoreTarget};
use crate::common::repo::TestRepo;
use crate::common::{self, Backend};

type Client = RunningService<RoleClient, ()>;

/// A script with one planted hallucination: `get_orders` (line 4) does not exist.
const SCRIPT: &str = "from shoplib import Client\n\
                      client = Client(\"https://shop.test\", timeout=5.0)\n\
                      order = client.get_order(42)\n\
                      client.get_orders(1)\n";

async fn call(client: &Client, tool: &'static str, args: Value) -> CallToolResult {
    binary::call(client, tool, args).await.unwrap_or_else(|e| panic!("{tool}: {e}"))
}

/// A successful tool call's body.
async fn ok(client: &Client, tool: &'static str, args: Value) -> Value {
    let result = call(client, tool, args).await;
    let body = binary::body(&result);
    assert!(!binary::is_error(&result), "{tool} failed: {body}");
    assert_eq!(body["success"], true, "{body}");
    body
}

/// A tool error's message, checked to be a `bad_input` that contains every one of `needles`.
async fn refused(client: &Client, tool: &'static str, args: Value, needles: &[&str]) -> String {
    let result = call(client, tool, args.clone()).await;
    let body = binary::body(&result);
    assert!(binary::is_error(&result), "{tool} {args} should fail: {body}");
    assert_eq!(body["success"], false, "{body}");
    assert_eq!(body["error_kind"], "bad_input", "{tool} {args}: {body}");
    let message = body["error"].as_str().unwrap_or_default().to_owned();
    for needle in needles {
        assert!(message.contains(needle), "{tool} {args}: '{needle}' not in: {message}");
    }
    message
}

/// Poll get_crawl_job until the job leaves `queued` and `running` (at most 60 s).
async fn until_finished(client: &Client, job_id: &str) -> Value {
    for _ in 0..600 {
        let job = ok(client, "get_crawl_job", json!({"job_id": job_id})).await["job"].clone();
        if job["state"] != "running" && job["state"] != "queued" {
            return job;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("job {job_id} still running after 60 s");
}

/// A folder of scripts (the server's only script root) beside a file outside it, a symlink from
/// inside to that file, and a sub-folder.
fn script_folders(dir: &Path) -> std::path::PathBuf {
    let root = dir.join("scripts");
    std::fs::create_dir_all(root.join("sub")).unwrap();
    std::fs::write(root.join("planted.py"), SCRIPT).unwrap();
    std::fs::write(root.join("sub/nested.py"), SCRIPT).unwrap();
    std::fs::write(dir.join("outside.py"), SCRIPT).unwrap();
    std::os::unix::fs::symlink(dir.join("outside.py"), root.join("link.py")).unwrap();
    root
}

/// The planted `get_orders` found on line 4 with `get_order` as the closest name, and nothing else.
fn assert_planted_found(body: &Value) {
    let found = body["hallucinations_detected"].as_array().unwrap_or_else(|| panic!("{body}"));
    assert_eq!(found.len(), 1, "{body}");
    assert_eq!(found[0]["type"], "METHOD_NOT_FOUND", "{body}");
    assert_eq!(found[0]["line"], 4, "{body}");
    assert_eq!(found[0]["location"], "line 4");
    assert!(found[0]["name"].as_str().unwrap().ends_with("get_orders"), "{body}");
    let closest: Vec<&str> = found[0]["closest_names"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    assert!(closest.contains(&"get_order"), "{body}");
    assert_eq!(body["analysis_metadata"]["script_lines"], 4, "{body}");
    assert!(body["validation_summary"]["valid_count"].as_u64().unwrap() >= 3, "{body}");
}

both_stores!(code_graph_tools_parse_check_and_query_over_stdio);
async fn code_graph_tools_parse_check_and_query_over_stdio(backend: Backend) {
    let Some(services) = common::services() else { return };
    let dir = tempfile::tempdir().unwrap();
    let root = script_folders(dir.path());
    let root_env = root.display().to_string();
    let store = StoreTarget::fresh(&services, backend, "code_tools");
    let client = binary::stdio_client_env(&services, &store, (), &[("CRAWLRAG_SCRIPT_ROOTS", &root_env)]).await;
    let repo = TestRepo::from_fixture("code_repo", "shoplib");

    // Parse in the foreground.
    let parsed = ok(&client, "parse_github_repository", json!({"repo_url": repo.url()})).await;
    assert_eq!(parsed["status"], "completed", "{parsed}");
    assert_eq!(parsed["repo_name"], "shoplib", "{parsed}");
    assert_eq!(parsed["statistics"]["files_processed"], 12, "{parsed}");
    let commit = parsed["commit"].as_str().unwrap();
    assert!(commit.len() == 40 && commit.chars().all(|c| c.is_ascii_hexdigit()), "{parsed}");
    let key = parsed["repository_key"].as_str().unwrap().to_owned();
    assert!(key.ends_with("/shoplib"), "{parsed}");
    assert_eq!(parsed["docs_indexed"], 2, "{parsed}");
    let counts = ok(&client, "query_knowledge_graph", json!({"command": format!("explore {key}")})).await;
    let statistics = counts["data"]["statistics"].clone();
    assert_eq!(statistics["files"], 12, "{counts}");
    assert!(statistics["methods"].as_u64().unwrap() > 5, "{counts}");

    // And in the background: a job id at once, then the job succeeds with the same result.
    let started = ok(&client, "parse_github_repository", json!({"repo_url": repo.url(), "background": true})).await;
    assert_eq!(started["status"], "running", "{started}");
    let job_id = started["job_id"].as_str().filter(|id| !id.is_empty()).expect("a job id").to_owned();
    let job = until_finished(&client, &job_id).await;
    assert_eq!(job["state"], "succeeded", "{job}");
    assert_eq!(job["tool"], "parse_github_repository", "{job}");
    // The job keeps the parse's own report (like every job: `counts`, `repository`), not the tool's
    // answer fields (`statistics.files_processed`, `commit`).
    assert_eq!(job["result"]["counts"]["files"], 12, "{job}");
    assert_eq!(job["result"]["repository"]["commit"], commit, "{job}");
    assert_eq!(job["result"]["repository"]["key"], key.as_str(), "{job}");

    // Scripts by path, relative and absolute, and by content.
    let absolute = root.join("planted.py").display().to_string();
    for path in ["planted.py", "sub/nested.py", absolute.as_str()] {
        let body = ok(&client, "check_ai_script_hallucinations", json!({"script_path": path})).await;
        assert_planted_found(&body);
        assert!(body["script_path"].as_str().unwrap().starts_with(&root_env), "canonical path: {body}");
        assert_eq!(body["analysis_metadata"]["language"], "python", "from the extension: {body}");
    }
    let body = ok(&client, "check_ai_script_hallucinations", json!({"script_content": SCRIPT})).await;
    assert_planted_found(&body);
    assert_eq!(body["analysis_metadata"]["repositories_checked"], json!([key]), "{body}");

    // Paths that leave the root, or are not files, are refused; the server answers the next call.
    let outside = ["is not a file inside the allowed script folders", root_env.as_str()];
    let dir_outside = dir.path().join("outside.py").display().to_string();
    let cases: [(&str, &[&str]); 5] = [
        ("../outside.py", &outside),
        (dir_outside.as_str(), &outside),
        ("link.py", &outside),
        ("missing.py", &outside),
        ("sub", &["script_path 'sub' is not a regular file"]),
    ];
    for (path, needles) in cases {
        let message = refused(&client, "check_ai_script_hallucinations", json!({"script_path": path}), needles).await;
        assert!(message.contains(&format!("'{path}'")), "the path is named: {message}");
        assert!(!message.contains("get_orders"), "no file content leaks: {message}");
        let again = ok(&client, "query_knowledge_graph", json!({"command": "repos"})).await;
        assert_eq!(again["metadata"]["total_results"], 1, "{again}");
    }
    refused(&client, "check_ai_script_hallucinations", json!({}), &["give script_path or script_content"]).await;
    let language = json!({"script_content": SCRIPT, "language": "cobol"});
    refused(&client, "check_ai_script_hallucinations", language, &["unknown language 'cobol'"]).await;

    // query_knowledge_graph's commands.
    let repos = ok(&client, "query_knowledge_graph", json!({"command": "repos"})).await;
    assert_eq!(repos["command"], "repos");
    assert_eq!(repos["data"]["repositories"], json!(["shoplib"]), "{repos}");
    assert_eq!(repos["data"]["repository_details"][0]["key"], key.as_str(), "{repos}");
    assert_eq!(repos["data"]["repository_details"][0]["commit"], commit, "{repos}");
    let class = ok(&client, "query_knowledge_graph", json!({"command": "class Client"})).await;
    let methods: Vec<&str> = class["data"]["class"]["methods"]
        .as_array()
        .unwrap_or_else(|| panic!("{class}"))
        .iter()
        .filter_map(|m| m["name"].as_str())
        .collect();
    assert!(methods.contains(&"get_order") && methods.contains(&"list_orders"), "{class}");
    assert_eq!(class["data"]["class"]["bases"], json!(["shoplib.base.BaseClient"]), "{class}");
    let method = ok(&client, "query_knowledge_graph", json!({"command": "method get_order Client"})).await;
    assert_eq!(method["metadata"]["total_results"], 1, "{method}");
    assert_eq!(method["data"]["methods"][0]["class_name"], "Client", "{method}");
    assert_eq!(method["data"]["methods"][0]["parameters"][0], "[positional_only] order_id:int", "{method}");
    let unknown = json!({"command": "frobnicate now"});
    refused(&client, "query_knowledge_graph", unknown, &["unknown command 'frobnicate'", "commands: repos"]).await;
    let missing = call(&client, "query_knowledge_graph", json!({"command": "class Clinet"})).await;
    assert!(binary::is_error(&missing));
    assert_eq!(binary::body(&missing)["error_kind"], "not_found", "{:?}", binary::body(&missing));
    assert!(binary::body(&missing)["error"].as_str().unwrap().contains("Client"), "closest named");
    // Writes are refused by the read-only guard before any backend; the embedded store has no
    // Cypher engine, so a read is a precise refusal too, not a crash; nothing is deleted.
    let write = json!({"command": "query MATCH (n) DETACH DELETE n"});
    refused(&client, "query_knowledge_graph", write, &["read-only query refused", "DETACH"]).await;
    let read = json!({"command": "query MATCH (c:Class) RETURN c.name"});
    refused(&client, "query_knowledge_graph", read, &["Cypher queries need a graph database server"]).await;
    let after = ok(&client, "query_knowledge_graph", json!({"command": format!("explore {key}")})).await;
    assert_eq!(after["data"]["statistics"], statistics, "nothing was deleted");

    // The README is searchable under the repository's key.
    let question = json!({"query": "which courier ships the orders?", "source_filter": key, "match_count": 3});
    let hits = ok(&client, "perform_rag_query", question).await;
    let first = &hits["results"][0];
    assert!(first["content"].as_str().unwrap_or_default().contains("flux capacitor"), "{hits}");
    assert_eq!(first["source_id"], key.as_str(), "{hits}");
    assert!(first["url"].as_str().unwrap().ends_with("/README.md"), "{hits}");
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn repository_urls_that_could_run_commands_or_reach_private_hosts_are_refused() {
    let Some(services) = common::services() else { return };
    let dir = tempfile::tempdir().unwrap();
    let store = StoreTarget::fresh(&services, Backend::Sqlite, "code_tools_bad");
    // The production default: remotes on private networks are refused.
    let env = [("CRAWLRAG_ALLOW_PRIVATE_NETWORKS", "false")];
    let client = binary::stdio_client_env(&services, &store, (), &env).await;
    let marker = |name: &str| dir.path().join(name).display().to_string();
    let (upload, helper) = (marker("x"), marker("pwned"));

    let upload_pack = format!("--upload-pack=touch {upload}");
    // Read by git as an option: refused before git runs.
    let why = ["--upload-pack=touch", "a repository cannot start with '-'"];
    refused(&client, "parse_github_repository", json!({"repo_url": upload_pack}), &why).await;
    let ext = format!("ext::sh -c touch% {helper}");
    let why = ["git transport helpers (<transport>::<address>) are not allowed", "ext::sh"];
    refused(&client, "parse_github_repository", json!({"repo_url": ext}), &why).await;
    let private = json!({"repo_url": "http://127.0.0.1:1/x.git"});
    let why = ["127.0.0.1", "repositories on private networks are refused", "CRAWLRAG_ALLOW_PRIVATE_NETWORKS"];
    refused(&client, "parse_github_repository", private, &why).await;
    // A ref that git would read as an option.
    let repo = TestRepo::from_fixture("code_repo", "shoplib");
    let option = json!({"repo_url": repo.url(), "ref": "--output=/tmp/x"});
    refused(&client, "parse_github_repository", option, &["is not a valid branch, tag or commit"]).await;
    let batch = json!({"repo_urls_json": "not json", "max_concurrent": 1, "max_retries": 0});
    refused(&client, "parse_github_repositories_batch", batch, &["repo_urls_json must be a JSON array"]).await;

    assert!(!Path::new(&upload).exists() && !Path::new(&helper).exists(), "no command ran");
    let repos = ok(&client, "query_knowledge_graph", json!({"command": "repos"})).await;
    assert_eq!(repos["metadata"]["total_results"], 0, "nothing was parsed: {repos}");
    let sources = ok(&client, "get_available_sources", json!({})).await;
    assert_eq!(sources["count"], 0, "no docs were indexed: {sources}");
    client.cancel().await.unwrap();
}
