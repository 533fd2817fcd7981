//! The scaled-out topology as local processes (the shape of `deploy/compose.yaml`): API replicas
//! (`crawlrag serve --role api`) behind an nginx load balancer, and workers (`crawlrag worker`),
//! on one Postgres schema and one Redis (a key prefix of their own, so tests run side by side).
//! Workers can be killed (SIGKILL), stopped (SIGTERM) and restarted; Redis can be a private
//! instance the test restarts.

use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use tokio::process::{Child, Command};

use super::Services;
use super::binary::{self, StoreTarget};
use super::nginx::{Nginx, free_port};

/// Fast timings, so recoveries happen within a test's patience.
const FAST: &[(&str, &str)] = &[
    ("CRAWLRAG_QUEUE_VISIBILITY_SECS", "4"),
    ("CRAWLRAG_RECONCILE_SECS", "1"),
    ("CRAWLRAG_LOST_AFTER_SECS", "3"),
    ("CRAWLRAG_FOREGROUND_WAIT_SECS", "5"),
    // Every request comes from the balancer's loopback address.
    ("CRAWLRAG_RATE_LIMIT_IP", "off"),
];

/// A `redis-server` of the test's own (from `CRAWLRAG_TEST_REDIS_SERVER`), to restart at will.
pub struct OwnRedis {
    child: Option<Child>,
    pub port: u16,
    dir: PathBuf,
}

impl OwnRedis {
    pub async fn start(dir: &Path) -> Self {
        let mut redis = Self { child: None, port: free_port(), dir: dir.to_owned() };
        redis.launch().await;
        redis
    }

    async fn launch(&mut self) {
        let binary = std::env::var("CRAWLRAG_TEST_REDIS_SERVER").unwrap_or_else(|_| "redis-server".into());
        std::fs::create_dir_all(&self.dir).unwrap();
        let child = Command::new(binary)
            .args(["--bind", "127.0.0.1", "--port", &self.port.to_string(), "--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(&self.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn redis-server (scripts/redis.sh installs it)");
        self.child = Some(child);
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("redis-server did not start on port {}", self.port);
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Kill it (its data is gone: nothing is persisted) and start it again on the same port.
    pub async fn restart_empty(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().await.expect("kill redis");
        }
        self.launch().await;
    }
}

/// The Redis every test shares (`scripts/redis.sh`).
pub fn shared_redis_url() -> String {
    let url = std::env::var("CRAWLRAG_TEST_REDIS_URL").ok();
    assert!(
        url.is_some() || std::env::var("CI").as_deref() != Ok("true"),
        "CI=true but CRAWLRAG_TEST_REDIS_URL is missing (run: eval \"$(scripts/services.sh)\")"
    );
    url.unwrap_or_else(|| "redis://127.0.0.1:56380".into())
}

struct Process {
    child: Child,
    /// Its probe address (workers) or MCP address (API replicas).
    base: String,
}

pub struct Topology {
    pub store: StoreTarget,
    env: Vec<(String, String)>,
    apis: Vec<Process>,
    workers: Vec<Option<Process>>,
    balancer: Nginx,
    services: Services,
}

impl Topology {
    /// `apis` API replicas behind nginx and `workers` workers, each answering `/ready`.
    pub async fn start(
        services: &Services,
        work: &Path,
        redis_url: &str,
        apis: usize,
        workers: usize,
        env: &[(&str, &str)],
    ) -> Self {
        let schema = super::unique_schema("cluster");
        let store = StoreTarget::Postgres { url: services.database_url.clone(), schema: schema.clone() };
        let mut all_env: Vec<(String, String)> = FAST.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        all_env.push(("REDIS_URL".into(), redis_url.to_owned()));
        all_env.push(("CRAWLRAG_QUEUE_PREFIX".into(), schema));
        all_env.extend(env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
        // Migrate once up front, as the deployment's migration job does.
        let (code, _, err) = binary::run_cli(services, &store, &["migrate"]).await;
        assert_eq!(code, 0, "crawlrag migrate: {err}");
        let mut api_processes = Vec::new();
        for _ in 0..apis {
            let port = free_port();
            let base = format!("http://127.0.0.1:{port}");
            let args = ["serve", "--http", &format!("127.0.0.1:{port}"), "--role", "api"].map(String::from);
            api_processes.push(spawn(services, &store, &all_env, &args, base));
        }
        let upstream: String = api_processes
            .iter()
            .map(|p| format!("server {};", p.base.trim_start_matches("http://")))
            .collect::<Vec<_>>()
            .join(" ");
        let balancer = Nginx::start(
            &work.join("balancer"),
            &format!("upstream crawlrag_api {{ {upstream} keepalive 32; }}"),
            "location / { proxy_pass http://crawlrag_api; proxy_http_version 1.1; proxy_set_header Connection \"\"; \
             proxy_set_header Host $host; proxy_buffering off; proxy_read_timeout 300s; }",
        )
        .await;
        let mut topology = Self {
            store,
            env: all_env,
            apis: api_processes,
            workers: Vec::new(),
            balancer,
            services: services.clone(),
        };
        for _ in 0..workers {
            let worker = topology.spawn_worker();
            topology.workers.push(Some(worker));
        }
        for process in topology.apis.iter_mut().chain(topology.workers.iter_mut().flatten()) {
            wait_ready(process).await;
        }
        topology
    }

    fn spawn_worker(&self) -> Process {
        let port = free_port();
        let args = ["worker", "--http", &format!("127.0.0.1:{port}")].map(String::from);
        spawn(&self.services, &self.store, &self.env, &args, format!("http://127.0.0.1:{port}"))
    }

    /// The load balancer's base URL (MCP at `/mcp`).
    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.balancer.port)
    }

    /// SIGKILL worker `index` (a crash: no shutdown code runs).
    pub async fn kill_worker(&mut self, index: usize) {
        if let Some(mut worker) = self.workers[index].take() {
            worker.child.kill().await.expect("kill worker");
        }
    }

    /// SIGTERM worker `index` and wait for it to exit (a drain).
    pub async fn stop_worker(&mut self, index: usize) -> ExitStatus {
        let mut worker = self.workers[index].take().expect("a running worker");
        let pid = worker.child.id().expect("worker pid");
        let sent = std::process::Command::new("kill").args(["-TERM", &pid.to_string()]).status().expect("kill");
        assert!(sent.success());
        tokio::time::timeout(Duration::from_secs(60), worker.child.wait())
            .await
            .expect("the worker exits after SIGTERM")
            .expect("wait")
    }

    /// Start one more worker; answers its index.
    pub async fn add_worker(&mut self) -> usize {
        let mut worker = self.spawn_worker();
        wait_ready(&mut worker).await;
        self.workers.push(Some(worker));
        self.workers.len() - 1
    }

    /// Start worker `index` again (after a kill or stop).
    pub async fn restart_worker(&mut self, index: usize) {
        let mut worker = self.spawn_worker();
        wait_ready(&mut worker).await;
        self.workers[index] = Some(worker);
    }
}

fn spawn(services: &Services, store: &StoreTarget, env: &[(String, String)], args: &[String], base: String) -> Process {
    let mut cmd = Command::new(binary::BIN);
    cmd.args(args).stdin(Stdio::null()).stdout(Stdio::null());
    binary::configure(&mut cmd, services, store);
    cmd.envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    // Debugging a topology: CRAWLRAG_TEST_CLUSTER_LOG=crawlrag=debug shows every process's log.
    if let Ok(filter) = std::env::var("CRAWLRAG_TEST_CLUSTER_LOG") {
        cmd.env("RUST_LOG", filter);
    }
    let child = cmd.spawn().expect("spawn crawlrag");
    Process { child, base }
}

async fn wait_ready(process: &mut Process) {
    let client = reqwest::Client::new();
    for _ in 0..600 {
        if let Ok(Some(status)) = process.child.try_wait() {
            panic!("a crawlrag process exited with {status} before it was ready (its stderr is above)");
        }
        if let Ok(resp) = client.get(format!("{}/ready", process.base)).send().await
            && resp.status().is_success()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{} was not ready within 60 s", process.base);
}

impl Drop for Topology {
    /// SIGTERM every process (workers drain quickly when idle), then SIGKILL on drop of `Child`.
    fn drop(&mut self) {
        for process in self.apis.iter().chain(self.workers.iter().flatten()) {
            if let Some(pid) = process.child.id() {
                let _ = std::process::Command::new("kill").args(["-KILL", &pid.to_string()]).status();
            }
        }
    }
}
