//! The benchmarks' fixture site: real documentation pages served by nginx on a loopback port.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub(crate) fn source_pages() -> Vec<PathBuf> {
    let rust_book = super::rust_book_dir();
    let dir = std::env::var_os("CRAWLRAG_BENCH_HTML_DIR").map(PathBuf::from).or(rust_book).unwrap_or_default();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.path())
                // print.html is the whole book on one 1.9 MB page: every other page again.
                .filter(|p| p.extension().is_some_and(|e| e == "html") && !p.ends_with("print.html"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

/// `page-{i}.html` symlinked to source page `i mod n`, and a sitemap listing them all.
pub(crate) fn build_site(site: &Path, sources: &[PathBuf], pages: usize) {
    std::fs::create_dir_all(site).expect("site dir");
    let mut sitemap = String::from("<?xml version=\"1.0\"?><urlset>");
    for i in 0..pages {
        let name = format!("page-{i}.html");
        let _ = std::os::unix::fs::symlink(&sources[i % sources.len()], site.join(&name));
        sitemap.push_str(&format!("<url><loc>/{name}</loc></url>"));
    }
    sitemap.push_str("</urlset>");
    std::fs::write(site.join("sitemap.xml"), sitemap).expect("sitemap");
}

/// nginx serving the site, stopped when dropped.
pub(crate) struct Nginx {
    child: Child,
    pub(crate) port: u16,
}

impl Nginx {
    pub(crate) fn start(work: &Path, site: &Path) -> Option<Self> {
        let Some(binary) = ["/usr/sbin/nginx", "/usr/bin/nginx"].into_iter().map(PathBuf::from).find(|p| p.is_file())
        else {
            println!("benchmark skipped: nginx not installed (scripts/nginx.sh installs it)");
            return None;
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0").ok()?.local_addr().ok()?.port();
        // Running as root, workers would switch to `nobody`, who cannot read a toolchain under /root.
        let user = if std::env::var("USER").as_deref() == Ok("root") || is_root() { "user root;" } else { "" };
        let conf = format!(
            "{user}\nworker_processes 2;\ndaemon off;\npid {work}/nginx.pid;\nerror_log {work}/nginx-error.log;\n\
             events {{ worker_connections 1024; }}\n\
             http {{ access_log off; types {{ text/html html; application/xml xml; }}\n\
               server {{ listen 127.0.0.1:{port}; root {site}; }} }}\n",
            work = work.display(),
            site = site.display(),
        );
        let conf_path = work.join("nginx.conf");
        std::fs::write(&conf_path, conf).ok()?;
        let child =
            Command::new(binary).arg("-p").arg(work).arg("-c").arg(&conf_path).stdout(Stdio::null()).spawn().ok()?;
        for _ in 0..50 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Some(Self { child, port });
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        println!("benchmark: nginx did not start (see {}/nginx-error.log)", work.display());
        None
    }
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find_map(|l| l.strip_prefix("Uid:")).map(|u| u.split_whitespace().next() == Some("0")))
        .unwrap_or(false)
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
