//! Outages: a private Redis and a private PostgreSQL are killed and restarted while clients
//! work. Mutations keep a bounded latency while Redis is down, readiness flips within a second
//! both ways, subscribers get events again without reconnecting, and nothing committed is lost.

use std::{
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use serde_json::{Value, json};

use crate::helpers::{
    RedisServer, TestApp, WsClient, spawn_app_on, spawn_app_with_redis, spawn_sibling,
};

const CONTACT_CHANGED: &str = "subscription { contactChanged { contact { name } } }";
const CREATE_CONTACT: &str =
    "mutation($input: CreateContactInput!) { createContact(input: $input) { id } }";
/// How fast readiness must follow a dependency, and how long a mutation may take while Redis
/// is down (it took 7.5 s before publishing stopped waiting on Redis).
const BOUND: Duration = Duration::from_secs(1);

/// Polls `/readyz` until it answers `status`; every answer must come within [`BOUND`], and
/// the wanted one within [`BOUND`] of `since`.
async fn readiness_becomes(app: &TestApp, status: u16, since: Instant) {
    loop {
        let asked = Instant::now();
        let response = app.http.get(app.url("/readyz")).send().await.unwrap();
        assert!(
            asked.elapsed() < BOUND,
            "/readyz took {:?}",
            asked.elapsed()
        );
        if response.status() == status {
            return;
        }
        assert!(
            since.elapsed() < BOUND,
            "/readyz still answered {} {:?} after the change",
            response.status(),
            since.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn create_contact(app: &TestApp, token: &str, name: &str) -> String {
    let data = app
        .data(
            Some(token),
            CREATE_CONTACT,
            json!({ "input": { "name": name } }),
        )
        .await;
    data["createContact"]["id"].as_str().unwrap().to_owned()
}

async fn contact_name(app: &TestApp, token: &str, id: &str) -> Value {
    let data = app
        .data(
            Some(token),
            "query($id: ID!) { contact(id: $id) { name } }",
            json!({ "id": id }),
        )
        .await;
    data["contact"]["name"].clone()
}

#[tokio::test]
async fn a_redis_outage_slows_nothing_and_events_resume() {
    let Some(mut redis) = RedisServer::start().await else {
        crate::helpers::skipped("redis-server is not installed");
        return;
    };
    let writer = spawn_app_with_redis(&redis.url()).await;
    // The subscriber is on another instance: events reach it only through Redis.
    let reader = spawn_sibling(&writer).await;
    let admin = writer.account("Acme").await;
    let mut ws = WsClient::connect(&reader, "graphql-transport-ws", &admin.token).await;
    ws.subscribe("c", CONTACT_CHANGED, json!({})).await;
    // The subscription is live once an event crosses instances.
    let mut live = false;
    for attempt in 0..20 {
        create_contact(&writer, &admin.token, &format!("Before {attempt}")).await;
        if tokio::time::timeout(Duration::from_millis(300), ws.next_data("c"))
            .await
            .is_ok()
        {
            live = true;
            break;
        }
    }
    assert!(live, "events cross instances through Redis");

    redis.kill();
    let killed = Instant::now();
    readiness_becomes(&writer, 503, killed).await;

    // Mutations commit within the bound while Redis is down.
    let mut committed = Vec::new();
    for n in 0..3 {
        let started = Instant::now();
        committed.push(create_contact(&writer, &admin.token, &format!("During {n}")).await);
        assert!(
            started.elapsed() < BOUND,
            "a mutation took {:?} while Redis was down",
            started.elapsed()
        );
    }

    redis.start_again().await;
    let back = Instant::now();
    readiness_becomes(&writer, 200, back).await;
    readiness_becomes(&reader, 200, back).await;

    // The same subscription gets events again, without reconnecting.
    let mut delivered = false;
    for attempt in 0..20 {
        create_contact(&writer, &admin.token, &format!("After {attempt}")).await;
        let message = tokio::time::timeout(Duration::from_millis(300), async {
            loop {
                let data = ws.next_data("c").await;
                let name = data["data"]["contactChanged"]["contact"]["name"].clone();
                if name.as_str().is_some_and(|name| name.starts_with("After")) {
                    return name;
                }
            }
        })
        .await;
        if message.is_ok() {
            delivered = true;
            break;
        }
    }
    assert!(delivered, "the subscriber resumes after Redis returns");

    // What the mutations reported as committed is there.
    for (n, id) in committed.iter().enumerate() {
        assert_eq!(
            contact_name(&reader, &admin.token, id).await,
            format!("During {n}")
        );
    }
}

/// A private PostgreSQL cluster in a temp dir, on a free port.
struct PgServer {
    bin: PathBuf,
    dir: tempfile::TempDir,
    port: u16,
    child: Option<Child>,
}

/// The directory of PostgreSQL's server binaries, when installed.
fn postgres_bin() -> Option<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|entry| entry.ok().map(|e| e.path().join("bin")))
        .filter(|bin| bin.join("initdb").exists() && bin.join("postgres").exists())
        .collect();
    found.sort();
    found.pop()
}

fn running_as_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

impl PgServer {
    /// Initialises and starts a cluster, or `None` when the binaries are missing.
    async fn start() -> Option<Self> {
        let bin = postgres_bin()?;
        let dir = tempfile::tempdir().unwrap();
        if running_as_root() {
            // PostgreSQL refuses to run as root: the cluster belongs to `postgres`.
            Command::new("chown")
                .args(["-R", "postgres"])
                .arg(dir.path())
                .status()
                .unwrap();
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut server = Self {
            bin,
            dir,
            port,
            child: None,
        };
        let data = server.data();
        let status = server
            .command("initdb")
            .arg("-D")
            .arg(&data)
            .args(["-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "initdb");
        server.start_again().await;
        Some(server)
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// A command of the PostgreSQL binaries, as `postgres` when the test runs as root.
    fn command(&self, name: &str) -> Command {
        let program = self.bin.join(name);
        if running_as_root() {
            let mut command = Command::new("setpriv");
            command
                .args([
                    "--reuid=postgres",
                    "--regid=postgres",
                    "--init-groups",
                    "--",
                ])
                .arg(program);
            command
        } else {
            Command::new(program)
        }
    }

    fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// Starts the server and returns once it accepts connections.
    async fn start_again(&mut self) {
        let child = self
            .command("postgres")
            .arg("-D")
            .arg(self.data())
            .args(["-p", &self.port.to_string(), "-k"])
            .arg(self.dir.path())
            .args(["-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        self.child = Some(child);
        for _ in 0..200 {
            if let Ok(conn) = sea_orm::Database::connect(self.url("postgres")).await {
                let _ = conn.close().await;
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("the private PostgreSQL did not start");
    }

    /// Stops the server as a crash would (immediate shutdown: no checkpoint) and waits.
    fn kill(&mut self) {
        let _ = self
            .command("pg_ctl")
            .arg("stop")
            .arg("-D")
            .arg(self.data())
            .args(["-m", "immediate"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        if let Some(mut child) = self.child.take() {
            let _ = child.wait();
        }
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        self.kill();
    }
}

#[tokio::test]
async fn a_postgres_outage_flips_readiness_and_loses_nothing_committed() {
    let Some(mut postgres) = PgServer::start().await else {
        crate::helpers::skipped("the PostgreSQL server binaries are not installed");
        return;
    };
    let admin_conn = sea_orm::Database::connect(postgres.url("postgres"))
        .await
        .unwrap();
    sea_orm::ConnectionTrait::execute_unprepared(&admin_conn, "CREATE DATABASE switchboard")
        .await
        .unwrap();
    admin_conn.close().await.unwrap();

    let app = spawn_app_on(postgres.url("switchboard")).await;
    let admin = app.account("Acme").await;
    let committed = create_contact(&app, &admin.token, "Committed").await;
    readiness_becomes(&app, 200, Instant::now()).await;

    postgres.kill();
    readiness_becomes(&app, 503, Instant::now()).await;

    postgres.start_again().await;
    readiness_becomes(&app, 200, Instant::now()).await;
    assert_eq!(
        contact_name(&app, &admin.token, &committed).await,
        "Committed"
    );
    // Writes work again too.
    let after = create_contact(&app, &admin.token, "After").await;
    assert_eq!(contact_name(&app, &admin.token, &after).await, "After");
}
