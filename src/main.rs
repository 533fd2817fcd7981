//! The `crawlrag` binary: parse config, start telemetry, build the app, run the command.

use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use crawlrag::app::App;
use crawlrag::config::{Cli, Command};
use crawlrag::progress::NoProgress;
use crawlrag::retrieve::RagQuery;
use crawlrag::transport::{self, http::HttpOptions};
use tokio_util::sync::CancellationToken;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc; // +50% candle throughput (stack-notes §3)

/// Exit codes: 0 ok, 1 runtime failure, 2 usage/configuration error (clap uses 2 as well).
const EXIT_FAILURE: u8 = 1;
const EXIT_CONFIG: u8 = 2;

fn main() -> ExitCode {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let cli = Cli::parse();
    let stdio = matches!(&cli.command, Command::Serve(args) if args.http.is_none());
    crawlrag::telemetry::init(!stdio && std::io::IsTerminal::is_terminal(&std::io::stderr()));
    if let Err(message) = cli.config.validate() {
        eprintln!("crawlrag: {message}");
        return ExitCode::from(EXIT_CONFIG);
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("crawlrag: cannot start the async runtime: {e}");
            return ExitCode::from(EXIT_FAILURE);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("crawlrag: {e:#}");
            ExitCode::from(EXIT_FAILURE)
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let app = Arc::new(App::build(&cli.config).await?);
    let shutdown = CancellationToken::new();
    transport::cancel_on_signal(shutdown.clone());
    match cli.command {
        Command::Serve(args) => match args.http {
            Some(addr) => {
                let options = HttpOptions { allowed_hosts: args.allowed_hosts };
                transport::http::serve(app, addr, options, shutdown).await
            }
            None => transport::stdio::serve(app, shutdown).await,
        },
        Command::Crawl { url, chunk_size, json } => {
            let report = app.crawler.crawl_single_page(&url, chunk_size, &NoProgress).await?;
            if json {
                print_json(&serde_json::json!({
                    "success": true, "url": report.url, "source_id": report.source_id, "title": report.title,
                    "chunks_stored": report.chunks_stored, "content_length": report.content_length,
                    "total_word_count": report.total_word_count,
                    "links_count": {"internal": report.links.internal.len(), "external": report.links.external.len()},
                }));
            } else {
                eprintln!(
                    "crawled {} ({}): {} chunks, {} words, {} internal / {} external links",
                    report.url,
                    report.source_id,
                    report.chunks_stored,
                    report.total_word_count,
                    report.links.internal.len(),
                    report.links.external.len()
                );
            }
            Ok(())
        }
        Command::Query { text, source, count, json } => {
            let query = RagQuery { query: text, source: source.map(Into::into), match_count: count, offset: 0 };
            let hits = app.retriever.search(&query).await?;
            if json {
                print_json(&serde_json::to_value(&hits)?);
            } else {
                for (rank, hit) in hits.iter().enumerate() {
                    let preview: String = hit.content.chars().take(300).collect();
                    write_out(&format!(
                        "{}. [{:.3}] {}\n   {}\n",
                        rank + 1,
                        hit.similarity,
                        hit.url,
                        preview.replace('\n', " ")
                    ));
                }
            }
            Ok(())
        }
        Command::Sources { json } => {
            let sources = app.retriever.sources().await?;
            if json {
                print_json(&serde_json::to_value(&sources)?);
            } else {
                write_out(&format!("{:<40} {:>6} {:>7} {:>9}  updated\n", "source", "pages", "chunks", "words"));
                for s in &sources {
                    write_out(&format!(
                        "{:<40} {:>6} {:>7} {:>9}  {}\n",
                        s.source_id,
                        s.pages,
                        s.chunks,
                        s.total_words,
                        s.updated_at.format("%Y-%m-%d %H:%M")
                    ));
                }
            }
            Ok(())
        }
        Command::Migrate => {
            eprintln!("database migrated and bound to the embedding model");
            Ok(())
        }
    }
}

/// Command output goes to stdout (never in `serve` stdio mode, where stdout is the protocol).
fn write_out(text: &str) {
    use std::io::Write;
    let _ = std::io::stdout().write_all(text.as_bytes());
}

fn print_json(value: &serde_json::Value) {
    write_out(&format!("{}\n", serde_json::to_string_pretty(value).unwrap_or_default()));
}
