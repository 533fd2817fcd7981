//! Running the built `crawlrag` binary as a real MCP server (stdio child or HTTP).

use std::process::Stdio;
use std::time::Duration;

use rmcp::model::{CallToolRequestParams, CallToolResult};
use rmcp::service::{RunningService, ServiceExt};
use rmcp::transport::{ConfigureCommandExt, TokioChildProcess};
use rmcp::{ClientHandler, RoleClient, ServiceError};
use serde_json::Value;
use tokio::process::{Child, Command};

use super::{Backend, Services, TEST_MAX_PAGE_BYTES, sqlite_path, unique_schema};

/// Which store the binary should use.
#[derive(Debug, Clone)]
pub enum StoreTarget {
    Postgres { url: String, schema: String },
    Sqlite(std::path::PathBuf),
}

impl StoreTarget {
    /// A store no other test uses, on `backend`.
    pub fn fresh(services: &Services, backend: Backend, prefix: &str) -> Self {
        match backend {
            Backend::Postgres => Self::Postgres { url: services.database_url.clone(), schema: unique_schema(prefix) },
            Backend::Sqlite => Self::Sqlite(sqlite_path(&unique_schema(prefix))),
        }
    }
}

pub const BIN: &str = env!("CARGO_BIN_EXE_crawlrag");

/// Environment that points the binary at the test services and a store of its own.
pub fn configure(cmd: &mut Command, services: &Services, store: &StoreTarget) {
    match store {
        StoreTarget::Postgres { url, schema } => {
            cmd.env("DATABASE_URL", url).env("CRAWLRAG_PG_SCHEMA", schema).env_remove("CRAWLRAG_DB");
        }
        StoreTarget::Sqlite(path) => {
            cmd.env_remove("DATABASE_URL").env("CRAWLRAG_DB", path);
        }
    }
    cmd.env("CRAWLRAG_EMBEDDING_MODEL_PATH", &services.model_path)
        .env("CRAWLRAG_ALLOW_PRIVATE_NETWORKS", "true")
        .env("CRAWLRAG_MAX_PAGE_BYTES", TEST_MAX_PAGE_BYTES.to_string())
        .env("CRAWLRAG_FETCH_TIMEOUT_SECS", "5")
        .env("RUST_LOG", "warn")
        .kill_on_drop(true);
}

/// An MCP client talking to `crawlrag serve` over stdio.
pub async fn stdio_client(services: &Services, store: &StoreTarget) -> RunningService<RoleClient, ()> {
    stdio_client_with(services, store, ()).await
}

/// An MCP client with its own handler (e.g. one recording progress notifications).
pub async fn stdio_client_with<H: ClientHandler>(
    services: &Services,
    store: &StoreTarget,
    handler: H,
) -> RunningService<RoleClient, H> {
    stdio_client_env(services, store, handler, &[]).await
}

/// [`stdio_client_with`] with extra environment for the server.
pub async fn stdio_client_env<H: ClientHandler>(
    services: &Services,
    store: &StoreTarget,
    handler: H,
    env: &[(&str, &str)],
) -> RunningService<RoleClient, H> {
    let cmd = Command::new(BIN).configure(|cmd| {
        cmd.arg("serve");
        configure(cmd, services, store);
        cmd.envs(env.iter().copied());
    });
    let transport = TokioChildProcess::new(cmd).expect("spawn crawlrag serve");
    handler.serve(transport).await.expect("MCP initialize over stdio")
}

/// `crawlrag serve --http` on a free loopback port, killed when dropped.
pub struct HttpServer {
    child: Child,
    pub base: String,
}

impl HttpServer {
    pub async fn start(services: &Services, store: &StoreTarget) -> Self {
        Self::start_env(services, store, &[]).await
    }

    /// [`HttpServer::start`] with extra environment for the server.
    pub async fn start_env(services: &Services, store: &StoreTarget, env: &[(&str, &str)]) -> Self {
        let port = free_port();
        let mut cmd = Command::new(BIN);
        cmd.args(["serve", "--http", &format!("127.0.0.1:{port}")]).stdin(Stdio::null());
        configure(&mut cmd, services, store);
        cmd.envs(env.iter().copied());
        let child = cmd.spawn().expect("spawn crawlrag serve --http");
        let mut server = Self { child, base: format!("http://127.0.0.1:{port}") };
        let client = reqwest::Client::new();
        for _ in 0..600 {
            // Its stderr is inherited, so the reason is printed above this panic.
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("crawlrag serve --http exited with {status} before answering /health");
            }
            if let Ok(resp) = client.get(format!("{}/health", server.base)).send().await
                && resp.status().is_success()
            {
                return server;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("crawlrag serve --http did not answer /health within 60 s");
    }
}

impl HttpServer {
    /// Stop the server abruptly (SIGKILL: no shutdown code runs), as a crash would.
    pub async fn kill(&mut self) {
        self.child.kill().await.expect("kill server");
    }

    /// Ask the server to stop (SIGTERM) and wait until it has exited.
    pub async fn terminate(&mut self) {
        let pid = self.child.id().expect("server pid");
        let status = std::process::Command::new("kill").args(["-TERM", &pid.to_string()]).status().expect("kill");
        assert!(status.success());
        tokio::time::timeout(Duration::from_secs(30), self.child.wait())
            .await
            .expect("server exits after SIGTERM")
            .expect("wait");
    }
}

impl Drop for HttpServer {
    /// SIGTERM first, so the server's shutdown closes the browser it launched (the SIGKILL of
    /// `kill_on_drop` runs no code, and Chromium would outlive the server); SIGKILL after 5 s.
    fn drop(&mut self) {
        terminate_blocking(&mut self.child, Duration::from_secs(5));
    }
}

/// SIGTERM `child` and wait up to `patience` for it to exit (from `Drop`: no runtime to await
/// on); answers whether it exited.
pub fn terminate_blocking(child: &mut Child, patience: Duration) -> bool {
    let Some(pid) = child.id() else { return true };
    let _ = std::process::Command::new("kill").args(["-TERM", &pid.to_string()]).status();
    let deadline = std::time::Instant::now() + patience;
    while std::time::Instant::now() < deadline {
        if matches!(child.try_wait(), Ok(Some(_))) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

/// Call a tool with JSON arguments.
pub async fn call<H: ClientHandler>(
    client: &RunningService<RoleClient, H>,
    tool: &'static str,
    args: Value,
) -> Result<CallToolResult, ServiceError> {
    let Value::Object(map) = args else { panic!("arguments must be an object") };
    client.call_tool(CallToolRequestParams::new(tool).with_arguments(map)).await
}

/// The JSON body of a tool result (structured content, else the first text block).
pub fn body(result: &CallToolResult) -> Value {
    if let Some(structured) = &result.structured_content {
        return structured.clone();
    }
    let text = result.content.iter().find_map(|c| c.as_text().map(|t| t.text.clone())).expect("text content");
    serde_json::from_str(&text).unwrap_or(Value::String(text))
}

pub fn is_error(result: &CallToolResult) -> bool {
    result.is_error == Some(true)
}

/// Run the CLI with `args` against `store`: (exit code, stdout as JSON or null, stderr).
pub async fn run_cli(services: &Services, store: &StoreTarget, args: &[&str]) -> (u8, Value, String) {
    let mut cmd = tokio::process::Command::new(BIN);
    cmd.args(args);
    configure(&mut cmd, services, store);
    let out = cmd.output().await.expect("run crawlrag");
    let code = u8::try_from(out.status.code().unwrap_or(255)).unwrap_or(255);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let json = serde_json::from_str(&stdout).unwrap_or(Value::Null);
    (code, json, String::from_utf8_lossy(&out.stderr).into_owned())
}
