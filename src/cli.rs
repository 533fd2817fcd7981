//! The command-line front end: runs one command against the app and renders the outcome as
//! tables and progress bars for people, or JSON (`--json`) for scripts. Output goes to stdout;
//! progress and logs go to stderr.

use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;

use crate::app::{App, build_embedder};
use crate::config::{Command, Config, StoreChoice};
use crate::crawl::Render;
use crate::crawl::site::CrawlRequest;
use crate::domain::SourceId;
use crate::error::Error;
use crate::jobs::LIST_LIMIT;
use crate::ports::RenderOptions;
use crate::progress::ProgressSink;
use crate::retrieve::RagQuery;

/// Exit codes: what a script can branch on.
pub mod exit {
    pub const OK: u8 = 0;
    /// A dependency or the operation failed at run time.
    pub const FAILURE: u8 = 1;
    /// Invalid configuration or arguments (clap uses 2 for usage errors too).
    pub const CONFIG: u8 = 2;
    /// What was asked for does not exist (e.g. deleting an unknown source).
    pub const NOT_FOUND: u8 = 3;
}

/// A progress bar on stderr (hidden when stderr is not a terminal).
#[derive(Debug)]
pub struct BarProgress(ProgressBar);

impl BarProgress {
    pub fn new() -> Self {
        let bar = if std::io::stderr().is_terminal() { ProgressBar::new(0) } else { ProgressBar::hidden() };
        bar.set_style(
            ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} {wide_msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar.enable_steady_tick(Duration::from_millis(120));
        Self(bar)
    }

    /// Remove the bar from the terminal.
    pub fn finish(&self) {
        self.0.finish_and_clear();
    }
}

impl Default for BarProgress {
    fn default() -> Self {
        Self::new()
    }
}

#[async_trait]
impl ProgressSink for BarProgress {
    async fn report(&self, done: u64, total: Option<u64>, message: &str) {
        if let Some(total) = total {
            self.0.set_length(total);
        }
        self.0.set_position(done);
        self.0.set_message(message.to_owned());
    }
}

fn out(text: &str) {
    let _ = std::io::stdout().write_all(text.as_bytes());
}

fn out_json(value: &serde_json::Value) {
    out(&format!("{}\n", serde_json::to_string_pretty(value).unwrap_or_default()));
}

/// Exit code for a service error.
pub fn exit_code(err: &anyhow::Error) -> u8 {
    match err.downcast_ref::<Error>() {
        Some(Error::NotFound(_)) => exit::NOT_FOUND,
        Some(Error::BadInput(_)) => exit::CONFIG,
        Some(Error::Unavailable { .. } | Error::Timeout(_) | Error::Cancelled | Error::Internal(_)) | None => {
            exit::FAILURE
        }
    }
}

/// Run a non-serving command.
///
/// # Errors
/// The command's failure, for `main` to print and map to an exit code.
pub async fn run(app: Arc<App>, command: Command) -> anyhow::Result<()> {
    match command {
        Command::Crawl { url, depth, max_pages, concurrency, chunk_size, scope, render, stealth, dry_run, json } => {
            let browser = RenderOptions { stealth, ..RenderOptions::default() };
            let request = CrawlRequest {
                render: if stealth { Render::Browser } else { render },
                browser,
                max_depth: depth,
                max_pages,
                max_concurrent: concurrency,
                chunk_size,
                scope,
                index: !dry_run,
                ..CrawlRequest::new(url)
            };
            let bar = BarProgress::new();
            let report = app.crawler.smart_crawl(&request, &bar).await;
            bar.finish();
            let report = report?;
            if json {
                out_json(&serde_json::to_value(&report)?);
            } else {
                out(&format!(
                    "crawled {} ({:?}): {} pages, {} chunks, {} failed, {} skipped\n",
                    report.url,
                    report.crawl_type,
                    report.pages_crawled,
                    report.chunks_stored,
                    report.pages_failed,
                    report.pages_skipped
                ));
                for failure in &report.failed {
                    out(&format!("  failed  {}  {}\n", failure.url, failure.error));
                }
            }
        }
        Command::Query { text, source, count, mode, rerank, json } => {
            let source = source.map(SourceId::from);
            let query = RagQuery { query: text, source, match_count: count, offset: 0, mode, rerank };
            let hits = app.retriever.search(&query).await?;
            if json {
                out_json(&serde_json::to_value(&hits)?);
            } else if hits.is_empty() {
                out("no results (crawl something first: crawlrag crawl <url>)\n");
            } else {
                for (rank, hit) in hits.iter().enumerate() {
                    let preview: String = hit.content.chars().take(300).collect();
                    out(&format!(
                        "{}. [{:.3}] {}\n   {}\n",
                        rank + 1,
                        hit.rerank_score.or(hit.rrf_score).or(hit.similarity).unwrap_or_default(),
                        hit.url,
                        preview.replace('\n', " ")
                    ));
                }
            }
        }
        Command::Jobs { cancel, json } => {
            let jobs = match cancel {
                Some(job_id) => vec![app.jobs.cancel(&job_id).await?],
                None => app.jobs.list(LIST_LIMIT).await?,
            };
            if json {
                out_json(&serde_json::to_value(&jobs)?);
            } else {
                out(&format!(
                    "{:<36} {:<12} {:>6} {:>7} {:>7}  tool / target\n",
                    "job", "state", "pages", "failed", "chunks"
                ));
                for j in &jobs {
                    out(&format!(
                        "{:<36} {:<12} {:>6} {:>7} {:>7}  {} {}\n",
                        j.job_id,
                        j.state.as_str(),
                        j.progress.pages_done,
                        j.progress.pages_failed,
                        j.progress.chunks_stored,
                        j.tool,
                        j.target
                    ));
                }
            }
        }
        Command::Sources { json } => {
            let sources = app.retriever.sources().await?;
            if json {
                out_json(&serde_json::to_value(&sources)?);
            } else {
                out(&format!("{:<40} {:>6} {:>7} {:>9}  updated\n", "source", "pages", "chunks", "words"));
                for s in &sources {
                    out(&format!(
                        "{:<40} {:>6} {:>7} {:>9}  {}\n",
                        s.source_id,
                        s.pages,
                        s.chunks,
                        s.total_words,
                        s.updated_at.format("%Y-%m-%d %H:%M")
                    ));
                }
            }
        }
        Command::Delete { source, json } => {
            let counts = app.pipeline.delete_source(&SourceId::from(source.clone())).await?;
            if json {
                out_json(&json!({"success": true, "source_id": source, "deleted": counts}));
            } else {
                out(&format!("deleted {source}: {} pages, {} chunks\n", counts.pages, counts.chunks));
            }
        }
        Command::Migrate { json } => {
            if json {
                out_json(&json!({"success": true, "migrated": true}));
            } else {
                out("database migrated and bound to the embedding model\n");
            }
        }
        Command::Serve(_) | Command::Doctor { .. } => {}
    }
    Ok(())
}

/// Chromium is optional (only `render=browser|auto` on script-only pages needs it): a missing one
/// is reported as such, a broken one as a failure.
async fn check_browser(config: &Config) -> Result<String, String> {
    let Some(path) = config.chromium_path() else {
        return Ok("not installed: JavaScript-only pages cannot be rendered (scripts/chromium.sh installs Chromium, \
                   or set CRAWLRAG_CHROMIUM_PATH)"
            .to_owned());
    };
    let version = tokio::time::timeout(
        Duration::from_secs(20),
        tokio::process::Command::new(&path).arg("--version").kill_on_drop(true).output(),
    )
    .await;
    match version {
        Ok(Ok(out)) if out.status.success() => {
            Ok(format!("{} ({})", String::from_utf8_lossy(&out.stdout).trim(), path.display()))
        }
        Ok(Ok(out)) => {
            Err(format!("{} --version failed: {}", path.display(), String::from_utf8_lossy(&out.stderr).trim()))
        }
        Ok(Err(e)) => Err(format!("cannot run {}: {e} (check CRAWLRAG_CHROMIUM_PATH)", path.display())),
        Err(_) => Err(format!("{} --version hung", path.display())),
    }
}

/// `crawlrag doctor`: check each dependency on its own and say what to fix. Returns whether all
/// checks passed.
pub async fn doctor(config: &Config, json: bool) -> bool {
    let mut checks: Vec<(&str, Result<String, String>)> = Vec::new();
    checks.push(("config", config.validate().map(|()| "valid".to_owned())));
    let store = match config.store() {
        StoreChoice::Postgres(pg) => match crate::adapters::postgres::PgStore::connect(&pg).await {
            Ok(_) => Ok("postgres reachable, migrations applied".to_owned()),
            Err(e) => Err(format!("{e} (check DATABASE_URL; scripts/postgres.sh start runs a local one)")),
        },
        StoreChoice::Sqlite(path) => match crate::adapters::sqlite::SqliteStore::open(&path).await {
            Ok(_) => Ok(format!("sqlite {}", path.display())),
            Err(e) => Err(format!("{e} (check CRAWLRAG_DB)")),
        },
    };
    checks.push(("database", store));
    let embedder = if config.validate().is_ok() {
        let bar = BarProgress::new();
        let built = build_embedder(config, &bar).await;
        bar.finish();
        match built {
            // A real embedding proves the model runs (local) or the API answers (OpenAI-compatible).
            Ok(e) => match e.embed(&["crawlrag doctor".to_owned()]).await {
                Ok(v) if v.first().is_some_and(|v| v.len() == e.dimensions()) => {
                    Ok(format!("{} ({} dimensions), test embedding ok", e.model_id(), e.dimensions()))
                }
                Ok(_) => Err(format!("{} returned a vector of the wrong size", e.model_id())),
                Err(err) => Err(format!("{err} (check OPENAI_BASE_URL / OPENAI_API_KEY or the model folder)")),
            },
            Err(e) => Err(format!("{e:#}")),
        }
    } else {
        Err("skipped: fix the configuration first".to_owned())
    };
    checks.push(("embedder", embedder));
    checks.push(("browser", check_browser(config).await));
    let ok = checks.iter().all(|(_, r)| r.is_ok());
    if json {
        let items: Vec<_> = checks
            .iter()
            .map(|(name, r)| match r {
                Ok(detail) => json!({"check": name, "ok": true, "detail": detail}),
                Err(problem) => json!({"check": name, "ok": false, "fix": problem}),
            })
            .collect();
        out_json(&json!({"ok": ok, "checks": items}));
    } else {
        for (name, result) in &checks {
            match result {
                Ok(detail) => out(&format!("ok    {name:<9} {detail}\n")),
                Err(problem) => out(&format!("FAIL  {name:<9} {problem}\n")),
            }
        }
    }
    ok
}
