//! The `switchboard` binary: parse the command line, set up logging, hand over to the library.

use clap::Parser;
use switchboard::{
    App, cli,
    config::{Cli, Command, ServeArgs},
    imports, telemetry,
};

/// mimalloc rather than glibc's malloc: a request allocates and frees thousands of small
/// objects across threads, where glibc spent a sixth of the CPU time (see bench/NOTES.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    telemetry::init_tracing(cli.config.log_format);
    let config = cli.config;
    match cli.command.unwrap_or(Command::Serve(ServeArgs::default())) {
        Command::Serve(args) => {
            let listener = tokio::net::TcpListener::bind(config.listen_addr).await?;
            let app = App::build(config, !args.skip_migrations).await?;
            app.run(listener, shutdown_signal()).await
        }
        Command::Migrate => cli::migrate(&config).await,
        Command::CreateAccount(args) => cli::create_account(&config, &args).await,
        Command::Token(args) => cli::token(&config, &args).await,
        Command::ExportSchema => cli::export_schema(),
        Command::Import(args) => imports::cli::import(&config, &args).await,
    }
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %err, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(err) => {
                tracing::error!(error = %err, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
