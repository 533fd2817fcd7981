//! The `crawlrag` binary: parse config, start telemetry, build the app, run the command, map the
//! outcome to an exit code (see `cli::exit`).

use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use crawlrag::app::App;
use crawlrag::cli::{self, exit};
use crawlrag::config::{Cli, Command};
use crawlrag::transport::{self, http::HttpOptions};
use tokio_util::sync::CancellationToken;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc; // +50% candle throughput (stack-notes §3)

fn main() -> ExitCode {
    crawlrag::memory::return_freed_memory_promptly();
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let cli = Cli::parse();
    let stdio = matches!(&cli.command, Command::Serve(args) if args.http.is_none());
    crawlrag::telemetry::init(!stdio && std::io::IsTerminal::is_terminal(&std::io::stderr()));
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("crawlrag: cannot start the async runtime: {e}");
            return ExitCode::from(exit::FAILURE);
        }
    };
    if let Command::Doctor { json } = cli.command {
        let healthy = runtime.block_on(cli::doctor(&cli.config, json));
        return ExitCode::from(if healthy { exit::OK } else { exit::FAILURE });
    }
    if let Err(message) = cli.config.validate() {
        eprintln!("crawlrag: {message}");
        return ExitCode::from(exit::CONFIG);
    }
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("crawlrag: {e:#}");
            ExitCode::from(cli::exit_code(&e))
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let bar = cli::BarProgress::new();
    let built = App::build(&cli.config, &bar).await;
    bar.finish();
    let app = Arc::new(built?);
    let shutdown = CancellationToken::new();
    transport::cancel_on_signal(shutdown.clone());
    match cli.command {
        Command::Serve(args) => {
            let served = match args.http {
                Some(addr) => {
                    let options = HttpOptions { allowed_hosts: args.allowed_hosts };
                    transport::http::serve(Arc::clone(&app), addr, options, shutdown).await
                }
                None => transport::stdio::serve(Arc::clone(&app), shutdown).await,
            };
            // Crawl jobs still running are stopped and recorded as interrupted, never left "running".
            app.jobs.shutdown().await;
            served
        }
        command @ (Command::Crawl { .. }
        | Command::Jobs { .. }
        | Command::Query { .. }
        | Command::Sources { .. }
        | Command::Delete { .. }
        | Command::Doctor { .. }
        | Command::Migrate { .. }) => {
            tokio::select! {
                result = cli::run(app, command) => result,
                () = shutdown.cancelled() => Err(crawlrag::error::Error::Cancelled.into()),
            }
        }
    }
}
