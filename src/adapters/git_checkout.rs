//! [`RepoSource`] on the `git` command line: a shallow clone (`--depth 1`) of a GitHub URL, any git
//! URL, a `file://` URL or a local path, at a branch, tag or commit, into a temporary folder that
//! is removed when the [`Checkout`] is dropped and on every error. User input never reaches git
//! where it could be read as an option (`--` comes first), git never prompts, and the checkout is
//! held to a file-count and size cap.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use async_trait::async_trait;
use tempfile::TempDir;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::Command;
use tokio::time::Instant;
use tracing::{info, warn};

use crate::domain::target::{TrustedHosts, forbidden_reason};
use crate::ports::{Checkout, RepoError, RepoSource};

/// What [`GitCheckout`] accepts, for the messages that refuse something else.
const ACCEPTED: &str = "expected https://github.com/owner/repo (optionally /tree/<ref>), an http(s)://, ssh://, \
                        git:// or file:// git URL, user@host:owner/repo.git, or a local path to a git repository";
/// Lines of git's stderr kept in an error.
const STDERR_LINES: usize = 6;
/// Characters of git's stderr kept in an error.
const STDERR_CHARS: usize = 1000;

#[derive(Debug, Clone)]
pub struct GitCheckoutConfig {
    /// Cap on the bytes of the checked-out files (`.git` not counted).
    pub max_bytes: u64,
    /// Cap on the number of checked-out files (`.git` not counted).
    pub max_files: usize,
    /// The whole checkout (every git command) must finish within this.
    pub timeout: Duration,
    /// Whether local paths and `file://` URLs are accepted.
    pub allow_local: bool,
    /// Where the temporary folders go; `None` is the system temp dir.
    pub temp_root: Option<PathBuf>,
    /// Allow remotes on loopback, private, link-local and metadata addresses (local use only).
    pub allow_private_networks: bool,
    /// Private hosts cloned from anyway.
    pub trusted_hosts: TrustedHosts,
}

impl Default for GitCheckoutConfig {
    fn default() -> Self {
        Self {
            max_bytes: 500 * 1024 * 1024,
            max_files: 50_000,
            timeout: Duration::from_secs(120),
            allow_local: true,
            temp_root: None,
            allow_private_networks: false,
            trusted_hosts: TrustedHosts::default(),
        }
    }
}

/// Checks repositories out with the `git` CLI (which must be on `PATH`).
#[derive(Debug, Clone, Default)]
pub struct GitCheckout {
    config: GitCheckoutConfig,
}

impl GitCheckout {
    #[must_use]
    pub fn new(config: GitCheckoutConfig) -> Self {
        Self { config }
    }

    /// Refuse a remote whose host is (or resolves to) a private address, unless allowed or
    /// trusted; for http(s), answer the pin that makes git dial exactly the address checked
    /// (a DNS answer that changes between the check and the clone cannot redirect it).
    async fn guard_remote(&self, remote: &str, shown: &str) -> Result<Option<String>, RepoError> {
        if self.config.allow_private_networks {
            return Ok(None);
        }
        let (scheme, host, port) = match url::Url::parse(remote) {
            Ok(url) if url.has_host() => {
                let port = url.port_or_known_default().unwrap_or(match url.scheme() {
                    "ssh" => 22,
                    "git" => 9418,
                    _ => 443,
                });
                (url.scheme().to_owned(), url.host_str().unwrap_or_default().to_owned(), port)
            }
            // scp-like user@host:path
            _ => {
                let host = remote.split_once(':').map_or(remote, |(h, _)| h);
                let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
                ("ssh".to_owned(), host.to_owned(), 22)
            }
        };
        let bare = host.trim_matches(['[', ']']).to_owned();
        if self.config.trusted_hosts.contains(&bare) {
            return Ok(None);
        }
        let addresses: Vec<std::net::IpAddr> = match bare.parse::<std::net::IpAddr>() {
            Ok(ip) => vec![ip],
            Err(_) => tokio::net::lookup_host((bare.as_str(), port))
                .await
                .map_err(|e| RepoError::Unreachable {
                    url: shown.to_owned(),
                    reason: format!("cannot resolve {bare}: {e}"),
                })?
                .map(|a| a.ip())
                .collect(),
        };
        if let Some(reason) = addresses.iter().find_map(|ip| forbidden_reason(*ip)) {
            return Err(RepoError::Invalid(format!(
                "{shown}: {bare} is a {reason}; repositories on private networks are refused (set \
                 CRAWLRAG_ALLOW_PRIVATE_NETWORKS=true or list the host in CRAWLRAG_TRUSTED_HOSTS)"
            )));
        }
        let Some(first) = addresses.first() else {
            return Err(RepoError::Unreachable { url: shown.to_owned(), reason: format!("{bare} has no address") });
        };
        Ok(matches!(scheme.as_str(), "http" | "https").then(|| match first {
            std::net::IpAddr::V6(v6) => format!("{bare}:{port}:[{v6}]"),
            std::net::IpAddr::V4(v4) => format!("{bare}:{port}:{v4}"),
        }))
    }
}

/// A checkout in a temporary folder, removed on drop.
#[derive(Debug)]
pub struct GitCheckoutDir {
    root: PathBuf,
    commit: String,
    dir: TempDir,
}

impl GitCheckoutDir {
    /// The temporary folder holding [`Checkout::root`]; gone once this is dropped.
    #[must_use]
    pub fn temp_dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Checkout for GitCheckoutDir {
    fn root(&self) -> &Path {
        &self.root
    }

    fn commit(&self) -> &str {
        &self.commit
    }
}

/// Where a repository is.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Location {
    /// A URL or `user@host:path`, as git is to be given it.
    Remote(String),
    /// A folder on this machine (from a path or a `file://` URL), not yet checked to exist.
    Local(PathBuf),
}

/// A parsed request: where, and which ref (`None`: the default branch).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Target {
    location: Location,
    reference: Option<String>,
}

fn invalid(input: &str, why: &str) -> RepoError {
    RepoError::Invalid(format!("{}: {why}; {ACCEPTED}", input.escape_debug()))
}

/// Parse what a user typed into a [`Target`], refusing anything git could misread. No I/O.
fn parse_repository(input: &str, reference: Option<&str>, allow_local: bool) -> Result<Target, RepoError> {
    let input = input.trim();
    if input.is_empty() {
        return Err(invalid(input, "empty repository"));
    }
    if input.chars().any(char::is_control) {
        return Err(invalid(input, "control characters are not allowed"));
    }
    if input.starts_with('-') {
        return Err(invalid(input, "a repository cannot start with '-'"));
    }
    // git reads `<transport>::<address>` as a remote helper (`ext::` runs a command).
    if let Some(i) = input.find("::")
        && input[..i].chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    {
        return Err(invalid(input, "git transport helpers (<transport>::<address>) are not allowed"));
    }
    let mut reference = match reference.map(str::trim).filter(|r| !r.is_empty()) {
        Some(r) => Some(check_ref(input, r)?),
        None => None,
    };
    let location = if input.contains("://") {
        if input.chars().any(char::is_whitespace) {
            return Err(invalid(input, "whitespace is not allowed in a URL"));
        }
        parse_url(input, &mut reference)?
    } else if is_scp_like(input) {
        if input.chars().any(char::is_whitespace) {
            return Err(invalid(input, "whitespace is not allowed in a URL"));
        }
        check_scp(input)?;
        Location::Remote(input.to_owned())
    } else {
        Location::Local(PathBuf::from(input))
    };
    if matches!(location, Location::Local(_)) && !allow_local {
        return Err(invalid(input, "local paths and file:// URLs are not allowed here"));
    }
    Ok(Target { location, reference })
}

fn parse_url(input: &str, reference: &mut Option<String>) -> Result<Location, RepoError> {
    let url = url::Url::parse(input).map_err(|e| invalid(input, &format!("not a URL ({e})")))?;
    match url.scheme() {
        "file" => {
            let path = url.to_file_path().map_err(|()| invalid(input, "not a file:// URL of a local path"))?;
            return Ok(Location::Local(path));
        }
        "http" | "https" | "ssh" | "git" => {}
        other => return Err(invalid(input, &format!("the scheme '{other}' is not accepted"))),
    }
    let host = url.host_str().unwrap_or_default();
    if host.is_empty() || host.starts_with('-') {
        return Err(invalid(input, "the URL has no valid host"));
    }
    if url.username().starts_with('-') {
        return Err(invalid(input, "the user name cannot start with '-'"));
    }
    if matches!(host.to_ascii_lowercase().as_str(), "github.com" | "www.github.com") {
        return github(input, &url, reference);
    }
    Ok(Location::Remote(url.as_str().to_owned()))
}

/// `https://github.com/owner/repo[.git][/][/tree/<ref>]` to `https://github.com/owner/repo.git`;
/// the `/tree/<ref>` becomes the ref when none was given.
fn github(input: &str, url: &url::Url, reference: &mut Option<String>) -> Result<Location, RepoError> {
    let segments: Vec<&str> = url.path_segments().map(|s| s.filter(|s| !s.is_empty()).collect()).unwrap_or_default();
    let (owner, repo, rest) = match segments.as_slice() {
        [owner, repo, rest @ ..] => (*owner, repo.strip_suffix(".git").unwrap_or(*repo), rest),
        _ => return Err(invalid(input, "a GitHub URL names an owner and a repository")),
    };
    let valid = |s: &str| {
        !s.is_empty()
            && !s.starts_with('-')
            && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    };
    if !valid(owner) || !valid(repo) {
        return Err(invalid(input, "not a GitHub owner/repository"));
    }
    match rest {
        [] => {}
        ["tree", tree_ref @ ..] if !tree_ref.is_empty() => {
            if reference.is_none() {
                *reference = Some(check_ref(input, &tree_ref.join("/"))?);
            }
        }
        _ => return Err(invalid(input, "a GitHub page, not a repository")),
    }
    Ok(Location::Remote(format!("https://github.com/{owner}/{repo}.git")))
}

/// git's rule: a colon with no slash before it is `[user@]host:path` (ssh).
fn is_scp_like(input: &str) -> bool {
    input.find(':').is_some_and(|colon| !input[..colon].contains('/'))
}

fn check_scp(input: &str) -> Result<(), RepoError> {
    let (login, path) = input.split_once(':').unwrap_or((input, ""));
    let (user, host) = login.rsplit_once('@').map_or((None, login), |(u, h)| (Some(u), h));
    let name = |s: &str| {
        !s.is_empty()
            && !s.starts_with('-')
            && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    };
    if !name(host) || user.is_some_and(|u| !name(u)) {
        return Err(invalid(input, "not a valid user@host"));
    }
    if path.is_empty() || path.starts_with('-') {
        return Err(invalid(input, "the path after ':' is empty or starts with '-'"));
    }
    Ok(())
}

/// A branch, tag or commit name git will not read as an option or a range.
fn check_ref(input: &str, reference: &str) -> Result<String, RepoError> {
    let bad = reference.starts_with('-')
        || reference.starts_with('/')
        || reference.ends_with('/')
        || reference.ends_with(".lock")
        || reference.len() > 255
        || reference.contains("..")
        || reference.contains("@{")
        || reference.chars().any(|c| c.is_whitespace() || c.is_control() || "~^:?*[\\".contains(c));
    if bad {
        return Err(RepoError::Invalid(format!(
            "{}: '{}' is not a valid branch, tag or commit",
            input.escape_debug(),
            reference.escape_debug()
        )));
    }
    Ok(reference.to_owned())
}

/// A hex commit id (abbreviated or full) the fallback may fetch.
fn looks_like_commit(reference: &str) -> bool {
    (7..=64).contains(&reference.len()) && reference.chars().all(|c| c.is_ascii_hexdigit())
}

/// The input as errors show it: no credentials of an http(s) URL.
fn shown(input: &str) -> String {
    match url::Url::parse(input.trim()) {
        Ok(mut url)
            if matches!(url.scheme(), "http" | "https") && (!url.username().is_empty() || url.password().is_some()) =>
        {
            let _ = url.set_password(None);
            let _ = url.set_username("");
            url.to_string()
        }
        _ => input.trim().escape_debug().to_string(),
    }
}

/// Why a git command failed.
#[derive(Debug)]
enum GitFailure {
    Spawn(std::io::Error),
    TimedOut,
    Failed { stderr: String },
}

/// Kills the process group of a running git (git and the helpers it started) unless disarmed.
struct GroupKill(Option<u32>);

impl Drop for GroupKill {
    fn drop(&mut self) {
        if let Some(pid) = self.0.take().and_then(|pid| i32::try_from(pid).ok()) {
            // SAFETY: kill(2) with a negative pid signals that process group; the group leader is
            // our child, not yet reaped, so the id still names it.
            unsafe {
                libc::kill(-pid, libc::SIGKILL);
            }
        }
    }
}

/// Runs git with no prompts and no hooks, under one deadline.
struct Git {
    deadline: Instant,
    local: bool,
    /// `http.curloptResolve` entries pinning an http(s) remote to the address that was checked.
    pins: Vec<String>,
}

impl Git {
    async fn run<S: AsRef<OsStr>>(&self, cwd: Option<&Path>, args: &[S]) -> Result<Vec<u8>, GitFailure> {
        let mut cmd = Command::new("git");
        if let Some(cwd) = cwd {
            cmd.current_dir(cwd);
        }
        let file = if self.local { "protocol.file.allow=always" } else { "protocol.file.allow=never" };
        cmd.args(["-c", "core.hooksPath=/dev/null", "-c", file, "-c", "protocol.ext.allow=never"]).args([
            "-c",
            "advice.detachedHead=false",
            "-c",
            "init.defaultBranch=main",
        ]);
        for pin in &self.pins {
            // Dial the address the guard checked, and never follow a redirect elsewhere.
            cmd.arg("-c").arg(format!("http.curloptResolve={pin}")).args(["-c", "http.followRedirects=false"]);
        }
        cmd.args(args)
            .env("GIT_TERMINAL_PROMPT", "0")
            .env("GIT_ASKPASS", "true")
            .env("SSH_ASKPASS", "true")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("LC_ALL", "C");
        for var in [
            "GIT_DIR",
            "GIT_WORK_TREE",
            "GIT_INDEX_FILE",
            "GIT_OBJECT_DIRECTORY",
            "GIT_ALTERNATE_OBJECT_DIRECTORIES",
            "GIT_NAMESPACE",
            "GIT_CONFIG_PARAMETERS",
            "GIT_CONFIG_COUNT",
        ] {
            cmd.env_remove(var);
        }
        if std::env::var_os("GIT_SSH_COMMAND").is_none() && std::env::var_os("GIT_SSH").is_none() {
            cmd.env("GIT_SSH_COMMAND", "ssh -o BatchMode=yes");
        }
        cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).kill_on_drop(true).process_group(0);
        let mut child = cmd.spawn().map_err(GitFailure::Spawn)?;
        let mut group = GroupKill(child.id());
        let (stdout, stderr) = (child.stdout.take(), child.stderr.take());
        let finished = tokio::time::timeout_at(self.deadline, async {
            let (out, err, status) = tokio::join!(read_all(stdout), read_all(stderr), child.wait());
            (out, err, status)
        })
        .await;
        let Ok((out, err, status)) = finished else {
            drop(group); // kills the group; then reap git
            let _ = child.wait().await;
            return Err(GitFailure::TimedOut);
        };
        group.0 = None;
        let status = status.map_err(GitFailure::Spawn)?;
        if status.success() {
            Ok(out)
        } else {
            Err(GitFailure::Failed { stderr: tail(&String::from_utf8_lossy(&err)) })
        }
    }
}

async fn read_all(pipe: Option<impl AsyncRead + Unpin>) -> Vec<u8> {
    let mut buf = Vec::new();
    if let Some(mut pipe) = pipe {
        let _ = pipe.read_to_end(&mut buf).await;
    }
    buf
}

/// The last lines of git's stderr, on one line.
fn tail(stderr: &str) -> String {
    let lines: Vec<&str> = stderr.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    let text = lines[lines.len().saturating_sub(STDERR_LINES)..].join(" | ");
    if text.is_empty() {
        return "git failed without a message".to_owned();
    }
    let count = text.chars().count();
    match text.char_indices().nth(count.saturating_sub(STDERR_CHARS)) {
        Some((start, _)) if start > 0 => format!("…{}", &text[start..]),
        _ => text,
    }
}

/// Files and bytes under `root`, `.git` not counted, symlinks not followed.
fn measure(root: &Path) -> std::io::Result<(usize, u64)> {
    let (mut files, mut bytes) = (0usize, 0u64);
    let mut stack = vec![root.to_owned()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let entry = entry?;
            let kind = entry.file_type()?;
            if kind.is_dir() {
                if entry.file_name() != ".git" {
                    stack.push(entry.path());
                }
            } else {
                files += 1;
                bytes += entry.metadata()?.len();
            }
        }
    }
    Ok((files, bytes))
}

fn mib(bytes: u64) -> String {
    let mib = bytes as f64 / (1024.0 * 1024.0);
    format!("{mib:.1} MiB")
}

impl GitCheckout {
    fn failed(&self, shown: &str, local: bool, reference: Option<&str>, failure: GitFailure) -> RepoError {
        let url = shown.to_owned();
        match failure {
            GitFailure::TimedOut => {
                RepoError::Unreachable { url, reason: format!("timed out after {} s", self.config.timeout.as_secs()) }
            }
            GitFailure::Spawn(e) => {
                RepoError::Unreachable { url, reason: format!("cannot run git ({e}); is git installed?") }
            }
            GitFailure::Failed { stderr } => {
                let lower = stderr.to_ascii_lowercase();
                let ref_missing = ["not found in upstream", "couldn't find remote ref", "could not find remote branch"]
                    .iter()
                    .any(|p| lower.contains(p))
                    || lower.contains("not our ref")
                    || lower.contains("unable to read tree");
                match reference {
                    Some(r) if ref_missing => {
                        RepoError::Invalid(format!("{url}: no branch, tag or commit '{r}' ({stderr})"))
                    }
                    _ if local => RepoError::Invalid(format!("{url}: not a readable git repository ({stderr})")),
                    _ => RepoError::Unreachable { url, reason: stderr },
                }
            }
        }
    }

    /// Clone `url` at `reference` into `dest` (which must not exist).
    async fn clone_into(&self, git: &Git, url: &str, reference: Option<&str>, dest: &Path) -> Result<(), GitFailure> {
        let mut args: Vec<&OsStr> =
            ["clone", "--template=", "--depth", "1", "--no-tags", "--single-branch"].iter().map(OsStr::new).collect();
        if let Some(r) = reference {
            args.extend([OsStr::new("--branch"), OsStr::new(r)]);
        }
        args.extend([OsStr::new("--"), OsStr::new(url), dest.as_os_str()]);
        match git.run(None, &args).await {
            Err(GitFailure::Failed { stderr }) if reference.is_some_and(looks_like_commit) => {
                // `--branch` takes branches and tags only: fetch the commit itself.
                let commit = reference.unwrap_or_default();
                if dest.exists() {
                    let _ = tokio::fs::remove_dir_all(dest).await;
                }
                let fallback = async {
                    git.run(
                        None,
                        &[
                            OsStr::new("init"),
                            OsStr::new("--template="),
                            OsStr::new("-q"),
                            OsStr::new("--"),
                            dest.as_os_str(),
                        ],
                    )
                    .await?;
                    git.run(Some(dest), &["fetch", "--depth", "1", "--no-tags", "-q", "--", url, commit]).await?;
                    git.run(Some(dest), &["checkout", "-q", "FETCH_HEAD"]).await.map(drop)
                };
                fallback.await.map_err(|e| match e {
                    GitFailure::Failed { stderr: fetch } => {
                        GitFailure::Failed { stderr: format!("{stderr} | {fetch}") }
                    }
                    other @ (GitFailure::Spawn(_) | GitFailure::TimedOut) => other,
                })
            }
            other => other.map(drop),
        }
    }
}

#[async_trait]
impl RepoSource for GitCheckout {
    async fn checkout(&self, url: &str, reference: Option<&str>) -> Result<Box<dyn Checkout>, RepoError> {
        let target = parse_repository(url, reference, self.config.allow_local)?;
        let shown = shown(url);
        let mut pins = Vec::new();
        let (git_url, local) = match &target.location {
            Location::Remote(remote) => {
                pins.extend(self.guard_remote(remote, &shown).await?);
                (remote.clone(), false)
            }
            Location::Local(path) => {
                let folder = tokio::fs::canonicalize(path)
                    .await
                    .map_err(|e| RepoError::Invalid(format!("{shown}: no such folder ({e})")))?;
                if !folder.is_dir() {
                    return Err(RepoError::Invalid(format!("{shown}: not a folder")));
                }
                let folder = folder.to_str().ok_or_else(|| RepoError::Invalid(format!("{shown}: not a UTF-8 path")))?;
                // file:// so that --depth applies (a plain path is a local clone, which ignores it)
                (format!("file://{folder}"), true)
            }
        };
        let mut builder = tempfile::Builder::new();
        builder.prefix("crawlrag-repo-");
        let temp_root = self.config.temp_root.clone().unwrap_or_else(std::env::temp_dir);
        let dir = builder.tempdir_in(&temp_root).map_err(|e| RepoError::Unreachable {
            url: shown.clone(),
            reason: format!("cannot create a temporary folder in {}: {e}", temp_root.display()),
        })?;
        let root = dir.path().join("repo");
        let git = Git { deadline: Instant::now() + self.config.timeout, local, pins };
        let reference = target.reference.as_deref();
        self.clone_into(&git, &git_url, reference, &root)
            .await
            .map_err(|e| self.failed(&shown, local, reference, e))?;

        let head =
            git.run(Some(&root), &["rev-parse", "HEAD"]).await.map_err(|e| self.failed(&shown, local, None, e))?;
        let commit = String::from_utf8_lossy(&head).trim().to_owned();
        if !matches!(commit.len(), 40 | 64) || !commit.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(RepoError::Unreachable {
                url: shown,
                reason: format!("git rev-parse HEAD answered '{commit}'"),
            });
        }

        let walk_root = root.clone();
        let measured = tokio::task::spawn_blocking(move || measure(&walk_root)).await;
        let (files, bytes) = match measured {
            Ok(Ok(counts)) => counts,
            Ok(Err(e)) => {
                return Err(RepoError::Unreachable { url: shown, reason: format!("cannot read the checkout: {e}") });
            }
            Err(e) => {
                return Err(RepoError::Unreachable { url: shown, reason: format!("cannot read the checkout: {e}") });
            }
        };
        let (max_files, max_bytes) = (self.config.max_files, self.config.max_bytes);
        let too_large = if files > max_files {
            Some(format!("{files} files, more than the cap of {max_files} files"))
        } else if bytes > max_bytes {
            Some(format!(
                "{bytes} bytes ({}) of files, more than the cap of {max_bytes} bytes ({})",
                mib(bytes),
                mib(max_bytes)
            ))
        } else {
            None
        };
        if let Some(reason) = too_large {
            let path = dir.path().to_owned();
            if let Err(e) = dir.close() {
                warn!(path = %path.display(), error = %e, "could not remove an oversized checkout");
            }
            return Err(RepoError::TooLarge { url: shown, reason });
        }
        info!(url = %shown, reference, commit = %commit, files, bytes, "repository checked out");
        Ok(Box::new(GitCheckoutDir { root, commit, dir }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(input: &str, reference: Option<&str>) -> Result<Target, RepoError> {
        parse_repository(input, reference, true)
    }

    fn remote(url: &str, reference: Option<&str>) -> Target {
        Target { location: Location::Remote(url.to_owned()), reference: reference.map(str::to_owned) }
    }

    fn refused(input: &str) -> String {
        match parse(input, None) {
            Err(RepoError::Invalid(message)) => message,
            other => panic!("{input:?} should be refused, got {other:?}"),
        }
    }

    #[test]
    fn github_urls_normalise_to_the_clone_url() {
        let want = remote("https://github.com/owner/repo.git", None);
        for input in [
            "https://github.com/owner/repo",
            "https://github.com/owner/repo.git",
            "https://github.com/owner/repo/",
            "  https://github.com/owner/repo  ",
            "https://www.github.com/owner/repo?tab=readme",
        ] {
            assert_eq!(parse(input, None).unwrap(), want, "{input}");
        }
    }

    #[test]
    fn github_tree_urls_give_the_ref_unless_one_is_given() {
        assert_eq!(
            parse("https://github.com/owner/repo/tree/feature/x", None).unwrap(),
            remote("https://github.com/owner/repo.git", Some("feature/x"))
        );
        assert_eq!(
            parse("https://github.com/owner/repo/tree/main/", Some("v1.0")).unwrap(),
            remote("https://github.com/owner/repo.git", Some("v1.0"))
        );
        assert!(refused("https://github.com/owner/repo/issues/3").contains("not a repository"));
        assert!(refused("https://github.com/owner").contains("owner and a repository"));
    }

    #[test]
    fn other_git_urls_pass_through() {
        assert_eq!(
            parse("https://gitlab.com/g/sub/p.git", None).unwrap(),
            remote("https://gitlab.com/g/sub/p.git", None)
        );
        assert_eq!(
            parse("ssh://git@host.example/o/r.git", Some("dev")).unwrap(),
            remote("ssh://git@host.example/o/r.git", Some("dev"))
        );
        assert_eq!(parse("git://host.example/r.git", None).unwrap(), remote("git://host.example/r.git", None));
        assert_eq!(parse("http://127.0.0.1:9/x.git", None).unwrap(), remote("http://127.0.0.1:9/x.git", None));
        assert_eq!(
            parse("git@github.com:owner/repo.git", None).unwrap(),
            remote("git@github.com:owner/repo.git", None)
        );
        assert_eq!(parse("host.example:repo", None).unwrap(), remote("host.example:repo", None));
    }

    #[test]
    fn local_paths_and_file_urls() {
        let local = |p: &str| Target { location: Location::Local(PathBuf::from(p)), reference: None };
        assert_eq!(parse("file:///srv/repo", None).unwrap(), local("/srv/repo"));
        assert_eq!(parse("file:///srv/my%20repo", None).unwrap(), local("/srv/my repo"));
        assert_eq!(parse("/srv/repo", None).unwrap(), local("/srv/repo"));
        assert_eq!(parse("./repo", None).unwrap(), local("./repo"));
        assert_eq!(parse("../my repo", None).unwrap(), local("../my repo"));
        assert_eq!(parse("./a:b", None).unwrap(), local("./a:b"));
        for input in ["/srv/repo", "file:///srv/repo", "repo"] {
            assert!(
                matches!(parse_repository(input, None, false), Err(RepoError::Invalid(m)) if m.contains("not allowed"))
            );
        }
    }

    #[test]
    fn refusals_say_what_is_accepted() {
        for input in ["", "   ", "\t"] {
            assert!(refused(input).contains("empty"), "{input:?}");
        }
        let message = refused("");
        assert!(message.contains("https://github.com/owner/repo") && message.contains("local path"), "{message}");
        assert!(refused("https://github.com/a b/c").contains("whitespace"));
        assert!(refused("git@host:owner/a b").contains("whitespace"));
        assert!(refused("https://host/x\n.git").contains("control"));
        assert!(refused("/srv/repo\u{0}").contains("control"));
        assert!(refused("ftp://host/x.git").contains("scheme 'ftp'"));
        assert!(refused("javascript://x").contains("scheme"));
    }

    #[test]
    fn option_and_transport_injection_is_refused() {
        for input in ["--upload-pack=x", "-u x", "--", "-"] {
            assert!(refused(input).contains("'-'"), "{input}");
        }
        for input in ["ext::sh -c x", "ext::sh", "fd::17", "transport::x"] {
            assert!(refused(input).contains("transport helpers"), "{input}");
        }
        assert!(refused("-oProxyCommand=x@host:repo").contains("'-'"));
        assert!(refused("git@-oProxyCommand=x:repo").contains("user@host"));
        assert!(refused("host:-repo").contains("starts with '-'"));
        assert!(refused("ssh://-oProxyCommand=x/repo").contains("host"));
        assert!(refused("ssh://-x@host/repo").contains("user name"));
        // a ref is never an option or a range
        for reference in ["--upload-pack=x", "-b", "a..b", "a b", "x:y", "HEAD^", "@{-1}", "a\nb"] {
            assert!(
                matches!(parse("https://github.com/o/r", Some(reference)), Err(RepoError::Invalid(m)) if m.contains("not a valid")),
                "{reference:?}"
            );
        }
        assert!(matches!(parse("https://github.com/o/r/tree/--x", None), Err(RepoError::Invalid(_))));
    }

    #[test]
    fn errors_hide_http_credentials() {
        assert_eq!(shown("https://user:token@host.example/x.git"), "https://host.example/x.git");
        assert_eq!(shown("git@host:o/r.git"), "git@host:o/r.git");
    }

    #[test]
    fn commit_ids_and_stderr_tails() {
        assert!(looks_like_commit("0123456789abcdef0123456789abcdef01234567"));
        assert!(looks_like_commit("abc1234"));
        assert!(!looks_like_commit("main"));
        assert!(!looks_like_commit("abc"));
        assert_eq!(tail("Cloning...\n\nfatal: one\nfatal: two\n"), "Cloning... | fatal: one | fatal: two");
        assert_eq!(tail(""), "git failed without a message");
        let long = "x".repeat(5000);
        assert!(tail(&long).chars().count() <= STDERR_CHARS + 1);
    }
}
