//! Typed configuration: one struct, read once from flags and environment variables.
//!
//! Every flag has an environment variable of the same meaning (README.md, "Commands"), so operators
//! configure containers with env vars and developers with flags. The command line and its
//! subcommands are `config/commands.rs`; settings kept out of logs, `config/sensitive.rs`.

mod commands;
mod sensitive;

use std::{net::SocketAddr, path::PathBuf};

use clap::Args;

pub use self::{
    commands::{Cli, Command, CreateAccountArgs, ImportArgs, ServeArgs, TokenArgs},
    sensitive::Sensitive,
};
use crate::limits::InputLimits;

/// The development-only JWT secret used when `JWT_SECRET` is unset. Loudly warned about at start.
pub const DEV_JWT_SECRET: &str = "switchboard-development-secret-do-not-use-in-production";

/// Settings shared by every command.
#[derive(Debug, Clone, Args)]
pub struct Config {
    /// Database URL: `postgres://…` or `sqlite://FILE?mode=rwc`. Default: `switchboard.db` here.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true, global = true)]
    pub database_url: Option<Sensitive>,
    /// Redis URL for cross-instance events and presence. Unset: in-process events.
    #[arg(long, env = "REDIS_URL", hide_env_values = true, global = true)]
    pub redis_url: Option<Sensitive>,
    /// Prefix for every Redis key and channel, so several deployments (or tests) share one Redis.
    #[arg(
        long,
        env = "REDIS_PREFIX",
        default_value = "switchboard",
        global = true
    )]
    pub redis_prefix: String,
    /// HS256 secret for access tokens.
    #[arg(long, env = "JWT_SECRET", hide_env_values = true, global = true)]
    pub jwt_secret: Option<Sensitive>,
    /// Lifetime of tokens issued by `login` and `switchboard token`, in seconds.
    #[arg(long, env = "TOKEN_TTL_SECS", default_value_t = 12 * 3600, global = true)]
    pub token_ttl_secs: u64,
    /// Address the HTTP server listens on.
    #[arg(
        long,
        env = "LISTEN_ADDR",
        default_value = "127.0.0.1:8080",
        global = true
    )]
    pub listen_addr: SocketAddr,
    /// Log format: `text` for people, `json` for log shippers.
    #[arg(long, env = "LOG_FORMAT", default_value = "text", global = true)]
    pub log_format: LogFormat,
    /// Largest accepted upload (multipart file), in bytes.
    #[arg(long, env = "MAX_UPLOAD_BYTES", default_value_t = 64 * 1024 * 1024, global = true)]
    pub max_upload_bytes: usize,
    /// Largest accepted JSON request body, in bytes.
    #[arg(long, env = "MAX_BODY_BYTES", default_value_t = 1024 * 1024, global = true)]
    pub max_body_bytes: usize,
    /// Most multipart uploads read at once by this process; more are refused with 503 and
    /// `Retry-After`, so that slow or large uploads cannot pile up on disk and in buffers.
    #[arg(
        long,
        env = "MAX_CONCURRENT_UPLOADS",
        default_value_t = 4,
        global = true
    )]
    pub max_concurrent_uploads: usize,
    /// Longest a request waits on Redis (connecting or answering), in milliseconds; past it the
    /// operation goes on without Redis (events are delivered on this instance only).
    #[arg(long, env = "REDIS_TIMEOUT_MS", default_value_t = 500, global = true)]
    pub redis_timeout_ms: u64,
    /// Longest each readiness check (database, Redis) may take, in milliseconds; the checks run
    /// concurrently, so `/readyz` answers within about this time.
    #[arg(
        long,
        env = "READINESS_TIMEOUT_MS",
        default_value_t = 500,
        global = true
    )]
    pub readiness_timeout_ms: u64,
    /// Events waiting to be published to Redis. The publisher turns to the database's outbox
    /// within `REDIS_TIMEOUT_MS` of Redis failing, so the queue only fills when the database is
    /// slow too; a mutation then waits for room.
    #[arg(
        long,
        env = "PUBLISH_QUEUE_LENGTH",
        default_value_t = 4096,
        global = true
    )]
    pub publish_queue_length: usize,
    /// Events kept per account for subscriptions resuming with `after` (at least this many;
    /// Redis may keep a few more). 5,000 covers an hour of a busy inbox's events (about 1.4 a
    /// second) at roughly 3 MB of Redis per account at its fullest.
    #[arg(
        long,
        env = "EVENT_HISTORY_LENGTH",
        default_value_t = 5000,
        value_parser = clap::value_parser!(u32).range(1..=1_000_000),
        global = true
    )]
    pub event_history_length: u32,
    /// How long an event is kept for resuming subscriptions, in seconds. An hour: a laptop
    /// closed over lunch or a train through tunnels resumes without a refetch; after longer the
    /// client gets `HISTORY_EXPIRED` and refetches, which is cheaper than keeping more.
    #[arg(
        long,
        env = "EVENT_HISTORY_TTL_SECS",
        default_value_t = 3600,
        value_parser = clap::value_parser!(u64).range(1..=7 * 24 * 3600),
        global = true
    )]
    pub event_history_ttl_secs: u64,
    /// Database pool size.
    #[arg(long, env = "DATABASE_POOL_SIZE", default_value_t = 10, global = true)]
    pub database_pool_size: u32,
    /// Worker threads of the runtime serving websockets (subscriptions), apart from the one
    /// serving HTTP requests; 0 means half the CPU cores (at least 1).
    #[arg(long, env = "REALTIME_THREADS", default_value_t = 0, global = true)]
    pub realtime_threads: usize,
    /// Directory keeping the files of CSV imports (the upload until it is imported, and the
    /// failed rows). Default: `imports/` next to the SQLite file, or in the working directory.
    /// Instances sharing a database must share this directory.
    #[arg(long, env = "IMPORT_DIR", global = true)]
    pub import_dir: Option<PathBuf>,
    /// Bounds on filters, list arguments and JSON attributes (src/limits.rs).
    #[command(flatten)]
    pub limits: InputLimits,
    /// How long, in milliseconds, an instance may reuse a caller's membership (role, or a
    /// widget's contact inbox) read from the database; revoked access ends everywhere within
    /// this time even if the change's event is lost. 0 reads the database on every request.
    #[arg(
        long,
        env = "ACCESS_CACHE_TTL_MS",
        default_value_t = 1000,
        global = true
    )]
    pub access_cache_ttl_ms: u64,
    /// How many callers' memberships an instance caches at most (0: no cache).
    #[arg(
        long,
        env = "ACCESS_CACHE_CAPACITY",
        default_value_t = 10_000,
        global = true
    )]
    pub access_cache_capacity: usize,
    /// Most operations (subscriptions, queries in flight) one websocket may hold at once; a
    /// `subscribe` beyond it gets an `error` message coded `TOO_MANY_SUBSCRIPTIONS`.
    #[arg(
        long,
        env = "MAX_SUBSCRIPTIONS_PER_SOCKET",
        default_value_t = 100,
        global = true
    )]
    pub max_subscriptions_per_socket: usize,
    /// Most websockets one user (or widget contact) may hold open on one instance; more are
    /// closed at `connection_init` with 4429.
    #[arg(
        long,
        env = "MAX_SOCKETS_PER_USER",
        default_value_t = 50,
        global = true
    )]
    pub max_sockets_per_user: usize,
    /// Seconds a websocket may take to send `connection_init` before it is closed with 4408.
    #[arg(
        long,
        env = "WS_INIT_TIMEOUT_SECS",
        default_value_t = 10,
        global = true
    )]
    pub ws_init_timeout_secs: u64,
    /// Seconds one websocket write may wait on a client that does not read before the socket
    /// is dropped (a slow reader holds one message, never a growing queue).
    #[arg(
        long,
        env = "WS_SEND_TIMEOUT_SECS",
        default_value_t = 10,
        global = true
    )]
    pub ws_send_timeout_secs: u64,
}

/// How logs are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

impl Config {
    /// The database URL, defaulting to a SQLite file in the working directory.
    pub fn database_url(&self) -> String {
        self.database_url
            .as_ref()
            .map(|url| url.0.clone())
            .filter(|url| !url.trim().is_empty())
            .unwrap_or_else(|| {
                let path = PathBuf::from("switchboard.db");
                format!("sqlite://{}?mode=rwc", path.display())
            })
    }

    /// The directory of import files: `IMPORT_DIR`, else `imports/` next to the SQLite file,
    /// else `imports/` in the working directory.
    pub fn import_dir(&self) -> PathBuf {
        if let Some(dir) = self
            .import_dir
            .as_ref()
            .filter(|d| !d.as_os_str().is_empty())
        {
            return dir.clone();
        }
        let url = self.database_url();
        let sqlite_file = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .map(|rest| rest.split('?').next().unwrap_or_default())
            .filter(|path| !path.is_empty() && !path.starts_with(":memory:"));
        sqlite_file
            .and_then(|file| PathBuf::from(file).parent().map(|dir| dir.join("imports")))
            .unwrap_or_else(|| PathBuf::from("imports"))
    }

    /// How much history each account keeps.
    pub fn history(&self) -> crate::events::HistorySettings {
        crate::events::HistorySettings {
            length: self.event_history_length as usize,
            ttl: std::time::Duration::from_secs(self.event_history_ttl_secs),
        }
    }

    /// The Redis URL, when one is configured.
    pub fn redis_url(&self) -> Option<&str> {
        self.redis_url
            .as_ref()
            .map(|url| url.0.as_str())
            .filter(|url| !url.trim().is_empty())
    }

    /// The JWT secret and whether it is the development default.
    pub fn jwt_secret(&self) -> (String, bool) {
        match self
            .jwt_secret
            .as_ref()
            .map(|secret| secret.0.as_str())
            .filter(|s| !s.is_empty())
        {
            Some(secret) => (secret.to_owned(), false),
            None => (DEV_JWT_SECRET.to_owned(), true),
        }
    }

    /// A configuration for tests and benchmarks: every default, no environment read.
    pub fn for_tests(
        database_url: String,
        redis_url: Option<String>,
        redis_prefix: String,
    ) -> Self {
        // Next to a test's SQLite file (its temp dir); a per-test temp dir otherwise.
        let import_dir = (!database_url.starts_with("sqlite")).then(|| {
            std::env::temp_dir()
                .join("switchboard-imports")
                .join(&redis_prefix)
        });
        Self {
            database_url: Some(Sensitive(database_url)),
            redis_url: redis_url.map(Sensitive),
            redis_prefix,
            jwt_secret: Some(Sensitive("test-secret".to_owned())),
            token_ttl_secs: 3600,
            listen_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            log_format: LogFormat::Text,
            max_upload_bytes: 64 * 1024 * 1024,
            max_body_bytes: 1024 * 1024,
            max_concurrent_uploads: 4,
            redis_timeout_ms: 500,
            readiness_timeout_ms: 500,
            publish_queue_length: 4096,
            event_history_length: 5000,
            event_history_ttl_secs: 3600,
            database_pool_size: 5,
            realtime_threads: 0,
            import_dir,
            limits: InputLimits::default(),
            access_cache_ttl_ms: 1000,
            access_cache_capacity: 10_000,
            max_subscriptions_per_socket: 100,
            max_sockets_per_user: 50,
            ws_init_timeout_secs: 10,
            ws_send_timeout_secs: 10,
        }
    }
}
