//! Pieces the benchmark binaries share: a server run as its own process, free ports, resident
//! memory, percentiles, GraphQL over HTTP.

use std::{
    process::{Child, Command},
    time::Duration,
};

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

/// A websocket client connection.
pub type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A server process listening on `addr`, stopped when dropped.
pub struct Process {
    pub child: Child,
    pub addr: String,
}

impl Drop for Process {
    /// Stops the server as an operator would (SIGTERM, so a profiler wrapping it writes its
    /// output), and kills it if it has not exited within 30 s.
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        for _ in 0..300 {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Process {
    /// Waits until the server answers `GET /readyz` with a success, polling every 100 ms up to
    /// `tries` times.
    pub async fn wait_ready(&self, tries: usize) -> Result<()> {
        let http = reqwest::Client::new();
        for _ in 0..tries {
            if http
                .get(format!("http://{}/readyz", self.addr))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        bail!("{} not ready after {tries} tries", self.addr)
    }
}

/// A loopback port nobody listens on now.
pub fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// The resident memory of a process, in KiB.
pub fn rss_kib(pid: u32) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .context("no VmRSS")?;
    Ok(line
        .split_whitespace()
        .nth(1)
        .context("bad VmRSS")?
        .parse()?)
}

/// The CPU time a process has used so far (user + system, every thread), in ms, from
/// `/proc/PID/stat` (in clock ticks, 100 per second on Linux).
pub fn cpu_ms(pid: u32) -> Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the command name (which may hold spaces, so split after its ')').
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .context("bad stat")?
        .1
        .split_whitespace()
        .collect();
    let ticks =
        |i: usize| -> Result<f64> { Ok(fields.get(i).context("short stat")?.parse::<f64>()?) };
    // utime and stime are fields 14 and 15 of stat, 12 and 13 after the name and state.
    Ok((ticks(11)? + ticks(12)?) * 10.0)
}

/// The `p`th percentile of sorted values (nearest rank); NaN when there are none.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

/// POSTs a GraphQL request to `http://{addr}/graphql`; the `data`, or an error if there are
/// `errors`.
pub async fn gql(
    http: &reqwest::Client,
    addr: &str,
    token: Option<&str>,
    query: &str,
    variables: Value,
) -> Result<Value> {
    let mut request = http
        .post(format!("http://{addr}/graphql"))
        .json(&json!({ "query": query, "variables": variables }));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let body: Value = request.send().await?.json().await?;
    if body.get("errors").is_some() {
        bail!("GraphQL errors: {body}");
    }
    Ok(body["data"].clone())
}

/// The machine a benchmark ran on, in one line: cores, CPU model, memory, kernel and the load
/// average when this was called (other work on the machine skews every figure).
pub fn machine() -> String {
    let read = |path: &str| std::fs::read_to_string(path).unwrap_or_default();
    let cores = std::thread::available_parallelism().map_or(0, std::num::NonZero::get);
    let cpuinfo = read("/proc/cpuinfo");
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name")?.split_once(':'))
        .map_or("unknown CPU", |(_, model)| model.trim());
    let memory_gib = read("/proc/meminfo")
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|kib| kib.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kib| kib / 1_048_576.0);
    let kernel = read("/proc/sys/kernel/osrelease");
    let load = read("/proc/loadavg");
    let load: Vec<&str> = load.split_whitespace().take(3).collect();
    format!(
        "{cores} cores ({model}), {memory_gib:.1} GiB RAM, Linux {}; load average {}",
        kernel.trim(),
        load.join(" ")
    )
}

/// The server binary a benchmark starts: `--server` when given, else `switchboard` next to the
/// benchmark's own binary (both built by `cargo build --release`).
pub fn server_binary(given: Option<&std::path::Path>) -> Result<std::path::PathBuf> {
    let bin = match given {
        Some(path) => path.to_path_buf(),
        None => std::env::current_exe()?.with_file_name("switchboard"),
    };
    if !bin.exists() {
        bail!(
            "{} not found: run `cargo build --release --bin switchboard` first",
            bin.display()
        );
    }
    Ok(bin)
}

/// The command-line options every benchmark that starts its own server takes.
#[derive(clap::Args, Debug, Clone)]
pub struct ServerArgs {
    /// PostgreSQL server to create the benchmark database on.
    #[arg(long, default_value = "postgres://postgres@localhost/test")]
    pub postgres: String,
    /// Redis for the event bus.
    #[arg(long, default_value = "redis://127.0.0.1:6379")]
    pub redis: String,
    /// Use the embedded default (SQLite file, in-process events) instead of PostgreSQL + Redis.
    #[arg(long)]
    pub embedded: bool,
    /// The server binary (default: `switchboard` next to this benchmark's binary).
    #[arg(long)]
    pub server: Option<std::path::PathBuf>,
}

/// Where a benchmark's server keeps its data, and what else it is told.
pub struct Setup<'a> {
    /// The server binary.
    pub bin: &'a std::path::Path,
    /// SQLite + in-process events instead of PostgreSQL + Redis.
    pub embedded: bool,
    /// The PostgreSQL server (a URL with a database) to create the run's database on.
    pub postgres: &'a str,
    /// Redis for the event bus.
    pub redis: &'a str,
    /// Names the run's database, Redis prefix and temporary directory.
    pub tag: &'a str,
    /// More environment for the server (`EVENT_HISTORY_LENGTH`, …).
    pub env: Vec<(String, String)>,
}

/// A server started as its own process on a fresh database, with an administrator logged in
/// and one conversation to post to. [`Fixture::finish`] stops it and drops the database.
pub struct Fixture {
    pub server: Process,
    pub token: String,
    pub conversation: String,
    /// `PostgreSQL + Redis` or `SQLite + in-process events`.
    pub backend: &'static str,
    /// The server's `REDIS_PREFIX` (PostgreSQL + Redis only).
    pub redis_prefix: Option<String>,
    dir: std::path::PathBuf,
    created: Option<(sea_orm::DatabaseConnection, String)>,
}

impl Fixture {
    /// Creates the database (PostgreSQL) or file (SQLite), creates the account with the
    /// server's own `create-account`, starts `serve`, logs in and creates an inbox, a contact
    /// and a conversation. The server's log goes to a file in a temporary directory.
    pub async fn start(setup: Setup<'_>) -> Result<Self> {
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_millis();
        let tag = format!("{}_{stamp}", setup.tag);
        let dir = std::env::temp_dir().join(format!("sb-{tag}"));
        std::fs::create_dir_all(&dir)?;
        let mut created = None;
        let (database_url, redis_url, backend) = if setup.embedded {
            (
                format!("sqlite://{}?mode=rwc", dir.join("bench.db").display()),
                None,
                "SQLite + in-process events",
            )
        } else {
            let name = format!("sb_{tag}");
            let admin = sea_orm::Database::connect(setup.postgres).await?;
            sea_orm::ConnectionTrait::execute_unprepared(
                &admin,
                &format!("CREATE DATABASE \"{name}\""),
            )
            .await?;
            let (server, _) = setup
                .postgres
                .rsplit_once('/')
                .context("postgres URL has a database")?;
            let url = format!("{server}/{name}");
            created = Some((admin, name));
            (url, Some(setup.redis.to_owned()), "PostgreSQL + Redis")
        };
        let redis_prefix = redis_url.as_ref().map(|_| format!("sbbench{tag}"));
        let port = free_port()?;
        let env = |cmd: &mut Command| {
            cmd.env("DATABASE_URL", &database_url)
                .env("JWT_SECRET", "bench-secret")
                .env("LISTEN_ADDR", format!("127.0.0.1:{port}"))
                // Every client uses the bench user's one token.
                .env("MAX_SOCKETS_PER_USER", "1000000")
                .env("RUST_LOG", "warn")
                // As in production: no backtrace captured for every logged error.
                .env_remove("RUST_BACKTRACE")
                .env_remove("RUST_LIB_BACKTRACE")
                .env_remove("REDIS_URL");
            if let (Some(redis), Some(prefix)) = (&redis_url, &redis_prefix) {
                cmd.env("REDIS_URL", redis).env("REDIS_PREFIX", prefix);
            }
            for (key, value) in &setup.env {
                cmd.env(key, value);
            }
        };
        let mut create = Command::new(setup.bin);
        create.args([
            "create-account",
            "--name",
            "Bench",
            "--admin-email",
            "bench@example.com",
            "--admin-password",
            "bench password",
        ]);
        env(&mut create);
        let output = create.output()?;
        if !output.status.success() {
            bail!(
                "create-account failed: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        let mut serve = Command::new(setup.bin);
        env(&mut serve);
        let log = dir.join("server.log");
        eprintln!("server log: {}", log.display());
        let child = serve
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(&log)?)
            .spawn()?;
        let server = Process {
            child,
            addr: format!("127.0.0.1:{port}"),
        };
        server.wait_ready(100).await?;
        let http = reqwest::Client::new();
        let addr = &server.addr;
        let login = gql(
            &http,
            addr,
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
            addr,
            Some(&token),
            "mutation { createInbox(input: { name: \"Web\", channelType: \"web\" }) { id } }",
            json!({}),
        )
        .await?;
        let contact = gql(
            &http,
            addr,
            Some(&token),
            "mutation { createContact(input: { name: \"Bench\", email: \"contact@example.com\" }) { id } }",
            json!({}),
        )
        .await?;
        let conversation = gql(
            &http,
            addr,
            Some(&token),
            "mutation($c: ID!, $i: ID!) { createConversation(input: { contactId: $c, inboxId: $i }) { id } }",
            json!({ "c": contact["createContact"]["id"], "i": inbox["createInbox"]["id"] }),
        )
        .await?;
        let conversation = conversation["createConversation"]["id"]
            .as_str()
            .context("conversation id")?
            .to_owned();
        Ok(Self {
            server,
            token,
            conversation,
            backend,
            redis_prefix,
            dir,
            created,
        })
    }

    /// Stops the server, drops the database and removes the temporary directory (the server's
    /// log with it, unless `keep_log`).
    pub async fn finish(self, keep_log: bool) -> Result<()> {
        drop(self.server);
        if let Some((admin, name)) = self.created {
            sea_orm::ConnectionTrait::execute_unprepared(
                &admin,
                &format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"),
            )
            .await?;
        }
        if !keep_log {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
        Ok(())
    }
}

/// Opens a graphql-transport-ws websocket to `addr`, sends `connection_init` with the bearer
/// token and waits for `connection_ack`.
pub async fn connect_ws(addr: &str, token: &str) -> Result<Socket> {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest, http::HeaderValue};
    let mut request = format!("ws://{addr}/graphql/ws").into_client_request()?;
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        HeaderValue::from_static("graphql-transport-ws"),
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(request).await?;
    let init = json!({ "type": "connection_init", "payload": { "authorization": format!("Bearer {token}") } });
    ws.send(Message::Text(init.to_string().into())).await?;
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(text))) if text.contains("connection_ack") => return Ok(ws),
            Some(Ok(_)) => {}
            other => bail!("no ack: {other:?}"),
        }
    }
}

/// The offset of a position `<account>:<epoch>:<offset>` (benchmarks only: clients treat
/// positions as opaque).
pub fn position_offset(position: &str) -> Option<u64> {
    position.rsplit(':').next()?.parse().ok()
}

/// Replaces the section of a results file between `<!-- bench:{name}:start -->` and
/// `<!-- bench:{name}:end -->` with `section` (the text around the markers, such as notes written
/// by hand, stays), or appends it when the markers are missing; a missing file starts with
/// `title`.
pub fn write_section(path: &std::path::Path, title: &str, name: &str, section: &str) -> Result<()> {
    let start = format!("<!-- bench:{name}:start -->");
    let end = format!("<!-- bench:{name}:end -->");
    let marked = format!("{start}\n{}\n{end}", section.trim_end());
    let existing = std::fs::read_to_string(path).unwrap_or_else(|_| format!("{title}\n"));
    let content = match (existing.find(&start), existing.find(&end)) {
        (Some(s), Some(e)) if s < e => {
            format!("{}{marked}{}", &existing[..s], &existing[e + end.len()..])
        }
        _ => format!("{}\n\n{marked}\n", existing.trim_end()),
    };
    std::fs::write(path, content).with_context(|| format!("writing {}", path.display()))
}
