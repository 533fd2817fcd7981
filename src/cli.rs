//! The command line: the grammar (`Cli`, `Command`), the one dispatcher every subcommand goes
//! through ([`run`]: serve, worker, doctor and the one-shot commands), and rendering outcomes as
//! tables and progress bars for people or JSON (`--json`) for scripts. Output goes to stdout;
//! progress and logs go to stderr.

use std::io::{IsTerminal, Write};
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::app::{self, App, build_embedder};
use crate::config::{Config, Role};
use crate::crawl::Render;
use crate::crawl::site::CrawlRequest;
use crate::domain::{Secret, SourceId};
use crate::error::Error;
use crate::jobs::{JobAnswer, JobOutput, JobRequest, JobSpec, LIST_LIMIT, Wait};
use crate::ports::RenderOptions;
use crate::progress::ProgressSink;
use crate::retrieve::RagQuery;
use crate::transport::auth::AuthOptions;
use crate::transport::rate_limit::{self, RateLimitOptions};
use crate::transport::{self, http::HttpOptions};

mod keys;
mod oauth;

#[derive(Debug, Parser)]
#[command(
    name = "crawlrag",
    version,
    about = "Crawl web pages into a vector index and serve them to AI assistants over MCP"
)]
pub struct Cli {
    #[command(flatten)]
    pub config: Config,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve MCP over stdio (default) or HTTP (`--http ADDR`: streamable HTTP at /mcp, legacy SSE
    /// at /sse, plus /health, /ready and /metrics). Also runs queued jobs.
    Serve(ServeArgs),
    /// Run queued jobs until stopped; no MCP server. With REDIS_URL and Postgres, also crawls the
    /// pages of site crawls spread over every worker. SIGTERM drains: stop taking work, finish
    /// what is in flight, exit.
    Worker(WorkerArgs),
    /// Crawl a page, a whole site (breadth-first), a sitemap or an llms.txt into the index.
    Crawl {
        url: String,
        /// Link levels to follow; 1 = only this page.
        #[arg(long, default_value_t = 1)]
        depth: usize,
        /// Most pages to crawl.
        #[arg(long, default_value_t = crate::crawl::site::DEFAULT_MAX_PAGES)]
        max_pages: usize,
        /// Pages fetched at the same time.
        #[arg(long, default_value_t = crate::crawl::site::DEFAULT_MAX_CONCURRENT)]
        concurrency: usize,
        /// Chunk size in characters (default: what fits the embedding model).
        #[arg(long)]
        chunk_size: Option<usize>,
        /// How far links may lead: prefix (under the start folder), host, or domain.
        #[arg(long, value_enum, default_value_t = crate::crawl::url::Scope::Prefix)]
        scope: crate::crawl::url::Scope,
        /// auto (HTTP, Chromium for script-only pages), http, or browser.
        #[arg(long, value_enum, default_value_t = crate::crawl::Render::Auto)]
        render: crate::crawl::Render,
        /// Render every page in Chromium with automation fingerprints hidden.
        #[arg(long)]
        stealth: bool,
        /// Fetch, extract and chunk without embedding or storing anything (counts only).
        #[arg(long)]
        dry_run: bool,
        /// Queue the crawl for a worker (`crawlrag serve` or `crawlrag worker`) and print its job id.
        #[arg(long)]
        background: bool,
        /// Post the job's end to this http(s) URL (signed with CRAWLRAG_WEBHOOK_SECRET when set).
        #[arg(long)]
        webhook_url: Option<String>,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Parse a code repository (git URL or local path) into the code knowledge graph.
    Parse {
        repo: String,
        /// Branch, tag or commit (default: the default branch).
        #[arg(long = "ref")]
        reference: Option<String>,
        /// Post the job's end to this http(s) URL (signed with CRAWLRAG_WEBHOOK_SECRET when set).
        #[arg(long)]
        webhook_url: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Check a Python, JavaScript or TypeScript script for hallucinated APIs against the parsed
    /// repositories.
    Check {
        script: std::path::PathBuf,
        /// python, javascript or typescript (default: from the file's extension).
        #[arg(long)]
        language: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// List recent jobs (started by MCP clients or the CLI), or cancel one.
    Jobs {
        /// Cancel this job (on whichever server runs it).
        #[arg(long)]
        cancel: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Ask the index a question.
    Query {
        text: String,
        /// Only search this source (see `crawlrag sources`).
        #[arg(long)]
        source: Option<String>,
        /// Number of results.
        #[arg(long, default_value_t = 5)]
        count: usize,
        /// vector or hybrid (default: hybrid when USE_HYBRID_SEARCH=true).
        #[arg(long, value_enum)]
        mode: Option<crate::retrieve::SearchMode>,
        /// Rerank the candidates (true/false; default: USE_RERANKING).
        #[arg(long)]
        rerank: Option<bool>,
        #[arg(long)]
        json: bool,
    },
    /// List crawled sources.
    Sources {
        #[arg(long)]
        json: bool,
    },
    /// Delete a source and everything stored under it.
    Delete {
        source: String,
        #[arg(long)]
        json: bool,
    },
    /// Check configuration, database and embedding model, and say what to fix.
    Doctor {
        #[arg(long)]
        json: bool,
    },
    /// Apply database migrations and bind the database to the embedding model, then exit.
    Migrate {
        #[arg(long)]
        json: bool,
    },
    /// Manage API keys for the HTTP transport (create, list, revoke).
    Keys {
        #[command(subcommand)]
        action: keys::KeysCommand,
    },
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Serve HTTP on this address instead of stdio, e.g. 127.0.0.1:8051.
    #[arg(long, env = "CRAWLRAG_HTTP_ADDR")]
    pub http: Option<SocketAddr>,
    /// Host names HTTP clients may use besides loopback (DNS-rebinding guard), comma-separated.
    #[arg(long, env = "CRAWLRAG_ALLOWED_HOSTS", value_delimiter = ',')]
    pub allowed_hosts: Vec<String>,
    /// Serve HTTP off loopback even when no API key exists (no authentication at all).
    #[arg(long, env = "CRAWLRAG_INSECURE_NO_AUTH")]
    pub insecure_no_auth: bool,
    /// Seconds an API key lookup is cached (a revocation takes effect within this); 0: none.
    #[arg(long, env = "CRAWLRAG_AUTH_CACHE_SECS", default_value_t = 30)]
    pub auth_cache_secs: u64,
    /// Requests per client address, counted before authentication: N/UNIT (s, min, hour, day)
    /// with an optional ,burst=B (B more at once); 0 or off: no limit.
    #[arg(long, env = "CRAWLRAG_RATE_LIMIT_IP", default_value = rate_limit::DEFAULT_IP_LIMIT)]
    pub rate_limit_ip: rate_limit::Limit,
    /// Requests per API key, counted after authentication (same syntax); 0 or off: no limit.
    #[arg(long, env = "CRAWLRAG_RATE_LIMIT_KEY", default_value = rate_limit::DEFAULT_CALLER_LIMIT)]
    pub rate_limit_key: rate_limit::Limit,
    /// Proxies (addresses or CIDR blocks, comma-separated) whose X-Forwarded-For names the client.
    #[arg(long, env = "CRAWLRAG_TRUSTED_PROXIES", value_delimiter = ',', value_parser = rate_limit::parse_trusted_proxy)]
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// When the shared limiter (Redis) cannot answer: true lets requests through (with a
    /// warning), false answers 503.
    #[arg(long, env = "CRAWLRAG_RATE_LIMIT_FAIL_OPEN", default_value = "true", action = clap::ArgAction::Set,
          value_parser = clap::builder::BoolishValueParser::new())]
    pub rate_limit_fail_open: bool,
    /// Jobs one API key may have queued or running at once (a further crawl tool call answers a
    /// tool error); 0: no cap.
    #[arg(long, env = "CRAWLRAG_MAX_CRAWLS_PER_CALLER", default_value_t = rate_limit::DEFAULT_MAX_CRAWLS_PER_CALLER)]
    pub max_crawls_per_caller: u32,
    /// OAuth access tokens and RFC 9728 metadata (see `cli/oauth.rs`).
    #[command(flatten)]
    pub oauth: oauth::OAuthArgs,
}

#[derive(Debug, Args)]
pub struct WorkerArgs {
    /// Serve /health, /ready and /metrics on this address (probes and scraping; no MCP).
    #[arg(long, env = "CRAWLRAG_WORKER_HTTP_ADDR")]
    pub http: Option<SocketAddr>,
}

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

/// `crawlrag parse`: the repository parsed as a job of this process, with a progress bar.
async fn parse_repository(
    app: &App,
    repo: String,
    reference: Option<String>,
    webhook_url: Option<String>,
    json: bool,
) -> anyhow::Result<()> {
    let spec = JobSpec::ParseRepository { request: crate::codegraph::ParseRequest { url: repo, reference } };
    let bar = Arc::new(BarProgress::new());
    let request = JobRequest::new(spec, webhook_url);
    let answer = app.jobs.answer(request, Wait::UntilDone, Arc::clone(&bar) as Arc<dyn ProgressSink>).await;
    bar.finish();
    app.jobs.settle().await;
    let report = match answer? {
        JobAnswer::Done { output: JobOutput::Repository(report), .. } => report,
        JobAnswer::Done { .. } | JobAnswer::Running { .. } => {
            return Err(Error::Internal("the parse job answered something other than its report".into()).into());
        }
    };
    if json {
        out_json(&serde_json::to_value(&report)?);
    } else {
        let c = report.counts;
        out(&format!(
            "parsed {} at {}: {} files, {} classes, {} methods, {} functions, {} attributes; {} docs indexed \
             ({:.1} s)\n",
            report.repository.key,
            report.repository.commit.get(..12).unwrap_or(&report.repository.commit),
            c.files,
            c.classes,
            c.methods,
            c.functions,
            c.attributes,
            report.docs_indexed,
            report.total_millis as f64 / 1000.0
        ));
    }
    Ok(())
}

/// `crawlrag check`: a local script (the CLI's user may read any file) against the graph.
async fn check_script(app: &App, script: &std::path::Path, language: Option<String>, json: bool) -> anyhow::Result<()> {
    let code = app.code.as_ref().ok_or_else(|| Error::unavailable("no code graph store"))?;
    let content = std::fs::read_to_string(script)
        .map_err(|e| Error::bad_input(format!("cannot read {}: {e}", script.display())))?;
    let request = crate::codegraph::CheckRequest {
        script_path: Some(script.display().to_string()),
        script_content: Some(content),
        language,
    };
    let outcome = code.check(request).await?;
    let r = &outcome.report;
    if json {
        out_json(&serde_json::to_value(r)?);
        return Ok(());
    }
    for v in r.findings() {
        let hint = v.suggestions.first().map(|s| format!(" (did you mean {s}?)")).unwrap_or_default();
        out(&format!(
            "{}:{}: {} {}: {}{hint}\n",
            script.display(),
            v.line,
            v.finding_type().unwrap_or_default(),
            v.name,
            v.message
        ));
    }
    out(&format!(
        "{} checks against {} repositories: {} findings, confidence {:.2}\n",
        r.validations.len(),
        outcome.repositories.len(),
        r.findings().count(),
        r.overall_confidence()
    ));
    Ok(())
}

fn out(text: &str) {
    let _ = std::io::stdout().write_all(text.as_bytes());
}

fn out_json(value: &serde_json::Value) {
    out(&format!("{}\n", serde_json::to_string_pretty(value).unwrap_or_default()));
}

/// Exit code for a service error.
pub fn exit_code(err: &anyhow::Error) -> u8 {
    if err.downcast_ref::<transport::auth::AuthError>().is_some() {
        return exit::CONFIG;
    }
    match err.downcast_ref::<Error>() {
        Some(Error::NotFound(_)) => exit::NOT_FOUND,
        Some(Error::BadInput(_)) => exit::CONFIG,
        Some(Error::Unavailable { .. } | Error::Timeout(_) | Error::Cancelled | Error::Internal(_)) | None => {
            exit::FAILURE
        }
    }
}

/// Run the command line: the one entry point `main` calls. Answers the process's exit code.
pub async fn run(cli: Cli) -> ExitCode {
    let Cli { config, command } = cli;
    if let Command::Doctor { json } = command {
        let healthy = doctor(&config, json).await;
        return ExitCode::from(if healthy { exit::OK } else { exit::FAILURE });
    }
    if let Err(message) = app::preflight(&config) {
        eprintln!("crawlrag: {message}");
        return ExitCode::from(exit::CONFIG);
    }
    let mut config = config;
    if matches!(command, Command::Worker(_)) {
        config.scale.role = Role::Worker;
    }
    match execute(&config, command).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("crawlrag: {e:#}");
            ExitCode::from(exit_code(&e))
        }
    }
}

/// Build the app and run `command` until it ends or a signal arrives; then stop this process's
/// jobs (recorded as interrupted, never left "running").
async fn execute(config: &Config, command: Command) -> anyhow::Result<()> {
    let bar = BarProgress::new();
    let built = App::build(config, &bar).await;
    bar.finish();
    let app = Arc::new(built?);
    let shutdown = CancellationToken::new();
    drain_on_signal(&app, Duration::from_secs(config.scale.drain_delay_secs), shutdown.clone());
    let outcome = match command {
        Command::Serve(args) => serve(&app, args, config.scale.redis_url.clone(), shutdown).await,
        Command::Worker(args) => worker(&app, args, shutdown).await,
        command @ (Command::Crawl { .. }
        | Command::Parse { .. }
        | Command::Check { .. }
        | Command::Jobs { .. }
        | Command::Query { .. }
        | Command::Sources { .. }
        | Command::Delete { .. }
        | Command::Doctor { .. }
        | Command::Migrate { .. }
        | Command::Keys { .. }) => {
            tokio::select! {
                result = one_shot(&app, command) => result,
                () = shutdown.cancelled() => Err(Error::Cancelled.into()),
            }
        }
    };
    app.jobs.shutdown().await;
    outcome
}

/// On SIGINT/SIGTERM: answer `/ready` with 503 at once, wait `delay` (a load balancer stops
/// sending requests), then cancel `shutdown` (stop taking work, finish what is in flight).
fn drain_on_signal(app: &Arc<App>, delay: Duration, shutdown: CancellationToken) {
    let signal = CancellationToken::new();
    transport::cancel_on_signal(signal.clone());
    let app = Arc::clone(app);
    tokio::spawn(async move {
        tokio::select! {
            () = signal.cancelled() => {}
            () = shutdown.cancelled() => return,
        }
        tracing::info!(delay_secs = delay.as_secs(), "signal received: draining");
        app.start_draining();
        tokio::time::sleep(delay).await;
        shutdown.cancel();
    });
}

/// Claim and run work until a signal; with `--http`, serve probes and metrics beside it.
async fn worker(app: &Arc<App>, args: WorkerArgs, shutdown: CancellationToken) -> anyhow::Result<()> {
    let probes = args.http.map(|addr| {
        let (app, stop) = (Arc::clone(app), shutdown.clone());
        tokio::spawn(async move { transport::http::serve_probes(app, addr, stop).await })
    });
    app.work(shutdown.clone()).await;
    shutdown.cancel();
    if let Some(probes) = probes {
        match probes.await {
            Ok(served) => served?,
            Err(e) => anyhow::bail!("the probe server stopped: {e}"),
        }
    }
    Ok(())
}

/// Serve MCP (stdio or HTTP) with a worker loop beside it for queued jobs (not in the `api`
/// role: its jobs run on the workers).
async fn serve(
    app: &Arc<App>,
    args: ServeArgs,
    redis_url: Option<Secret>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let stop_worker = shutdown.child_token();
    let worker = (app.role() != Role::Api).then(|| {
        let (app, stop) = (Arc::clone(app), stop_worker.clone());
        tokio::spawn(async move { app.work(stop).await })
    });
    let served = match args.http {
        Some(addr) => {
            let oauth = args.oauth.resolve()?;
            let auth = AuthOptions {
                insecure_no_auth: args.insecure_no_auth,
                cache_ttl: Duration::from_secs(args.auth_cache_secs),
                bearer: oauth.bearer,
                resource: oauth.resource,
            };
            let rate_limit = RateLimitOptions {
                per_ip: args.rate_limit_ip.0,
                per_caller: args.rate_limit_key.0,
                trusted_proxies: args.trusted_proxies,
                fail_open: args.rate_limit_fail_open,
                max_crawls_per_caller: Some(args.max_crawls_per_caller).filter(|cap| *cap > 0),
                redis_url,
            };
            let options = HttpOptions { allowed_hosts: args.allowed_hosts, auth, rate_limit };
            transport::http::serve(Arc::clone(app), addr, options, shutdown).await
        }
        None => transport::stdio::serve(Arc::clone(app), shutdown).await,
    };
    stop_worker.cancel();
    if let Some(worker) = worker {
        let _ = worker.await;
    }
    served
}

/// Run a command that does one thing and exits.
async fn one_shot(app: &Arc<App>, command: Command) -> anyhow::Result<()> {
    match command {
        Command::Crawl {
            url,
            depth,
            max_pages,
            concurrency,
            chunk_size,
            scope,
            render,
            stealth,
            dry_run,
            background,
            webhook_url,
            json,
        } => {
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
            let spec = if stealth { JobSpec::StealthCrawl { request } } else { JobSpec::SmartCrawl { request } };
            let request = JobRequest::new(spec, webhook_url);
            if background {
                let job_id = app.jobs.enqueue(request).await?;
                if json {
                    out_json(&json!({"success": true, "job_id": job_id, "status": "queued"}));
                } else {
                    out(&format!("queued job {job_id}; a worker (crawlrag serve / crawlrag worker) runs it\n"));
                }
                return Ok(());
            }
            let bar = Arc::new(BarProgress::new());
            let answer = app.jobs.answer(request, Wait::UntilDone, Arc::clone(&bar) as Arc<dyn ProgressSink>).await;
            bar.finish();
            app.jobs.settle().await;
            let report = match answer? {
                JobAnswer::Done { output: JobOutput::Site(report), .. } => report,
                JobAnswer::Done { .. } | JobAnswer::Running { .. } => {
                    return Err(Error::Internal("the crawl job answered something other than its report".into()).into());
                }
            };
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
        Command::Parse { repo, reference, webhook_url, json } => {
            parse_repository(app, repo, reference, webhook_url, json).await?;
        }
        Command::Check { script, language, json } => check_script(app, &script, language, json).await?,
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
            let sources = app.sources.list().await?;
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
            let counts = app.sources.delete(&SourceId::from(source.clone())).await?;
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
        Command::Keys { action } => keys::run(app, action).await?,
        Command::Serve(_) | Command::Worker(_) | Command::Doctor { .. } => {}
    }
    Ok(())
}

/// Chromium is optional (only `render=browser|auto` on script-only pages needs it): a missing one
/// is reported as such, a broken one as a failure.
async fn check_browser(config: &Config) -> Result<String, String> {
    let Some(path) = app::chromium_path(config) else {
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
    checks.push(("config", app::preflight(config).map(|()| "valid".to_owned())));
    let (store, graph) = match app::open_store(config).await {
        Ok((_, embedded, embedded_code, _)) => {
            let store = Ok(match config.store() {
                crate::config::StoreChoice::Postgres(_) => "postgres reachable, migrations applied".to_owned(),
                crate::config::StoreChoice::Sqlite(path) => format!("sqlite {}", path.display()),
            });
            let graph = match app::open_graph(config, embedded, embedded_code).await {
                Ok((graph, _)) => match graph.ping().await {
                    Ok(()) => Ok(format!("{} backend answers", graph.backend())),
                    Err(e) => Err(format!("{} backend: {e}", graph.backend())),
                },
                Err(e) => Err(format!("{e:#} (scripts/falkordb.sh start runs a local FalkorDB)")),
            };
            (store, graph)
        }
        Err(e) => {
            let store = Err(format!("{e:#} (scripts/postgres.sh start runs a local Postgres)"));
            (store, Err("no database, so no embedded graph".to_owned()))
        }
    };
    checks.push(("database", store));
    checks.push(("graph", graph));
    let embedder = if app::preflight(config).is_ok() {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serve_parses_rate_limits() {
        let cli = Cli::try_parse_from(["crawlrag", "serve", "--http", "127.0.0.1:8051"]).unwrap();
        let Command::Serve(args) = cli.command else { panic!("expected serve") };
        assert_eq!(args.rate_limit_ip.to_string(), rate_limit::DEFAULT_IP_LIMIT);
        assert_eq!(args.rate_limit_key.to_string(), rate_limit::DEFAULT_CALLER_LIMIT);
        assert!(args.rate_limit_fail_open && args.trusted_proxies.is_empty());
        assert_eq!(args.max_crawls_per_caller, rate_limit::DEFAULT_MAX_CRAWLS_PER_CALLER);
        let cli = Cli::try_parse_from([
            "crawlrag",
            "serve",
            "--rate-limit-ip",
            "off",
            "--rate-limit-key",
            "10/s,burst=5",
            "--trusted-proxies",
            "10.0.0.0/8,::1",
            "--rate-limit-fail-open",
            "false",
        ])
        .unwrap();
        let Command::Serve(args) = cli.command else { panic!("expected serve") };
        assert_eq!(args.rate_limit_ip.0, None);
        assert_eq!(args.rate_limit_key.0.map(|q| (q.limit, q.burst)), Some((10, 5)));
        assert_eq!(args.trusted_proxies.len(), 2);
        assert!(!args.rate_limit_fail_open);
        let bad = Cli::try_parse_from(["crawlrag", "serve", "--rate-limit-key", "10/week"]).unwrap_err().to_string();
        assert!(bad.contains("unknown unit"), "{bad}");
        let bad = Cli::try_parse_from(["crawlrag", "serve", "--trusted-proxies", "nginx"]).unwrap_err().to_string();
        assert!(bad.contains("CIDR"), "{bad}");
    }

    #[test]
    fn serve_and_worker_parse() {
        let cli =
            Cli::try_parse_from(["crawlrag", "--embedding-model-path", "/m", "serve", "--http", "127.0.0.1:8051"]);
        let Command::Serve(args) = cli.unwrap().command else { panic!("expected serve") };
        assert_eq!(args.http, Some("127.0.0.1:8051".parse().unwrap()));
        let cli = Cli::try_parse_from(["crawlrag", "--job-slots", "2", "worker"]).unwrap();
        assert!(matches!(cli.command, Command::Worker(WorkerArgs { http: None })));
        assert_eq!(cli.config.jobs.job_slots, 2);
        let cli = Cli::try_parse_from(["crawlrag", "serve", "--http", "127.0.0.1:1", "--role", "api"]).unwrap();
        assert_eq!(cli.config.scale.role, Role::Api);
        let cli = Cli::try_parse_from(["crawlrag", "crawl", "https://x.y/", "--background"]).unwrap();
        assert!(matches!(cli.command, Command::Crawl { background: true, .. }));
        let cli = Cli::try_parse_from(["crawlrag", "crawl", "https://x.y/", "--webhook-url", "https://h.x.y/in"]);
        let Command::Crawl { webhook_url, .. } = cli.unwrap().command else { panic!("expected crawl") };
        assert_eq!(webhook_url.as_deref(), Some("https://h.x.y/in"));
        let cli = Cli::try_parse_from(["crawlrag", "parse", "/srv/repo", "--webhook-url", "https://h.x.y/in"]);
        let Command::Parse { webhook_url, .. } = cli.unwrap().command else { panic!("expected parse") };
        assert_eq!(webhook_url.as_deref(), Some("https://h.x.y/in"));
    }
}
