//! Reading a script from the server's disk for `check_ai_script_hallucinations`: only files
//! inside the configured roots (`CRAWLRAG_SCRIPT_ROOTS`). The path is resolved with every symlink
//! and `..` followed before the check, so neither traversal nor a link out of a root reaches a
//! file elsewhere; folders, devices and oversized or non-UTF-8 files are refused.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The canonical path and text of `path`, when it is a regular file under one of `roots`.
/// A relative path is taken relative to each root in turn.
pub(super) fn read_confined(roots: &[PathBuf], path: &str, max_bytes: usize) -> Result<(PathBuf, String)> {
    if roots.is_empty() {
        return Err(Error::bad_input(
            "script_path is not accepted by this server (no CRAWLRAG_SCRIPT_ROOTS configured): pass the script's text \
             as script_content instead",
        ));
    }
    if path.contains('\0') || path.trim().is_empty() {
        return Err(Error::bad_input("script_path is empty or contains a NUL byte"));
    }
    let roots: Vec<PathBuf> = roots.iter().filter_map(|r| std::fs::canonicalize(r).ok()).collect();
    let candidates: Vec<PathBuf> = if Path::new(path).is_absolute() {
        vec![PathBuf::from(path)]
    } else {
        roots.iter().map(|r| r.join(path)).collect()
    };
    let outside = || {
        Error::bad_input(format!(
            "script_path '{path}' is not a file inside the allowed script folders ({})",
            roots.iter().map(|r| r.display().to_string()).collect::<Vec<_>>().join(", ")
        ))
    };
    let resolved = candidates
        .iter()
        .filter_map(|c| std::fs::canonicalize(c).ok())
        .find(|c| roots.iter().any(|r| c.starts_with(r)))
        .ok_or_else(outside)?;
    let meta = std::fs::metadata(&resolved).map_err(|_| outside())?;
    if !meta.is_file() {
        return Err(Error::bad_input(format!("script_path '{path}' is not a regular file")));
    }
    if meta.len() > max_bytes as u64 {
        return Err(Error::bad_input(format!("script '{path}' has {} bytes; the limit is {max_bytes}", meta.len())));
    }
    let text = std::fs::read_to_string(&resolved)
        .map_err(|e| Error::bad_input(format!("script '{path}' cannot be read as UTF-8 text: {e}")))?;
    Ok((resolved, text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_files_inside_the_roots_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("scripts");
        std::fs::create_dir_all(root.join("sub")).unwrap();
        std::fs::write(root.join("sub/ok.py"), "print(1)\n").unwrap();
        std::fs::write(dir.path().join("secret.py"), "key = 1\n").unwrap();
        std::os::unix::fs::symlink(dir.path().join("secret.py"), root.join("link.py")).unwrap();
        let roots = vec![root.clone()];

        let (path, text) = read_confined(&roots, "sub/ok.py", 1000).unwrap();
        assert_eq!(text, "print(1)\n");
        assert!(path.ends_with("scripts/sub/ok.py"));
        assert!(read_confined(&roots, root.join("sub/ok.py").to_str().unwrap(), 1000).is_ok());

        for bad in ["../secret.py", "sub/../../secret.py", "link.py", "sub", "/etc/passwd", "missing.py", "a\0b"] {
            let err = read_confined(&roots, bad, 1000).unwrap_err();
            assert!(matches!(err, Error::BadInput(_)), "{bad}: {err}");
        }
        assert!(read_confined(&roots, "sub/ok.py", 3).unwrap_err().to_string().contains("limit"));
        assert!(read_confined(&[], "sub/ok.py", 1000).unwrap_err().to_string().contains("script_content"));
    }
}
