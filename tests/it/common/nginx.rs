//! nginx on a loopback port for tests: a static fixture site with an access log (millisecond
//! times, to measure politeness), or a load balancer in front of API replicas. The binary comes
//! from `CRAWLRAG_TEST_NGINX` (`scripts/services.sh` installs it).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::process::{Child, Command};

pub struct Nginx {
    child: Child,
    pub port: u16,
    /// Its working folder (config, pid, logs).
    pub work: PathBuf,
}

fn binary() -> PathBuf {
    let configured = std::env::var_os("CRAWLRAG_TEST_NGINX").map(PathBuf::from);
    let found =
        configured.into_iter().chain(["/usr/sbin/nginx", "/usr/bin/nginx"].map(PathBuf::from)).find(|p| p.is_file());
    found.expect("nginx is not installed (scripts/nginx.sh installs it; scripts/services.sh runs it)")
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find_map(|l| l.strip_prefix("Uid:")).map(|u| u.split_whitespace().next() == Some("0")))
        .unwrap_or(false)
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

impl Nginx {
    /// nginx with `server_body` as the one server's directives (its `listen` is added), and
    /// `http_extra` at the http level (upstreams).
    pub async fn start(work: &Path, http_extra: &str, server_body: &str) -> Self {
        let port = free_port();
        std::fs::create_dir_all(work).expect("nginx work dir");
        // Running as root, workers would switch to `nobody`, who cannot read the test's folders.
        let user = if is_root() { "user root;" } else { "" };
        let conf = format!(
            "{user}\nworker_processes 1;\ndaemon off;\npid {work}/nginx.pid;\nerror_log {work}/error.log;\n\
             events {{ worker_connections 4096; }}\n\
             http {{\n  log_format timed '$msec $request_time $status $request_uri';\n  access_log {work}/access.log timed;\n\
               types {{ text/html html; application/xml xml; text/plain txt; }}\n  {http_extra}\n\
               server {{ listen 127.0.0.1:{port}; {server_body} }}\n}}\n",
            work = work.display(),
        );
        let conf_path = work.join("nginx.conf");
        std::fs::write(&conf_path, conf).expect("nginx.conf");
        let child = Command::new(binary())
            .arg("-p")
            .arg(work)
            .arg("-c")
            .arg(&conf_path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn nginx");
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Self { child, port, work: work.to_owned() };
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let log = std::fs::read_to_string(work.join("error.log")).unwrap_or_default();
        panic!("nginx did not start on port {port}: {log}");
    }

    /// A static site from `root`.
    pub async fn serve_folder(work: &Path, root: &Path) -> Self {
        Self::start(work, "", &format!("root {};", root.display())).await
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Access log lines: (when the request started, in seconds since the epoch; status; path).
    pub fn access_log(&self) -> Vec<(f64, u16, String)> {
        let text = std::fs::read_to_string(self.work.join("access.log")).unwrap_or_default();
        text.lines()
            .filter_map(|line| {
                let mut parts = line.splitn(4, ' ');
                let ended: f64 = parts.next()?.parse().ok()?;
                let took: f64 = parts.next()?.parse().ok()?;
                let status = parts.next()?.parse().ok()?;
                Some((ended - took, status, parts.next()?.to_owned()))
            })
            .collect()
    }
}

impl Drop for Nginx {
    /// SIGTERM: the master stops its workers (a SIGKILL would leave them running).
    fn drop(&mut self) {
        if !super::binary::terminate_blocking(&mut self.child, Duration::from_secs(5)) {
            let _ = self.child.start_kill();
        }
    }
}
