//! The contacts benchmark: list, search and filter over HTTP against a million contacts.
//!
//! ```sh
//! cargo run --release -p switchboard-bench --bin contacts -- --contacts 1000000
//! ```
//!
//! 1. creates a fresh PostgreSQL database on `--server` (default
//!    `postgres://postgres@localhost/test`);
//! 2. starts the real server through the library (`App::build(config, true)` then `run` on a
//!    127.0.0.1:0 listener), which applies the migrations;
//! 3. seeds `--contacts` contacts in one account with `INSERT … SELECT … FROM generate_series`
//!    (`seed.sql`), their labels and the custom attribute definitions, then `VACUUM (ANALYZE)`;
//! 4. creates an administrator (`auth::repo::create_account`) and logs in over HTTP;
//! 5. sends each query sequentially, `--warmup` times unmeasured then `--requests` times
//!    measured, with and without `totalCount`, validating every response;
//! 6. prints p50 / p99 / mean per query, writes them to `bench/RESULTS-contacts.md` (between
//!    the `bench:contacts` markers, so notes around them survive a re-run) and drops the database.
//!
//! `--keep-database` keeps the seeded database (its name is printed) and `--reuse-database NAME`
//! measures again on it without seeding, for investigating plans; `--log-plans` makes every
//! statement of the server's connections log its `EXPLAIN (ANALYZE, BUFFERS)` plan to the
//! PostgreSQL server log through `auto_explain` (timings then include that instrumentation).

// A benchmark reports on stdout.
#![allow(clippy::print_stdout)]

use std::{
    fmt::Write as _,
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use anyhow::{Context, bail, ensure};
use chrono::{Days, Utc};
use clap::Parser;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, DbBackend, Statement};
use serde_json::{Value, json};
use switchboard::{
    App, Config,
    auth::repo::{self, NewUser},
};
use tokio::sync::oneshot;

/// The seeding statements (see the file for the data they produce).
const SEED_SQL: &str = include_str!("../seed.sql");

const ADMIN_EMAIL: &str = "bench-admin@example.com";
const ADMIN_PASSWORD: &str = "correct horse battery staple";

const START_MARKER: &str = "<!-- bench:contacts:start -->";
const END_MARKER: &str = "<!-- bench:contacts:end -->";

#[derive(Parser, Debug)]
#[command(about = "Benchmarks contacts list, search and filter over HTTP on PostgreSQL")]
struct Args {
    /// A PostgreSQL URL; the benchmark creates (and drops) its own database on that server.
    #[arg(
        long,
        env = "BENCH_DATABASE_URL",
        default_value = "postgres://postgres@localhost/test"
    )]
    server: String,
    /// Contacts to seed in the account.
    #[arg(long, default_value_t = 1_000_000)]
    contacts: u32,
    /// Measured requests per query.
    #[arg(long, default_value_t = 200)]
    requests: usize,
    /// Unmeasured requests per query before measuring it.
    #[arg(long, default_value_t = 20)]
    warmup: usize,
    /// The search query: a substring that matches some contacts.
    #[arg(long, default_value = "fitz")]
    search: String,
    /// The value of the `plan` custom attribute to filter on.
    #[arg(long, default_value = "enterprise")]
    plan: String,
    /// The label to filter on.
    #[arg(long, default_value = "vip")]
    label: String,
    /// The server's connection pool size.
    #[arg(long, default_value_t = 10)]
    pool_size: u32,
    /// Where to write the results (the section between the markers is replaced).
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/RESULTS-contacts.md"))]
    output: PathBuf,
    /// Do not write the results file.
    #[arg(long)]
    no_output: bool,
    /// Keep the database at the end (its name is printed).
    #[arg(long)]
    keep_database: bool,
    /// Measure on an existing database seeded by an earlier `--keep-database` run.
    #[arg(long, value_name = "NAME")]
    reuse_database: Option<String>,
    /// Log every statement's plan (EXPLAIN ANALYZE, BUFFERS) to the PostgreSQL server log.
    #[arg(long)]
    log_plans: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    ensure!(args.requests > 0, "--requests must be at least 1");
    let admin = Database::connect(&args.server)
        .await
        .with_context(|| format!("connect to {}", args.server))?;
    let (name, fresh) = match &args.reuse_database {
        Some(name) => (name.clone(), false),
        None => {
            let name = format!(
                "sb_bench_contacts_{}_{}",
                std::process::id(),
                Utc::now().timestamp()
            );
            exec(&admin, &format!("CREATE DATABASE \"{name}\"")).await?;
            (name, true)
        }
    };
    println!("database {name}");
    let result = run(&args, &admin, &name, fresh).await;
    if args.keep_database || !fresh {
        println!("kept database {name}");
    } else {
        let dropped = exec(
            &admin,
            &format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"),
        )
        .await;
        if let Err(err) = dropped {
            println!("could not drop database {name}: {err:#}");
        }
    }
    admin.close().await.ok();
    result
}

async fn run(
    args: &Args,
    admin: &DatabaseConnection,
    name: &str,
    fresh: bool,
) -> anyhow::Result<()> {
    let (server, _) = args
        .server
        .rsplit_once('/')
        .context("--server has no database name")?;
    let url = format!("{server}/{name}");

    let plan_settings = [
        ("session_preload_libraries", "auto_explain"),
        ("auto_explain.log_min_duration", "0"),
        ("auto_explain.log_analyze", "on"),
        ("auto_explain.log_buffers", "on"),
    ];
    for (setting, value) in plan_settings {
        let sql = if args.log_plans {
            format!("ALTER DATABASE \"{name}\" SET {setting} = '{value}'")
        } else {
            format!("ALTER DATABASE \"{name}\" RESET {setting}")
        };
        exec(admin, &sql).await?;
    }

    // The real server, migrations included.
    let mut config = Config::for_tests(url.clone(), None, format!("bench{}", std::process::id()));
    config.database_pool_size = args.pool_size;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let started = Instant::now();
    let app = App::build(config, true).await?;
    println!(
        "server on {addr}, migrations applied in {:.1?}",
        started.elapsed()
    );
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(app.run(listener, async move {
        let _ = stopped.await;
    }));

    let db = switchboard::db::connect(&url, 2).await?;
    let result = async {
        let seeding = if fresh {
            Some(seed(&db, args.contacts).await?)
        } else {
            None
        };
        let client = Client::login(format!("http://{addr}/graphql")).await?;
        let load_before = load_average();
        let series = measure(args, &client).await;
        let load = (load_before, load_average());
        let report = report(args, &db, seeding.as_ref(), &series, &load).await?;
        println!("\n{report}");
        if !args.no_output && !args.log_plans {
            write_results(&args.output, &report)?;
            println!("written to {}", args.output.display());
        }
        let failed = series.iter().filter(|s| s.error.is_some()).count();
        ensure!(failed == 0, "{failed} queries failed");
        anyhow::Ok(())
    }
    .await;

    db.close().await.ok();
    let _ = stop.send(());
    match tokio::time::timeout(Duration::from_secs(10), server).await {
        Ok(Ok(Ok(()))) | Err(_) => {}
        Ok(Ok(Err(err))) => println!("server stopped with an error: {err:#}"),
        Ok(Err(err)) => println!("server task failed: {err}"),
    }
    if args.log_plans {
        for (setting, _) in plan_settings {
            exec(admin, &format!("ALTER DATABASE \"{name}\" RESET {setting}")).await?;
        }
        println!("plans are in the PostgreSQL server log (auto_explain)");
    }
    result
}

async fn exec(db: &DatabaseConnection, sql: &str) -> anyhow::Result<()> {
    db.execute_unprepared(sql)
        .await
        .with_context(|| format!("executing {sql}"))?;
    Ok(())
}

// --- seeding ------------------------------------------------------------------------------------

struct Seeding {
    contacts: u32,
    labels: u64,
    insert: Duration,
    vacuum: Duration,
}

/// Creates the account and its administrator, then the contacts with SQL.
async fn seed(db: &DatabaseConnection, contacts: u32) -> anyhow::Result<Seeding> {
    let (account, _) = repo::create_account(
        db,
        "Bench",
        NewUser {
            name: "Bench Admin",
            email: ADMIN_EMAIL,
            password: ADMIN_PASSWORD,
            role: entity::enums::Role::Administrator,
        },
    )
    .await
    .map_err(|err| anyhow::anyhow!("creating the account: {err:?}"))?;
    println!("seeding {contacts} contacts in account {}…", account.id);
    let started = Instant::now();
    let mut labels = 0;
    for (i, statement) in SEED_SQL.split("-- statement\n").skip(1).enumerate() {
        // $1 is the account, $2 (where used) the number of contacts.
        let mut values = vec![account.id.into()];
        if statement.contains("$2") {
            values.push(i64::from(contacts).into());
        }
        let done = db
            .execute_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                statement.trim(),
                values,
            ))
            .await
            .with_context(|| format!("seed statement {}", i + 1))?;
        if i == 1 {
            labels = done.rows_affected();
        }
        println!(
            "  statement {}: {} rows, {:.1?}",
            i + 1,
            done.rows_affected(),
            started.elapsed()
        );
    }
    let insert = started.elapsed();
    let started = Instant::now();
    for table in [
        "contacts",
        "contact_labels",
        "custom_attribute_definitions",
        "labels",
    ] {
        exec(db, &format!("VACUUM (ANALYZE) {table}")).await?;
    }
    let vacuum = started.elapsed();
    println!("seeded in {insert:.1?}, VACUUM (ANALYZE) in {vacuum:.1?}");
    Ok(Seeding {
        contacts,
        labels,
        insert,
        vacuum,
    })
}

// --- HTTP ---------------------------------------------------------------------------------------

struct Client {
    http: reqwest::Client,
    url: String,
    token: String,
}

impl Client {
    async fn login(url: String) -> anyhow::Result<Self> {
        let mut client = Self {
            http: reqwest::Client::new(),
            url,
            token: String::new(),
        };
        let body = client
            .post(
                "mutation($email: String!, $password: String!) { login(email: $email, password: $password) { token } }",
                &json!({ "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD }),
            )
            .await?;
        client.token = body["data"]["login"]["token"]
            .as_str()
            .with_context(|| format!("login failed: {body}"))?
            .to_owned();
        Ok(client)
    }

    async fn post(&self, query: &str, variables: &Value) -> anyhow::Result<Value> {
        let mut request = self
            .http
            .post(&self.url)
            .json(&json!({ "query": query, "variables": variables }));
        if !self.token.is_empty() {
            request = request.bearer_auth(&self.token);
        }
        let response = request.send().await?;
        let status = response.status();
        let body: Value = response.json().await?;
        ensure!(status.is_success(), "HTTP {status}: {body}");
        if let Some(errors) = body.get("errors") {
            bail!("GraphQL errors: {errors}");
        }
        Ok(body)
    }
}

// --- the queries --------------------------------------------------------------------------------

struct Query {
    name: &'static str,
    field: &'static str,
    /// The field's arguments, declared as `$variables` in the operation.
    params: &'static str,
    args: &'static str,
    variables: Value,
}

impl Query {
    fn document(&self, total: bool) -> String {
        let total = if total { "totalCount " } else { "" };
        format!(
            "query{} {{ {}({}) {{ {total}edges {{ node {{ id name email phoneNumber }} }} }} }}",
            self.params, self.field, self.args
        )
    }
}

fn queries(args: &Args) -> Vec<Query> {
    let today = Utc::now().date_naive();
    // One month of creations, a year ago (contacts were created over three years).
    let after = today.checked_sub_days(Days::new(400)).unwrap_or(today);
    let before = today.checked_sub_days(Days::new(370)).unwrap_or(today);
    let filter = |conditions: Value| Query {
        name: "",
        field: "filterContacts",
        params: "($filter: [ContactFilterCondition!]!)",
        args: "filter: $filter, first: 15",
        variables: json!({ "filter": conditions }),
    };
    vec![
        Query {
            name: "contacts page",
            field: "contacts",
            params: "",
            args: "first: 15",
            variables: json!({}),
        },
        Query {
            name: "search",
            field: "searchContacts",
            params: "($query: String!)",
            args: "query: $query, first: 15",
            variables: json!({ "query": args.search }),
        },
        Query {
            name: "filter: custom attribute",
            ..filter(json!([{
                "attributeKey": "plan", "filterOperator": "EQUAL_TO", "values": [args.plan]
            }]))
        },
        Query {
            name: "filter: label",
            ..filter(json!([{
                "attributeKey": "labels", "filterOperator": "EQUAL_TO", "values": [args.label]
            }]))
        },
        Query {
            name: "filter: date range",
            ..filter(json!([
                {
                    "attributeKey": "created_at", "filterOperator": "IS_GREATER_THAN",
                    "values": [after.to_string()], "queryOperator": "AND"
                },
                {
                    "attributeKey": "created_at", "filterOperator": "IS_LESS_THAN",
                    "values": [before.to_string()]
                }
            ]))
        },
    ]
}

/// Latencies of one query, in milliseconds, sorted.
struct Series {
    name: &'static str,
    description: String,
    total: bool,
    total_count: Option<u64>,
    millis: Vec<f64>,
    /// Why the series stopped, if it failed.
    error: Option<String>,
}

impl Series {
    /// Nearest-rank percentile.
    fn percentile(&self, p: f64) -> f64 {
        let rank = (p * self.millis.len() as f64).ceil() as usize;
        self.millis[rank.clamp(1, self.millis.len()) - 1]
    }

    fn mean(&self) -> f64 {
        self.millis.iter().sum::<f64>() / self.millis.len() as f64
    }
}

/// Checks a response: edges present and, when asked for, a positive total.
fn validate(query: &Query, body: &Value, total: bool) -> anyhow::Result<Option<u64>> {
    let connection = &body["data"][query.field];
    let edges = connection["edges"]
        .as_array()
        .with_context(|| format!("{}: no edges in {body}", query.name))?;
    ensure!(!edges.is_empty(), "{}: empty result", query.name);
    if !total {
        return Ok(None);
    }
    let count = connection["totalCount"]
        .as_u64()
        .with_context(|| format!("{}: no totalCount in {body}", query.name))?;
    ensure!(
        count >= edges.len() as u64,
        "{}: totalCount {count} < page",
        query.name
    );
    Ok(Some(count))
}

async fn measure(args: &Args, client: &Client) -> Vec<Series> {
    let mut all = Vec::new();
    for query in queries(args) {
        for total in [false, true] {
            let mut series = Series {
                name: query.name,
                description: describe(&query),
                total,
                total_count: None,
                millis: Vec::with_capacity(args.requests),
                error: None,
            };
            if let Err(err) = run_series(args, client, &query, &mut series).await {
                series.error = Some(format!("{err:#}"));
            }
            series.millis.sort_by(f64::total_cmp);
            let label = if total { "+ totalCount" } else { "" };
            match &series.error {
                Some(error) => println!("{:<26} {label:<14} FAILED: {error}", series.name),
                None => println!(
                    "{:<26} {label:<14} p50 {:>8.2} ms  p99 {:>8.2} ms  mean {:>8.2} ms{}",
                    series.name,
                    series.percentile(0.50),
                    series.percentile(0.99),
                    series.mean(),
                    series
                        .total_count
                        .map_or(String::new(), |n| format!("  ({n} rows)")),
                ),
            }
            all.push(series);
        }
    }
    all
}

/// Warms a query up, then measures it; every response is validated.
async fn run_series(
    args: &Args,
    client: &Client,
    query: &Query,
    series: &mut Series,
) -> anyhow::Result<()> {
    let document = query.document(series.total);
    for _ in 0..args.warmup {
        let body = client.post(&document, &query.variables).await?;
        validate(query, &body, series.total)?;
    }
    for _ in 0..args.requests {
        let started = Instant::now();
        let body = client.post(&document, &query.variables).await?;
        series.millis.push(started.elapsed().as_secs_f64() * 1000.0);
        series.total_count = validate(query, &body, series.total)?;
    }
    Ok(())
}

/// The query as a reader of the results needs it: the field and its arguments.
fn describe(query: &Query) -> String {
    match query.field {
        "filterContacts" => {
            let conditions = query.variables["filter"]
                .as_array()
                .map(|conditions| {
                    conditions
                        .iter()
                        .map(|c| {
                            format!(
                                "{} {} {}",
                                c["attributeKey"].as_str().unwrap_or_default(),
                                c["filterOperator"].as_str().unwrap_or_default(),
                                c["values"]
                            )
                        })
                        .collect::<Vec<_>>()
                        .join(" AND ")
                })
                .unwrap_or_default();
            format!("`filterContacts(first: 15)`: {conditions}")
        }
        "searchContacts" => format!(
            "`searchContacts(query: {}, first: 15)`",
            query.variables["query"]
        ),
        field => format!("`{field}({})`", query.args),
    }
}

// --- the report ---------------------------------------------------------------------------------

async fn scalar(db: &DatabaseConnection, sql: &str) -> anyhow::Result<String> {
    let row = db
        .query_one_raw(Statement::from_string(DbBackend::Postgres, sql))
        .await?
        .with_context(|| format!("no row for {sql}"))?;
    Ok(row.try_get_by_index::<String>(0)?)
}

/// The machine's load average (`/proc/loadavg`), to tell a quiet run from a busy one.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|load| {
            load.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_else(|| "unknown".to_owned())
}

fn memory() -> String {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|line| line.starts_with("MemTotal:"))
                .and_then(|line| line.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or_else(
            || "unknown".to_owned(),
            |kb| format!("{:.1} GiB", kb / 1024.0 / 1024.0),
        )
}

async fn report(
    args: &Args,
    db: &DatabaseConnection,
    seeding: Option<&Seeding>,
    series: &[Series],
    load: &(String, String),
) -> anyhow::Result<String> {
    let version = scalar(db, "SELECT version()").await?;
    let mut settings = Vec::new();
    for setting in [
        "shared_buffers",
        "work_mem",
        "effective_cache_size",
        "jit",
        "random_page_cost",
    ] {
        settings.push(format!(
            "{setting}={}",
            scalar(db, &format!("SHOW {setting}")).await?
        ));
    }
    let contacts = scalar(db, "SELECT count(*)::text FROM contacts").await?;
    let size = scalar(
        db,
        "SELECT pg_size_pretty(pg_table_size('contacts')) || ' table, ' \
         || pg_size_pretty(pg_indexes_size('contacts')) || ' indexes'",
    )
    .await?;
    let cores = std::thread::available_parallelism().map_or(0, std::num::NonZero::get);
    let command: Vec<String> = std::env::args().skip(1).collect();

    let mut out = String::new();
    writeln!(out, "{START_MARKER}")?;
    writeln!(out, "## Results")?;
    writeln!(out)?;
    writeln!(out, "```sh")?;
    writeln!(
        out,
        "cargo run --release -p switchboard-bench --bin contacts -- {}",
        command.join(" ")
    )?;
    writeln!(out, "```")?;
    writeln!(out)?;
    writeln!(out, "- date: {}", Utc::now().format("%Y-%m-%d %H:%M UTC"))?;
    writeln!(
        out,
        "- machine: {cores} cores (`nproc`), {} memory",
        memory()
    )?;
    writeln!(out, "- PostgreSQL: {version}")?;
    writeln!(out, "- settings: {}", settings.join(", "))?;
    writeln!(out, "- data: {contacts} contacts in one account ({size})")?;
    if let Some(s) = seeding {
        writeln!(
            out,
            "- seeding: {} contacts and {} labels in {:.1} s, then `VACUUM (ANALYZE)` in {:.1} s",
            s.contacts,
            s.labels,
            s.insert.as_secs_f64(),
            s.vacuum.as_secs_f64()
        )?;
    }
    writeln!(
        out,
        "- method: sequential HTTP requests from one client; per query {} warm-up requests, then \
         {} measured; times are the client's (request sent → response parsed)",
        args.warmup, args.requests
    )?;
    writeln!(
        out,
        "- load average (1, 5, 15 min) before measuring: {}; after: {} — other work on the \
         machine slows the results down",
        load.0, load.1
    )?;
    writeln!(out)?;
    writeln!(
        out,
        "| query | totalCount | p50 ms | p99 ms | mean ms | totalCount value |"
    )?;
    writeln!(out, "|---|---|---:|---:|---:|---:|")?;
    for s in series {
        if let Some(error) = &s.error {
            let error = error.replace('|', "\\|");
            writeln!(
                out,
                "| {} — {} | {} | failed: {error} | | | |",
                s.name,
                s.description,
                if s.total { "yes" } else { "no" },
            )?;
            continue;
        }
        writeln!(
            out,
            "| {} — {} | {} | {:.1} | {:.1} | {:.1} | {} |",
            s.name,
            s.description,
            if s.total { "yes" } else { "no" },
            s.percentile(0.50),
            s.percentile(0.99),
            s.mean(),
            s.total_count.map_or("—".to_owned(), |n| n.to_string()),
        )?;
    }
    write!(out, "{END_MARKER}")?;
    Ok(out)
}

/// Replaces the marked section of the results file (or creates the file).
fn write_results(path: &Path, section: &str) -> anyhow::Result<()> {
    let existing = std::fs::read_to_string(path).unwrap_or_default();
    let content = match (existing.find(START_MARKER), existing.find(END_MARKER)) {
        (Some(start), Some(end)) if start < end => format!(
            "{}{section}{}",
            &existing[..start],
            &existing[end + END_MARKER.len()..]
        ),
        _ => format!(
            "# Contacts benchmark\n\n```sh\ncargo run --release -p switchboard-bench --bin contacts -- --contacts 1000000\n```\n\n{section}\n"
        ),
    };
    std::fs::write(path, content).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}
