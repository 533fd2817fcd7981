//! Real git repositories made on disk for the code graph tests (no network): a copy of a fixture
//! folder committed with the git CLI, and helpers to commit changes to it.

use std::path::{Path, PathBuf};
use std::process::Command;

use tempfile::TempDir;

/// Run git in `dir` with an identity of its own (no global config needed); stdout, trimmed.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let output = Command::new("git")
        .current_dir(dir)
        .args(["-c", "user.name=crawlrag test", "-c", "user.email=test@example.com", "-c", "commit.gpgsign=false"])
        .args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .expect("run git");
    assert!(output.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// A git repository in a temporary folder.
pub struct TestRepo {
    _dir: TempDir,
    pub path: PathBuf,
}

impl TestRepo {
    /// A repository holding a copy of `fixture` (a folder under `tests/fixtures/`), committed.
    pub fn from_fixture(fixture: &str, name: &str) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join(name);
        copy_tree(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(fixture), &path);
        git(&path, &["init", "-q", "-b", "main"]);
        git(&path, &["add", "."]);
        git(&path, &["commit", "-q", "-m", "fixture"]);
        Self { _dir: dir, path }
    }

    /// A repository holding a copy of the folder `from` (e.g. an unpacked source distribution),
    /// committed.
    pub fn from_dir(from: &Path, name: &str) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join(name);
        copy_tree(from, &path);
        git(&path, &["init", "-q", "-b", "main"]);
        git(&path, &["add", "-f", "."]);
        git(&path, &["commit", "-q", "-m", "import"]);
        Self { _dir: dir, path }
    }

    /// Write (or, with `None`, delete) files and commit; answers the new commit.
    pub fn commit(&self, changes: &[(&str, Option<&str>)]) -> String {
        for (file, text) in changes {
            let p = self.path.join(file);
            match text {
                Some(t) => {
                    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
                    std::fs::write(&p, t).unwrap();
                }
                None => std::fs::remove_file(&p).unwrap(),
            }
        }
        git(&self.path, &["add", "-A"]);
        git(&self.path, &["commit", "-q", "-m", "change"]);
        git(&self.path, &["rev-parse", "HEAD"])
    }

    pub fn url(&self) -> String {
        self.path.display().to_string()
    }
}

pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}
