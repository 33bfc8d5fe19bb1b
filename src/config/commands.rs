//! The `switchboard` command line: the shared settings ([`Config`]) and the subcommands.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use super::Config;

/// The `switchboard` command line.
#[derive(Debug, Parser)]
#[command(
    name = "switchboard",
    version,
    about = "GraphQL API and realtime gateway for a support CRM"
)]
pub struct Cli {
    #[command(flatten)]
    pub config: Config,
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The subcommands of README.md, "Commands".
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (the default).
    Serve(ServeArgs),
    /// Apply pending migrations and exit.
    Migrate,
    /// Create an account with an administrator; prints the account id.
    CreateAccount(CreateAccountArgs),
    /// Print an access token for a user.
    Token(TokenArgs),
    /// Print the GraphQL schema (SDL), the same text as `schema.graphql`.
    ExportSchema,
    /// Import contacts from a CSV file into an account, with a progress bar.
    Import(ImportArgs),
}

/// `switchboard import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The account to import into.
    #[arg(long)]
    pub account: i64,
    /// The CSV file (a header row, then one contact per row).
    pub file: PathBuf,
}

/// `switchboard serve`.
#[derive(Debug, Clone, Default, Args)]
pub struct ServeArgs {
    /// Do not apply pending migrations at start (run `switchboard migrate` as a separate step).
    #[arg(long, env = "SKIP_MIGRATIONS")]
    pub skip_migrations: bool,
}

/// `switchboard create-account`.
#[derive(Debug, Args)]
pub struct CreateAccountArgs {
    #[arg(long)]
    pub name: String,
    #[arg(long)]
    pub admin_email: String,
    #[arg(long)]
    pub admin_password: String,
    /// The administrator's display name (default: the part of the email before `@`).
    #[arg(long)]
    pub admin_name: Option<String>,
}

/// `switchboard token`.
#[derive(Debug, Args)]
pub struct TokenArgs {
    #[arg(long)]
    pub email: String,
    /// Account to scope the token to (default: the user's first account).
    #[arg(long)]
    pub account: Option<i64>,
}
