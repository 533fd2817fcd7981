//! The code knowledge graph service: parse repositories into the code graph
//! (`parse_github_repository`, `parse_github_repositories_batch` in [`batch`]), check AI-written
//! scripts against it (`check_ai_script_hallucinations`), and answer `query_knowledge_graph`'s
//! commands ([`commands`]).
//!
//! A parse checks the repository out ([`RepoSource`]), walks it (`walk`), parses every source file
//! on the CPU pool ([`CodeParser`], one group of files per core at a time), assembles the graph
//! (`domain::code_graph`), replaces the repository's previous graph in one write
//! ([`CodeGraphStore`]), then indexes its README and docs as pages under the repository's key
//! (the crawler's [`PageSink`], so `perform_rag_query` answers from them). Checks read the
//! graphs through a cache keyed by each repository's commit and parse time, so a re-parse on
//! any replica is seen by the next check.

pub mod batch;
pub mod commands;
mod script_file;
mod walk;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use serde::{Deserialize, Serialize};
use tracing::{info, instrument, warn};

use crate::crawl::PageSink;
use crate::domain::code::{Language, RepoCounts, RepoGraph, RepositoryInfo};
use crate::domain::code_check::{CheckReport, check_script};
use crate::domain::code_graph::{SourceFile, assemble, repository_key};
use crate::domain::code_index::CodeIndex;
use crate::domain::{IngestOptions, Links, Page, SourceId, Validators};
use crate::error::{Error, Result};
use crate::ports::{CodeGraphStore, CodeParser, GraphStore, RepoSource};
use crate::progress::ProgressSink;

/// Source files parsed per CPU task.
const FILES_PER_TASK: usize = 64;

#[derive(Debug, Clone)]
pub struct CodeGraphConfig {
    /// Source and Markdown files larger than this are left out.
    pub max_file_bytes: u64,
    /// Folders `check_ai_script_hallucinations` may read `script_path` from (none: paths are refused).
    pub script_roots: Vec<PathBuf>,
    /// Largest script checked.
    pub max_script_bytes: usize,
    /// The first retry delay of a batch (doubled per attempt, plus jitter).
    pub retry_base: Duration,
}

impl Default for CodeGraphConfig {
    fn default() -> Self {
        Self {
            max_file_bytes: 1024 * 1024,
            script_roots: Vec::new(),
            max_script_bytes: 1024 * 1024,
            retry_base: Duration::from_secs(1),
        }
    }
}

/// The ports the service works through.
#[derive(Debug, Clone)]
pub struct CodeGraphParts {
    pub repos: Arc<dyn RepoSource>,
    pub parser: Arc<dyn CodeParser>,
    pub store: Arc<dyn CodeGraphStore>,
    /// Where READMEs and docs go (the ingest pipeline); `None`: not indexed.
    pub docs: Option<Arc<dyn PageSink>>,
    /// The graph database for `query <cypher>` (the same backend as the document graph).
    pub cypher: Option<Arc<dyn GraphStore>>,
}

/// What to parse.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParseRequest {
    pub url: String,
    /// A branch, tag or commit; `None`: the default branch.
    pub reference: Option<String>,
}

/// What a parse wrote.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParseReport {
    pub url: String,
    pub repository: RepositoryInfo,
    pub counts: RepoCounts,
    /// Files parsed per language.
    pub languages: BTreeMap<String, usize>,
    /// Source files left out (tests, tooling, oversized, unreadable).
    pub files_skipped: usize,
    /// A few module names, for the anchor's `sample_modules`.
    pub sample_modules: Vec<String>,
    pub docs_indexed: usize,
    pub doc_chunks_stored: usize,
    pub parse_millis: u64,
    pub write_millis: u64,
    pub total_millis: u64,
}

/// A script to check: a path under the configured roots, or its text.
#[derive(Debug, Clone, Default)]
pub struct CheckRequest {
    pub script_path: Option<String>,
    pub script_content: Option<String>,
    /// `python`, `javascript`, `typescript`; default: from the path's extension, else Python.
    pub language: Option<String>,
}

/// A checked script.
#[derive(Debug, Clone)]
pub struct CheckOutcome {
    pub script_path: Option<String>,
    pub language: Language,
    pub report: CheckReport,
    /// Repositories the script was checked against (by key).
    pub repositories: Vec<String>,
    pub line_count: u32,
    pub millis: u64,
}

/// The parsed graphs a check sees, with what they were built from.
type IndexStamp = Vec<(String, String, i64)>;

#[derive(Debug)]
pub struct CodeGraph {
    parts: CodeGraphParts,
    config: CodeGraphConfig,
    /// Graphs read back from the store, by repository key.
    graphs: Mutex<BTreeMap<String, Arc<RepoGraph>>>,
    /// The last index built, and the repositories (key, commit, parse time) it covers.
    index: Mutex<Option<(IndexStamp, Arc<CodeIndex>)>>,
}

impl CodeGraph {
    pub fn new(parts: CodeGraphParts, config: CodeGraphConfig) -> Self {
        Self { parts, config, graphs: Mutex::default(), index: Mutex::default() }
    }

    pub fn store(&self) -> &Arc<dyn CodeGraphStore> {
        &self.parts.store
    }

    /// Check out, parse and store one repository, replacing its previous graph.
    ///
    /// # Errors
    /// `BadInput` for a URL or path that cannot be a repository, or one over the size caps;
    /// `Unavailable` when it cannot be fetched or the graph store fails (the previous graph is
    /// then intact).
    #[instrument(skip_all, fields(url = %request.url))]
    pub async fn parse_repository(&self, request: &ParseRequest, progress: &dyn ProgressSink) -> Result<ParseReport> {
        let started = Instant::now();
        progress.report(0, None, &format!("checking out {}", request.url)).await;
        // The checkout validates the URL first (option injection, transports, private networks).
        let checkout = self.parts.repos.checkout(&request.url, request.reference.as_deref()).await?;
        let (key, name) = self.key_of(&request.url)?;
        let root = checkout.root().to_path_buf();
        let max_file_bytes = self.config.max_file_bytes;
        let walk_root = root.clone();
        let (files, manifest) = crate::cpu::run("walk repository", move || {
            walk::walk(&walk_root, max_file_bytes).map(|files| (files, walk::manifest(&walk_root)))
        })
        .await?
        .map_err(|e| Error::Internal(format!("could not read the checkout: {e}")))?;

        let total = files.code.len() as u64;
        progress.report(0, Some(total), "parsing source files").await;
        let parse_started = Instant::now();
        let mut sources = Vec::with_capacity(files.code.len());
        let mut skipped = files.skipped;
        let tasks = files.code.chunks(FILES_PER_TASK).map(<[_]>::to_vec).map(|group| {
            let (root, parser) = (root.clone(), Arc::clone(&self.parts.parser));
            crate::cpu::run("parse source files", move || parse_group(&root, parser.as_ref(), group))
        });
        let mut parsed = futures::stream::iter(tasks).buffered(crate::cpu::cores());
        while let Some(group) = parsed.next().await {
            let (group, failed) = group?;
            skipped += failed;
            sources.extend(group);
            progress.report(sources.len() as u64, Some(total), "parsed source files").await;
        }
        drop(parsed);
        let parse_millis = millis(parse_started);

        let mut languages = BTreeMap::new();
        for s in &sources {
            *languages.entry(s.language.as_str().to_owned()).or_insert(0) += 1;
        }
        let previous_docs = self.previous_docs(&key).await?;
        let info = RepositoryInfo {
            key: key.clone(),
            name,
            url: request.url.clone(),
            commit: checkout.commit().to_owned(),
            reference: request.reference.clone(),
            parsed_at: chrono::Utc::now().timestamp(),
            root_modules: Vec::new(),
            docs: if self.parts.docs.is_some() { files.docs.clone() } else { Vec::new() },
        };
        let graph = crate::cpu::run("assemble code graph", move || assemble(info, &manifest, sources)).await?;
        progress.report(total, Some(total), "writing the code graph").await;
        let write_started = Instant::now();
        self.parts.store.replace_repository(&graph).await?;
        let write_millis = millis(write_started);
        self.forget(&key);

        let (docs_indexed, doc_chunks_stored) =
            self.index_docs(&root, &graph.repository, &previous_docs, progress).await;
        drop(checkout);
        let mut sample_modules: Vec<String> = graph.files.iter().map(|f| f.module.clone()).collect();
        sample_modules.sort();
        sample_modules.dedup();
        sample_modules.truncate(5);
        let report = ParseReport {
            url: request.url.clone(),
            counts: graph.counts(),
            repository: graph.repository,
            languages,
            files_skipped: skipped,
            sample_modules,
            docs_indexed,
            doc_chunks_stored,
            parse_millis,
            write_millis,
            total_millis: millis(started),
        };
        info!(repository = %report.repository.key, files = report.counts.files, symbols = report.counts.classes + report.counts.functions + report.counts.methods, "repository parsed");
        Ok(report)
    }

    /// The repository's key and name: local paths by their canonical absolute path.
    fn key_of(&self, url: &str) -> Result<(String, String)> {
        let url = url.trim();
        let local = url.strip_prefix("file://").map(Path::new).or_else(|| {
            let p = Path::new(url);
            (p.is_absolute() || url.starts_with('.') || !url.contains(':')).then_some(p)
        });
        let raw = match local {
            Some(path) => std::fs::canonicalize(path)
                .map_err(|e| Error::bad_input(format!("repository path '{}' cannot be read: {e}", path.display())))?
                .to_string_lossy()
                .into_owned(),
            None => url.to_owned(),
        };
        repository_key(&raw).ok_or_else(|| Error::bad_input(format!("'{url}' does not name a repository")))
    }

    async fn previous_docs(&self, key: &str) -> Result<Vec<String>> {
        if self.parts.docs.is_none() {
            return Ok(Vec::new());
        }
        let repos = self.parts.store.repositories().await?;
        Ok(repos.into_iter().find(|r| r.info.key == key).map(|r| r.info.docs).unwrap_or_default())
    }

    /// Store the repository's Markdown as pages under its key; drop pages of docs it no longer
    /// has. A document that fails is logged and left out, never failing the parse.
    async fn index_docs(
        &self,
        root: &Path,
        repo: &RepositoryInfo,
        previous: &[String],
        progress: &dyn ProgressSink,
    ) -> (usize, usize) {
        let Some(sink) = &self.parts.docs else { return (0, 0) };
        let (mut indexed, mut chunks) = (0, 0);
        let total = repo.docs.len() as u64;
        for (i, path) in repo.docs.iter().enumerate() {
            let Some(page) = doc_page(root, repo, path) else { continue };
            match sink.store_page(&page, &IngestOptions::default(), &crate::progress::NoProgress).await {
                Ok(report) => {
                    indexed += 1;
                    chunks += report.chunks_stored;
                }
                Err(Error::BadInput(e)) => info!(path, error = %e, "document left out"),
                Err(e) => warn!(path, error = %e, "document could not be indexed"),
            }
            progress.report(i as u64 + 1, Some(total), "indexed docs").await;
        }
        for gone in previous.iter().filter(|p| !repo.docs.contains(p)) {
            if let Some(url) = doc_url(repo, gone)
                && let Err(e) = sink.page_gone(url.as_str()).await
            {
                warn!(path = %gone, error = %e, "stale document page could not be removed");
            }
        }
        (indexed, chunks)
    }

    /// Forget what was cached for a repository (it was just written).
    fn forget(&self, key: &str) {
        self.graphs.lock().unwrap_or_else(std::sync::PoisonError::into_inner).remove(key);
        *self.index.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = None;
    }

    /// The index over every stored repository, rebuilt only when one changed.
    ///
    /// # Errors
    /// `Unavailable` when the graph store fails.
    pub async fn index(&self) -> Result<Arc<CodeIndex>> {
        let stored = self.parts.store.repositories().await?;
        let stamp: IndexStamp =
            stored.iter().map(|r| (r.info.key.clone(), r.info.commit.clone(), r.info.parsed_at)).collect();
        if let Some((s, index)) = self.index.lock().unwrap_or_else(std::sync::PoisonError::into_inner).as_ref()
            && *s == stamp
        {
            return Ok(Arc::clone(index));
        }
        let mut graphs = Vec::with_capacity(stored.len());
        for (key, commit, parsed_at) in &stamp {
            let cached = self
                .graphs
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .get(key)
                .filter(|g| &g.repository.commit == commit && g.repository.parsed_at == *parsed_at)
                .cloned();
            let graph = match cached {
                Some(g) => g,
                None => {
                    let Some(g) = self.parts.store.load_repository(key).await? else { continue };
                    let g = Arc::new(g);
                    self.graphs
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .insert(key.clone(), Arc::clone(&g));
                    g
                }
            };
            graphs.push(graph);
        }
        let keys: Vec<&String> = stamp.iter().map(|(k, _, _)| k).collect();
        self.graphs.lock().unwrap_or_else(std::sync::PoisonError::into_inner).retain(|k, _| keys.contains(&k));
        let index = Arc::new(crate::cpu::run("index code graph", move || CodeIndex::new(graphs)).await?);
        *self.index.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some((stamp, Arc::clone(&index)));
        Ok(index)
    }

    /// Check a script against every parsed repository.
    ///
    /// # Errors
    /// `BadInput` for a missing, oversized or out-of-roots script, or a language whose scripts
    /// cannot be checked; `Unavailable` when the graph store fails.
    #[instrument(skip_all, fields(path = request.script_path.as_deref().unwrap_or("<content>")))]
    pub async fn check(&self, request: CheckRequest) -> Result<CheckOutcome> {
        let started = Instant::now();
        let (path, text) = match (&request.script_content, &request.script_path) {
            (Some(content), _) => {
                if content.len() > self.config.max_script_bytes {
                    return Err(Error::bad_input(format!(
                        "script_content has {} bytes; the limit is {}",
                        content.len(),
                        self.config.max_script_bytes
                    )));
                }
                (request.script_path.clone(), content.clone())
            }
            (None, Some(path)) => {
                let (canonical, text) =
                    script_file::read_confined(&self.config.script_roots, path, self.config.max_script_bytes)?;
                (Some(canonical.display().to_string()), text)
            }
            (None, None) => return Err(Error::bad_input("give script_path or script_content")),
        };
        let language = match request.language.as_deref().map(str::trim).filter(|l| !l.is_empty()) {
            Some(name) => Language::from_name(name).ok_or_else(|| {
                Error::bad_input(format!("unknown language '{name}': use python, javascript or typescript"))
            })?,
            None => path.as_deref().and_then(Language::from_path).unwrap_or(Language::Python),
        };
        let parser = Arc::clone(&self.parts.parser);
        let script = crate::cpu::run("analyse script", move || parser.analyze_script(language, &text)).await??;
        let index = self.index().await?;
        let line_count = script.line_count;
        let checked_index = Arc::clone(&index);
        let report = crate::cpu::run("check script", move || check_script(&checked_index, language, &script)).await?;
        let repositories = (0..index.len()).map(|i| index.repository_key(i).to_owned()).collect();
        Ok(CheckOutcome { script_path: path, language, report, repositories, line_count, millis: millis(started) })
    }

    pub(crate) fn cypher(&self) -> Option<&Arc<dyn GraphStore>> {
        self.parts.cypher.as_ref()
    }

    pub(crate) fn retry_base(&self) -> Duration {
        self.config.retry_base
    }
}

/// Read and parse one group of files; unreadable or unparsable files are counted, not fatal.
fn parse_group(root: &Path, parser: &dyn CodeParser, group: Vec<(String, Language)>) -> (Vec<SourceFile>, usize) {
    let mut parsed = Vec::with_capacity(group.len());
    let mut failed = 0;
    for (path, language) in group {
        let Ok(bytes) = std::fs::read(root.join(&path)) else {
            failed += 1;
            continue;
        };
        let Ok(text) = String::from_utf8(bytes) else {
            failed += 1;
            continue;
        };
        match parser.parse_file(language, &text) {
            Ok(file) => parsed.push(SourceFile { path, language, parsed: file }),
            Err(_) => failed += 1,
        }
    }
    (parsed, failed)
}

/// The page URL of a repository document: its web address for hosted repositories, a file URL
/// for local ones.
fn doc_url(repo: &RepositoryInfo, path: &str) -> Option<url::Url> {
    let raw = if repo.key.starts_with('/') {
        format!("file://{}/{path}", repo.key)
    } else {
        format!("https://{}/blob/HEAD/{path}", repo.key)
    };
    url::Url::parse(&raw).ok()
}

fn doc_page(root: &Path, repo: &RepositoryInfo, path: &str) -> Option<Page> {
    let markdown = std::fs::read_to_string(root.join(path)).ok()?;
    let url = doc_url(repo, path)?;
    Some(Page {
        url,
        source_id: SourceId::from(repo.key.clone()),
        title: walk::markdown_title(&markdown).or_else(|| Some(format!("{} {path}", repo.name))),
        markdown,
        links: Links::default(),
        validators: Validators::default(),
    })
}

fn millis(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX)
}
