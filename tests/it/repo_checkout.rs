//! `GitCheckout` against real repositories the tests make on disk with the git CLI (no network):
//! local paths, `file://` URLs, branches, tags, commits, the caps, the errors, and the temporary
//! folder gone after every checkout and every failure.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crawlrag::adapters::git_checkout::{GitCheckout, GitCheckoutConfig};
use crawlrag::ports::{RepoError, RepoSource};
use tempfile::TempDir;

const README: &str = "# fixture\n";
const LIB: &str = "pub fn answer() -> u32 {\n    42\n}\n";
const LATER: &str = "added by the second commit\n";

use crate::common::repo::git;

/// A repository: `main` with two commits (the first tagged `v1`), and a branch `feature` off the
/// first commit with one more file.
struct Fixture {
    _dir: TempDir,
    repo: PathBuf,
    first: String,
    head: String,
    feature: String,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("temp dir");
    let repo = dir.path().join("origin");
    std::fs::create_dir_all(repo.join("src")).unwrap();
    git(&repo, &["init", "-q", "-b", "main"]);
    std::fs::write(repo.join("README.md"), README).unwrap();
    std::fs::write(repo.join("src/lib.rs"), LIB).unwrap();
    git(&repo, &["add", "."]);
    git(&repo, &["commit", "-q", "-m", "first"]);
    let first = git(&repo, &["rev-parse", "HEAD"]);
    git(&repo, &["tag", "v1"]);
    git(&repo, &["checkout", "-q", "-b", "feature"]);
    std::fs::write(repo.join("feature.txt"), "feature\n").unwrap();
    git(&repo, &["add", "."]);
    git(&repo, &["commit", "-q", "-m", "feature"]);
    let feature = git(&repo, &["rev-parse", "HEAD"]);
    git(&repo, &["checkout", "-q", "main"]);
    std::fs::write(repo.join("later.txt"), LATER).unwrap();
    git(&repo, &["add", "."]);
    git(&repo, &["commit", "-q", "-m", "second"]);
    let head = git(&repo, &["rev-parse", "HEAD"]);
    Fixture { _dir: dir, repo, first, head, feature }
}

/// A checkout adapter whose temporary folders go under a folder of the test's own.
fn source(config: GitCheckoutConfig) -> (GitCheckout, TempDir) {
    let temp_root = tempfile::tempdir().expect("temp root");
    let config = GitCheckoutConfig { temp_root: Some(temp_root.path().to_owned()), ..config };
    (GitCheckout::new(config), temp_root)
}

fn entries(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect()
}

#[tokio::test]
async fn checks_out_a_local_path_and_removes_it_on_drop() {
    let fx = fixture();
    let (source, temp_root) = source(GitCheckoutConfig::default());
    let checkout = source.checkout(fx.repo.to_str().unwrap(), None).await.expect("checkout");
    assert_eq!(checkout.commit(), fx.head);
    assert_eq!(checkout.commit(), git(checkout.root(), &["rev-parse", "HEAD"]));
    assert_eq!(std::fs::read_to_string(checkout.root().join("README.md")).unwrap(), README);
    assert_eq!(std::fs::read_to_string(checkout.root().join("src/lib.rs")).unwrap(), LIB);
    assert!(checkout.root().join("later.txt").is_file());
    assert!(!checkout.root().join("feature.txt").exists(), "only the default branch");
    // shallow: one commit, no tags
    assert_eq!(git(checkout.root(), &["rev-list", "--count", "HEAD"]), "1");
    assert_eq!(git(checkout.root(), &["tag"]), "");
    let folder = checkout.root().parent().unwrap().to_owned();
    assert!(folder.starts_with(temp_root.path()));
    drop(checkout);
    assert!(!folder.exists(), "{} is still there", folder.display());
    assert!(entries(temp_root.path()).is_empty());
}

#[tokio::test]
async fn checks_out_a_file_url_and_a_relative_path() {
    let fx = fixture();
    let (source, temp_root) = source(GitCheckoutConfig::default());
    let url = format!("file://{}", fx.repo.display());
    let checkout = source.checkout(&url, None).await.expect("file:// checkout");
    assert_eq!(checkout.commit(), fx.head);
    assert!(checkout.root().join("README.md").is_file());
    drop(checkout);

    // the same repository as a path relative to the working directory
    let cwd = std::env::current_dir().unwrap().canonicalize().unwrap();
    let target = fx.repo.canonicalize().unwrap();
    let ups = cwd.components().count() - 1;
    let relative = PathBuf::from("../".repeat(ups)).join(target.strip_prefix("/").unwrap());
    let checkout = source.checkout(relative.to_str().unwrap(), None).await.expect("relative checkout");
    assert_eq!(checkout.commit(), fx.head);
    drop(checkout);
    assert!(entries(temp_root.path()).is_empty());
}

#[tokio::test]
async fn checks_out_a_branch_and_a_tag() {
    let fx = fixture();
    let (source, temp_root) = source(GitCheckoutConfig::default());
    let repo = fx.repo.to_str().unwrap();
    let branch = source.checkout(repo, Some("feature")).await.expect("branch");
    assert_eq!(branch.commit(), fx.feature);
    assert_eq!(branch.commit(), git(&fx.repo, &["rev-parse", "feature"]));
    assert!(branch.root().join("feature.txt").is_file());
    assert!(!branch.root().join("later.txt").exists());
    let tag = source.checkout(repo, Some("v1")).await.expect("tag");
    assert_eq!(tag.commit(), fx.first);
    assert!(!tag.root().join("later.txt").exists());
    drop((branch, tag));
    assert!(entries(temp_root.path()).is_empty());
}

#[tokio::test]
async fn checks_out_a_full_commit_sha_by_fetching_it() {
    let fx = fixture();
    let (source, temp_root) = source(GitCheckoutConfig::default());
    let checkout = source.checkout(fx.repo.to_str().unwrap(), Some(&fx.first)).await.expect("commit");
    assert_eq!(checkout.commit(), fx.first);
    assert_eq!(git(checkout.root(), &["rev-parse", "HEAD"]), fx.first);
    assert!(checkout.root().join("src/lib.rs").is_file());
    assert!(!checkout.root().join("later.txt").exists());
    assert_eq!(git(checkout.root(), &["rev-list", "--count", "HEAD"]), "1");
    drop(checkout);

    // a ref that is neither a branch, a tag nor a commit
    let missing = "0123456789abcdef0123456789abcdef01234567";
    let err = source.checkout(fx.repo.to_str().unwrap(), Some(missing)).await.unwrap_err();
    assert!(matches!(&err, RepoError::Invalid(m) if m.contains(missing)), "{err}");
    let err = source.checkout(fx.repo.to_str().unwrap(), Some("no-such-branch")).await.unwrap_err();
    assert!(matches!(&err, RepoError::Invalid(m) if m.contains("no branch, tag or commit 'no-such-branch'")), "{err}");
    assert!(entries(temp_root.path()).is_empty());
}

#[tokio::test]
async fn too_many_files_is_too_large_and_leaves_nothing() {
    let fx = fixture();
    let (source, temp_root) = source(GitCheckoutConfig { max_files: 2, ..GitCheckoutConfig::default() });
    let err = source.checkout(fx.repo.to_str().unwrap(), None).await.unwrap_err();
    let RepoError::TooLarge { reason, .. } = &err else { panic!("expected TooLarge, got {err}") };
    assert!(reason.contains("3 files") && reason.contains("cap of 2 files"), "{reason}");
    assert!(entries(temp_root.path()).is_empty(), "{:?}", entries(temp_root.path()));
}

#[tokio::test]
async fn too_many_bytes_is_too_large_and_leaves_nothing() {
    let fx = fixture();
    let (source, temp_root) = source(GitCheckoutConfig { max_bytes: 10, ..GitCheckoutConfig::default() });
    let err = source.checkout(fx.repo.to_str().unwrap(), None).await.unwrap_err();
    let RepoError::TooLarge { reason, .. } = &err else { panic!("expected TooLarge, got {err}") };
    let bytes = README.len() + LIB.len() + LATER.len();
    assert!(reason.contains(&format!("{bytes} bytes")) && reason.contains("cap of 10 bytes"), "{reason}");
    assert!(entries(temp_root.path()).is_empty(), "{:?}", entries(temp_root.path()));
}

#[tokio::test]
async fn a_missing_path_or_a_plain_folder_is_a_clear_error() {
    let (source, temp_root) = source(GitCheckoutConfig::default());
    let missing = temp_root.path().join("no-such-repo");
    let err = source.checkout(missing.to_str().unwrap(), None).await.unwrap_err();
    assert!(matches!(&err, RepoError::Invalid(m) if m.contains("no such folder")), "{err}");

    let plain = tempfile::tempdir().unwrap();
    std::fs::write(plain.path().join("file.txt"), "not a repository").unwrap();
    let err = source.checkout(plain.path().to_str().unwrap(), None).await.unwrap_err();
    assert!(matches!(&err, RepoError::Invalid(m) if m.contains("not a readable git repository")), "{err}");
    assert!(entries(temp_root.path()).is_empty(), "{:?}", entries(temp_root.path()));

    // local sources refused outright when not allowed
    let (strict, _root) = source_without_local();
    let err = strict.checkout(plain.path().to_str().unwrap(), None).await.unwrap_err();
    assert!(matches!(&err, RepoError::Invalid(m) if m.contains("not allowed")), "{err}");
    // and refusals before any git runs
    let err = strict.checkout("--upload-pack=touch /tmp/x", None).await.unwrap_err();
    assert!(matches!(err, RepoError::Invalid(_)), "{err}");
}

fn source_without_local() -> (GitCheckout, TempDir) {
    source(GitCheckoutConfig { allow_local: false, ..GitCheckoutConfig::default() })
}

#[tokio::test]
async fn a_closed_loopback_port_is_unreachable_quickly() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    // By default a loopback remote is refused before git runs, like a crawl target.
    let (guarded, guarded_root) = source(GitCheckoutConfig::default());
    let url = format!("http://127.0.0.1:{port}/x.git");
    let refused = guarded.checkout(&url, None).await.unwrap_err();
    assert!(
        matches!(&refused, RepoError::Invalid(m) if m.contains("loopback") && m.contains("CRAWLRAG_ALLOW_PRIVATE_NETWORKS")),
        "{refused}"
    );
    assert!(entries(guarded_root.path()).is_empty());
    let (source, temp_root) =
        source(GitCheckoutConfig { allow_private_networks: true, ..GitCheckoutConfig::default() });
    let started = Instant::now();
    let err = source.checkout(&url, None).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(10), "took {:?}", started.elapsed());
    let RepoError::Unreachable { url: shown, reason } = &err else { panic!("expected Unreachable, got {err}") };
    assert_eq!(shown, &url);
    assert!(reason.to_ascii_lowercase().contains("connect"), "{reason}");
    assert!(entries(temp_root.path()).is_empty());
}

#[tokio::test]
async fn a_server_that_never_answers_times_out() {
    // the kernel accepts the connection into the backlog; nothing ever answers
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://127.0.0.1:{}/x.git", listener.local_addr().unwrap().port());
    let (source, temp_root) = source(GitCheckoutConfig {
        timeout: Duration::from_secs(1),
        allow_private_networks: true,
        ..GitCheckoutConfig::default()
    });
    let started = Instant::now();
    let err = source.checkout(&url, None).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5), "took {:?}", started.elapsed());
    assert!(matches!(&err, RepoError::Unreachable { reason, .. } if reason == "timed out after 1 s"), "{err}");
    assert!(entries(temp_root.path()).is_empty());
    drop(listener);
}
