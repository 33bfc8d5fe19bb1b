//! The servers under test: how Switchboard and the bare `ws_baseline` are started, and the
//! database, account and conversation created once for every run.

use std::{
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::Duration,
};

use anyhow::{Context, Result, bail};
use serde_json::json;
use switchboard_bench::{Process, free_port, gql};

use crate::{Args, interference::INTERFERENCE_CONTACTS};

/// How to start Switchboard, and the fixtures created once for every run.
pub(crate) struct Switchboard {
    pub(crate) bin: PathBuf,
    pub(crate) database_url: String,
    pub(crate) redis: String,
    pub(crate) prefix: String,
    pub(crate) log_dir: PathBuf,
    pub(crate) token: String,
    pub(crate) conversation: String,
}

impl Switchboard {
    pub(crate) fn command(&self, port: u16) -> Command {
        let mut cmd = Command::new(&self.bin);
        cmd.env("DATABASE_URL", &self.database_url)
            .env("JWT_SECRET", "bench-secret")
            .env("LISTEN_ADDR", format!("127.0.0.1:{port}"))
            .env("REDIS_PREFIX", &self.prefix)
            // Every subscriber uses the bench user's one token.
            .env("MAX_SOCKETS_PER_USER", "1000000")
            .env("REDIS_URL", &self.redis)
            .env("RUST_LOG", "warn")
            .env_remove("RUST_BACKTRACE")
            .env_remove("RUST_LIB_BACKTRACE");
        cmd
    }

    pub(crate) async fn start(&self, label: &str) -> Result<Process> {
        let port = free_port()?;
        let log = self.log_dir.join(format!("switchboard-{label}.log"));
        let child = self
            .command(port)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log)?)
            .spawn()?;
        let proc = Process {
            child,
            addr: format!("127.0.0.1:{port}"),
        };
        proc.wait_ready(200)
            .await
            .with_context(|| format!("switchboard not ready (log: {})", log.display()))?;
        Ok(proc)
    }
}

pub(crate) async fn start_baseline(bin: &Path) -> Result<Process> {
    let port = free_port()?;
    let child = Command::new(bin)
        .args(["--port", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let proc = Process {
        child,
        addr: format!("127.0.0.1:{port}"),
    };
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(&proc.addr).await.is_ok() {
            return Ok(proc);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    bail!("ws_baseline not listening")
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub(crate) enum Peer {
    Switchboard,
    Bare,
}

impl Peer {
    /// Both servers, in the order each round measures them.
    pub(crate) const BOTH: [Peer; 2] = [Peer::Switchboard, Peer::Bare];

    pub(crate) fn key(self) -> &'static str {
        match self {
            Peer::Switchboard => "switchboard",
            Peer::Bare => "bare",
        }
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Peer::Switchboard => "Switchboard",
            Peer::Bare => "bare tokio-tungstenite",
        }
    }
}

pub(crate) struct Env {
    pub(crate) sb: Switchboard,
    pub(crate) baseline: PathBuf,
}

impl Env {
    pub(crate) async fn start(&self, peer: Peer, label: &str) -> Result<Process> {
        match peer {
            Peer::Switchboard => self.sb.start(label).await,
            Peer::Bare => start_baseline(&self.baseline).await,
        }
    }
}

/// Creates the database, the account and the conversation every run subscribes to.
pub(crate) async fn setup(
    args: &Args,
    stamp: u128,
    log_dir: &Path,
) -> Result<(Switchboard, String)> {
    let bin = match &args.server {
        Some(path) => path.clone(),
        None => std::env::current_exe()?.with_file_name("switchboard"),
    };
    if !bin.exists() {
        bail!("{} not found: build the server in release", bin.display());
    }
    let name = format!("sb_peers_{stamp}");
    let admin = sea_orm::Database::connect(&args.postgres).await?;
    sea_orm::ConnectionTrait::execute_unprepared(&admin, &format!("CREATE DATABASE \"{name}\""))
        .await?;
    let (server, _) = args
        .postgres
        .rsplit_once('/')
        .context("postgres URL has a database")?;
    let mut sb = Switchboard {
        bin,
        database_url: format!("{server}/{name}"),
        redis: args.redis.clone(),
        prefix: format!("sbpeers{stamp}"),
        log_dir: log_dir.to_owned(),
        token: String::new(),
        conversation: String::new(),
    };
    // Migrations run on the first start; the account is created after them.
    let first = sb.start("setup").await?;
    let output = sb
        .command(0)
        .args([
            "create-account",
            "--name",
            "Bench",
            "--admin-email",
            "bench@example.com",
            "--admin-password",
            "bench password",
        ])
        .output()?;
    if !output.status.success() {
        bail!(
            "create-account failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let http = reqwest::Client::new();
    let addr = first.addr.clone();
    let login = gql(
        &http,
        &addr,
        None,
        "mutation { login(email: \"bench@example.com\", password: \"bench password\") { token } }",
        json!({}),
    )
    .await?;
    let token = login["login"]["token"]
        .as_str()
        .context("token")?
        .to_owned();
    let inbox = gql(
        &http,
        &addr,
        Some(&token),
        "mutation { createInbox(input: { name: \"Web\", channelType: \"web\" }) { id } }",
        json!({}),
    )
    .await?;
    let contact = gql(
        &http,
        &addr,
        Some(&token),
        "mutation { createContact(input: { name: \"Bench\", email: \"contact@example.com\" }) { id } }",
        json!({}),
    )
    .await?;
    let conversation = gql(
        &http,
        &addr,
        Some(&token),
        "mutation($c: ID!, $i: ID!) { createConversation(input: { contactId: $c, inboxId: $i }) { id } }",
        json!({ "c": contact["createContact"]["id"], "i": inbox["createInbox"]["id"] }),
    )
    .await?;
    for i in 1..INTERFERENCE_CONTACTS {
        gql(
            &http,
            &addr,
            Some(&token),
            "mutation($e: String!) { createContact(input: { name: \"Page\", email: $e }) { id } }",
            json!({ "e": format!("page-{i}@example.com") }),
        )
        .await?;
    }
    sb.conversation = conversation["createConversation"]["id"]
        .as_str()
        .context("conversation id")?
        .to_owned();
    sb.token = token;
    drop(first);
    Ok((sb, name))
}
