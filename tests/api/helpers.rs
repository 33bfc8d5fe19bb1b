//! The test harness: a real server on port 0 with a fresh database per test, and HTTP and
//! websocket clients that talk to it as a user would.
//!
//! Backend: the embedded default (a SQLite file in a temp dir, in-process events) unless
//! `DATABASE_URL` points at PostgreSQL, in which case each test gets its own fresh database on
//! that server, and unless `REDIS_URL` is set, in which case events go through Redis under a
//! channel prefix unique to the test.

use std::{net::SocketAddr, time::Duration};

use futures_util::{SinkExt, StreamExt};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection};
use serde_json::{Value, json};
use switchboard::{
    App, Config,
    auth::repo::{self, NewUser},
};
use tokio::{net::TcpStream, sync::oneshot, task::JoinHandle};
use tokio_tungstenite::{
    MaybeTlsStream, WebSocketStream,
    tungstenite::{Message, client::IntoClientRequest, http::HeaderValue},
};

/// A running server and what the test needs to talk to it.
pub struct TestApp {
    pub addr: SocketAddr,
    pub http: reqwest::Client,
    /// A connection of the test's own, for seeding.
    pub db: DatabaseConnection,
    pub config: Config,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<anyhow::Result<()>>>,
    postgres: Option<(String, String)>,
    _dir: Option<tempfile::TempDir>,
}

fn unique(prefix: &str) -> String {
    format!("{prefix}_{}_{}", std::process::id(), rand_suffix())
}

fn rand_suffix() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    format!("{}{:x}", COUNTER.fetch_add(1, Ordering::Relaxed), nanos)
}

fn env_url(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// Whether the suite runs against PostgreSQL + Redis.
pub fn external_backends() -> bool {
    env_url("DATABASE_URL").is_some()
}

/// The reason `#[ignore]` gives for the tests of several instances sharing events, which run in
/// the PostgreSQL + Redis pass (`cargo test -- --include-ignored`, as `.ci/run` does).
/// Called first in those tests: run without Redis they fail with this message instead of
/// passing without having checked anything.
pub fn require_redis() {
    assert!(
        env_url("REDIS_URL").is_some(),
        "this test needs REDIS_URL (instances share events only through Redis): \
         DATABASE_URL=postgres://… REDIS_URL=redis://… cargo test -- --include-ignored"
    );
}

/// Says that a test is skipped, on the terminal even though the harness captures the test's
/// output (a passing test's `eprintln!` is never shown).
pub fn skipped(reason: &str) {
    use std::io::Write;
    let name = std::thread::current().name().unwrap_or("a test").to_owned();
    let _ = writeln!(std::io::stderr(), "skipped: {name}: {reason}");
}

/// Starts a server with a fresh database.
pub async fn spawn_app() -> TestApp {
    spawn_app_configured(|_| {}).await
}

/// Starts a server with a fresh database and the test's own settings (limits, …).
pub async fn spawn_app_configured(configure: impl FnOnce(&mut Config)) -> TestApp {
    let (database_url, postgres, dir) = match env_url("DATABASE_URL") {
        Some(base) if base.starts_with("postgres") => {
            let name = unique("sb_test");
            let template = postgres_template(&base).await;
            let admin = Database::connect(&base)
                .await
                .expect("connect to PostgreSQL");
            admin
                .execute_unprepared(&format!(
                    "CREATE DATABASE \"{name}\" TEMPLATE \"{template}\""
                ))
                .await
                .expect("create test database");
            admin.close().await.ok();
            let (server, _) = base
                .rsplit_once('/')
                .expect("DATABASE_URL has a database name");
            (format!("{server}/{name}"), Some((base.clone(), name)), None)
        }
        Some(other) => panic!("unsupported DATABASE_URL for tests: {other}"),
        None => {
            let dir = tempfile::tempdir().expect("temp dir");
            let url = format!("sqlite://{}?mode=rwc", dir.path().join("test.db").display());
            (url, None, Some(dir))
        }
    };
    let mut config =
        Config::for_tests(database_url.clone(), env_url("REDIS_URL"), unique("sbtest"));
    configure(&mut config);
    spawn_with(config, postgres, dir).await
}

/// A database migrated once per test process, copied for every test: copying a template is
/// much faster than running every migration again.
async fn postgres_template(base: &str) -> String {
    static TEMPLATE: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    TEMPLATE
        .get_or_init(|| async {
            let name = unique("sb_test_template");
            let admin = Database::connect(base)
                .await
                .expect("connect to PostgreSQL");
            admin
                .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                .await
                .expect("create template database");
            admin.close().await.ok();
            let (server, _) = base
                .rsplit_once('/')
                .expect("DATABASE_URL has a database name");
            // migrate() uses its own single connection and closes it, so the template has no
            // session left when tests copy it.
            switchboard::db::migrate(&format!("{server}/{name}"))
                .await
                .expect("migrate template database");
            name
        })
        .await
        .clone()
}

/// Starts a server on a database the test manages itself (a private PostgreSQL).
pub async fn spawn_app_on(database_url: String) -> TestApp {
    spawn_with(
        Config::for_tests(database_url, None, unique("sbtest")),
        None,
        None,
    )
    .await
}

/// Starts another server on the same database and Redis as `other` (multi-instance tests).
pub async fn spawn_sibling(other: &TestApp) -> TestApp {
    spawn_with(other.config.clone(), None, None).await
}

async fn spawn_with(
    config: Config,
    postgres: Option<(String, String)>,
    dir: Option<tempfile::TempDir>,
) -> TestApp {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("local addr");
    let app = App::build(config.clone(), true).await.expect("build app");
    let (tx, rx) = oneshot::channel::<()>();
    let server = tokio::spawn(app.run(listener, async move {
        let _ = rx.await;
    }));
    let db = switchboard::db::connect(&config.database_url(), 2)
        .await
        .expect("test db connection");
    TestApp {
        addr,
        http: reqwest::Client::new(),
        db,
        config,
        shutdown: Some(tx),
        server: Some(server),
        postgres,
        _dir: dir,
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            server.abort();
        }
        if let Some((base, name)) = self.postgres.take() {
            // Drop is synchronous: clean up the per-test database on a thread of its own.
            let cleanup = std::thread::spawn(move || {
                let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                else {
                    return;
                };
                runtime.block_on(async move {
                    if let Ok(admin) = Database::connect(&base).await {
                        let sql = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
                        let _ = admin.execute_unprepared(&sql).await;
                        let _ = admin.close().await;
                    }
                });
            });
            let _ = cleanup.join();
        }
    }
}

/// An account with a logged-in administrator.
pub struct Session {
    pub account_id: i64,
    pub user_id: i64,
    pub email: String,
    pub password: String,
    pub token: String,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Shuts the server down and waits for it to finish.
    pub async fn stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            let result = tokio::time::timeout(Duration::from_secs(10), server).await;
            let outcome = result
                .expect("server stops within 10 s")
                .expect("server task");
            outcome.expect("server exits cleanly");
        }
    }

    /// POSTs a GraphQL request and returns the whole JSON body.
    pub async fn gql(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        let mut request = self
            .http
            .post(self.url("/graphql"))
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("request sent");
        assert_eq!(
            response.status(),
            200,
            "GraphQL over HTTP answers 200 for application/json"
        );
        response.json().await.expect("JSON body")
    }

    /// Like [`gql`](Self::gql), but asserts there is no error and returns `data`.
    pub async fn data(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        let body = self.gql(token, query, variables).await;
        assert!(body.get("errors").is_none(), "unexpected errors: {body:#}");
        body["data"].clone()
    }

    /// Creates an account with an administrator (as the `create-account` command does) and
    /// logs in over HTTP.
    pub async fn account(&self, name: &str) -> Session {
        let email = format!("admin-{}@example.com", rand_suffix());
        let password = "correct horse battery".to_owned();
        let admin = NewUser {
            name: "Admin",
            email: &email,
            password: &password,
            role: entity::enums::Role::Administrator,
        };
        let (account, user) = repo::create_account(&self.db, name, admin)
            .await
            .expect("create account");
        let token = self.login(&email, &password).await;
        Session {
            account_id: account.id,
            user_id: user.id,
            email,
            password,
            token,
        }
    }

    /// Adds an agent to the session's account over GraphQL and logs in as them.
    pub async fn agent(&self, admin: &Session, name: &str) -> Session {
        let email = format!("agent-{}@example.com", rand_suffix());
        let password = "agent password".to_owned();
        let data = self
            .data(
                Some(&admin.token),
                "mutation($input: CreateAgentInput!) { createAgent(input: $input) { id } }",
                json!({ "input": { "name": name, "email": email, "password": password, "role": "AGENT" } }),
            )
            .await;
        let user_id = data["createAgent"]["id"]
            .as_str()
            .expect("id")
            .parse()
            .expect("numeric id");
        let token = self.login(&email, &password).await;
        Session {
            account_id: admin.account_id,
            user_id,
            email,
            password,
            token,
        }
    }

    /// The text of `/metrics`.
    pub async fn metrics(&self) -> String {
        self.http
            .get(self.url("/metrics"))
            .send()
            .await
            .expect("metrics request")
            .text()
            .await
            .expect("metrics body")
    }

    /// The value of a metric of `/metrics` without labels (`switchboard_…`).
    pub async fn metric(&self, name: &str) -> f64 {
        let text = self.metrics().await;
        text.lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
            .and_then(|value| value.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {name} in {text}"))
    }

    /// How many statements this server has sent to its database so far.
    pub async fn statements(&self) -> u64 {
        self.metric("switchboard_db_statements_total").await as u64
    }

    /// Waits until `count` websocket operations of this server have started (subscribed to
    /// the event bus), for sockets that cannot ping (the legacy `graphql-ws` protocol);
    /// graphql-transport-ws sockets use [`WsClient::subscribe_and_wait`].
    pub async fn wait_for_operations(&self, count: usize) {
        let deadline = tokio::time::Instant::now() + WS_WAIT;
        loop {
            let running = self.metric("switchboard_websocket_operations").await;
            if running >= count as f64 {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{running} of {count} websocket operations started within {WS_WAIT:?}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    pub async fn login(&self, email: &str, password: &str) -> String {
        let data = self
            .data(
                None,
                "mutation($email: String!, $password: String!) { login(email: $email, password: $password) { token } }",
                json!({ "email": email, "password": password }),
            )
            .await;
        data["login"]["token"].as_str().expect("token").to_owned()
    }
}

/// The code of the first error of a response.
pub fn error_code(body: &Value) -> String {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no error code in {body:#}"))
        .to_owned()
}

/// A websocket client speaking one of the GraphQL subprotocols.
pub struct WsClient {
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
    pub protocol: &'static str,
    /// Messages that arrived while [`ping`](Self::ping) waited for its `pong`, handed out first.
    received: std::collections::VecDeque<Value>,
}

/// How long a test waits for a websocket message before failing.
pub const WS_WAIT: Duration = Duration::from_secs(10);

impl WsClient {
    /// Opens the socket without sending anything.
    pub async fn open(app: &TestApp, protocol: &'static str) -> Self {
        let mut request = format!("ws://{}/graphql/ws", app.addr)
            .into_client_request()
            .expect("request");
        request
            .headers_mut()
            .insert("Sec-WebSocket-Protocol", HeaderValue::from_static(protocol));
        let (socket, response) = tokio_tungstenite::connect_async(request)
            .await
            .expect("websocket connects");
        assert_eq!(
            response
                .headers()
                .get("sec-websocket-protocol")
                .map(|v| v.to_str().unwrap_or_default()),
            Some(protocol)
        );
        Self {
            socket,
            protocol,
            received: Default::default(),
        }
    }

    /// Opens the socket and completes `connection_init` with the token.
    pub async fn connect(app: &TestApp, protocol: &'static str, token: &str) -> Self {
        let mut client = Self::open(app, protocol).await;
        client.send(json!({ "type": "connection_init", "payload": { "authorization": format!("Bearer {token}") } })).await;
        let ack = client.next().await;
        assert_eq!(ack["type"], "connection_ack", "expected an ack, got {ack}");
        client
    }

    pub async fn send(&mut self, message: Value) {
        self.socket
            .send(Message::Text(message.to_string().into()))
            .await
            .expect("send");
    }

    /// Starts the closing handshake with a normal close (1000).
    pub async fn close_normally(&mut self) {
        use tokio_tungstenite::tungstenite::protocol::{CloseFrame, frame::coding::CloseCode};
        self.socket
            .close(Some(CloseFrame {
                code: CloseCode::Normal,
                reason: "bye".into(),
            }))
            .await
            .expect("close sent");
    }

    /// Sends a raw text frame (for malformed messages).
    pub async fn send_text(&mut self, text: &str) {
        self.socket
            .send(Message::Text(text.to_owned().into()))
            .await
            .expect("send");
    }

    /// Starts a subscription with the protocol's message type.
    pub async fn subscribe(&mut self, id: &str, query: &str, variables: Value) {
        let kind = if self.protocol == "graphql-ws" {
            "start"
        } else {
            "subscribe"
        };
        self.send(json!({ "id": id, "type": kind, "payload": { "query": query, "variables": variables } })).await;
    }

    /// Starts a subscription and returns once the server has started it (subscribed it to the
    /// event bus): the server answers a `ping` only after every earlier `subscribe` of the
    /// socket has started (graphql-transport-ws only).
    pub async fn subscribe_and_wait(&mut self, id: &str, query: &str, variables: Value) {
        self.subscribe(id, query, variables).await;
        self.ping().await;
    }

    /// Sends a graphql-transport-ws `ping` and waits for its `pong`, keeping what arrives
    /// meanwhile for [`next`](Self::next).
    pub async fn ping(&mut self) {
        assert_eq!(
            self.protocol, "graphql-transport-ws",
            "only graphql-transport-ws pings"
        );
        let token = rand_suffix();
        self.send(json!({ "type": "ping", "payload": { "token": token } }))
            .await;
        loop {
            match self.read_frame().await {
                Frame::Json(message) if message["type"] == "pong" => {
                    assert_eq!(message["payload"]["token"], token.as_str(), "{message}");
                    return;
                }
                Frame::Json(message) => self.received.push_back(message),
                Frame::Closed(code, reason) => {
                    panic!("socket closed waiting for a pong: {code} {reason}")
                }
            }
        }
    }

    /// The next JSON message (pings and pongs skipped); panics on close or timeout.
    pub async fn next(&mut self) -> Value {
        match self.next_frame().await {
            Frame::Json(value) => value,
            Frame::Closed(code, reason) => panic!("socket closed: {code} {reason}"),
        }
    }

    /// The next JSON message or close frame.
    pub async fn next_frame(&mut self) -> Frame {
        match self.received.pop_front() {
            Some(message) => Frame::Json(message),
            None => self.read_frame().await,
        }
    }

    /// The next JSON message or close frame off the socket.
    async fn read_frame(&mut self) -> Frame {
        loop {
            let message = tokio::time::timeout(WS_WAIT, self.socket.next())
                .await
                .expect("websocket message within the wait")
                .map(|m| m.expect("websocket frame"));
            match message {
                Some(Message::Text(text)) => {
                    return Frame::Json(serde_json::from_str(&text).expect("JSON message"));
                }
                Some(Message::Close(frame)) => {
                    return frame
                        .map(|f| Frame::Closed(f.code.into(), f.reason.to_string()))
                        .unwrap_or(Frame::Closed(1005, String::new()));
                }
                Some(_) => continue,
                None => return Frame::Closed(1006, String::new()),
            }
        }
    }

    /// The payload of the next data message for subscription `id`.
    pub async fn next_data(&mut self, id: &str) -> Value {
        loop {
            let message = self.next().await;
            let data_type = if self.protocol == "graphql-ws" {
                "data"
            } else {
                "next"
            };
            if message["type"] == data_type && message["id"] == id {
                return message["payload"].clone();
            }
            assert_ne!(message["type"], "error", "subscription error: {message}");
        }
    }

    /// Asserts that nothing arrives for `wait`.
    pub async fn expect_silence(&mut self, wait: Duration) {
        if let Some(message) = self.received.pop_front() {
            panic!("unexpected message: {message}");
        }
        let result = tokio::time::timeout(wait, self.socket.next()).await;
        if let Ok(Some(Ok(Message::Text(text)))) = result {
            panic!("unexpected message: {text}");
        }
    }
}

impl WsClient {
    /// Waits for the socket to close (skipping messages) and returns the close code and reason.
    pub async fn closed(&mut self) -> (u16, String) {
        loop {
            if let Frame::Closed(code, reason) = self.next_frame().await {
                return (code, reason);
            }
        }
    }
}

/// What came off a websocket.
#[derive(Debug)]
pub enum Frame {
    Json(Value),
    Closed(u16, String),
}

/// Starts a server on a fresh embedded database with events and presence in the given Redis.
pub async fn spawn_app_with_redis(redis_url: &str) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("test.db").display());
    let config = Config::for_tests(url, Some(redis_url.to_owned()), unique("sbtest"));
    spawn_with(config, None, Some(dir)).await
}

/// A private `redis-server` on a free port, for tests that restart Redis.
pub struct RedisServer {
    port: u16,
    child: Option<std::process::Child>,
    /// More `redis-server` arguments (e.g. `--enable-debug-command local`).
    extra: Vec<String>,
}

impl RedisServer {
    /// Starts one, or `None` when `redis-server` is not installed.
    pub async fn start() -> Option<Self> {
        Self::start_with(&[]).await
    }

    /// Starts one with more arguments, or `None` when `redis-server` is not installed.
    pub async fn start_with(extra: &[&str]) -> Option<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .ok()?
            .local_addr()
            .ok()?
            .port();
        let mut server = Self {
            port,
            child: None,
            extra: extra.iter().map(|arg| (*arg).to_owned()).collect(),
        };
        server.spawn().await.then_some(server)
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Where it listens, for raw connections.
    pub fn address(&self) -> (&'static str, u16) {
        ("127.0.0.1", self.port)
    }

    async fn spawn(&mut self) -> bool {
        let child = std::process::Command::new("redis-server")
            .args([
                "--port",
                &self.port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .args(&self.extra)
            .stdout(std::process::Stdio::null())
            .spawn();
        let Ok(child) = child else { return false };
        self.child = Some(child);
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", self.port))
                .await
                .is_ok()
            {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        false
    }

    /// Kills the server and starts a new one on the same port (no data survives).
    pub async fn restart(&mut self) {
        self.kill();
        self.start_again().await;
    }

    /// Starts the server again after [`kill`](Self::kill), on the same port; returns once it
    /// accepts connections.
    pub async fn start_again(&mut self) {
        assert!(self.spawn().await, "redis-server restarts");
    }

    /// Kills the server (as a crash would) and waits until it has exited.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}
