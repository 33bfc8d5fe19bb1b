//! The CSV import benchmark: the library's import against `psql \copy` of the same rows.
//!
//! ```sh
//! cargo run --release -p switchboard-bench --bin import -- --rows 100000
//! ```
//!
//! 1. creates a fresh PostgreSQL database on `--server` (default
//!    `postgres://postgres@localhost/test`) and applies the migrations;
//! 2. writes `--rows` new contacts as an import CSV (identifier, email, phone_number, name,
//!    company, city, country and two custom attributes), the same contacts with changed custom
//!    attributes, and the same rows as `contacts` table columns for `\copy`;
//! 3. per repetition (`--repeat`, median reported), in a new account each time: imports the
//!    file through the library (`repo::create`, `files::save`, `Importer::run`, as
//!    `importContacts` and `switchboard import` do), re-imports the same file (every row an
//!    update that changes nothing), re-imports the changed file (every row a real update), then
//!    `\copy`s the rows into an empty `CREATE TABLE … (LIKE contacts INCLUDING DEFAULTS
//!    INCLUDING IDENTITY)` (no index; the identity generates the ids) and, for context, into
//!    one `INCLUDING ALL` (with the contacts indexes); then the new / changed imports again
//!    with the portable writer (`Tuning::bulk_sql` off), for comparison;
//! 4. reads the peak resident memory of each import (VmHWM of /proc/self/status, reset
//!    through /proc/self/clear_refs before each run) and compares it with the file's size;
//! 5. prints the results, writes them to `bench/RESULTS-import.md` (between the
//!    `bench:import` markers) and to `bench/results/import.json` (for `report`), and drops the
//!    database.

// A benchmark reports on stdout.
#![allow(clippy::print_stdout)]

use std::{
    fmt::Write as _,
    io::BufWriter,
    path::{Path, PathBuf},
    process::Command,
    time::{Duration, Instant},
};

use anyhow::{Context, bail, ensure};
use chrono::Utc;
use clap::Parser;
use entity::enums::ImportStatus;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, Database, DatabaseConnection,
    EntityTrait, QueryFilter, Set, TransactionTrait,
    sea_query::{Expr, Func, SimpleExpr},
};
use serde_json::json;
use switchboard::{
    events::EventBus,
    imports::{
        files, repo,
        run::{Importer, Tuning},
    },
    telemetry::Metrics,
};
use tokio_util::sync::CancellationToken;

const START_MARKER: &str = "<!-- bench:import:start -->";
const END_MARKER: &str = "<!-- bench:import:end -->";

#[derive(Parser, Debug)]
#[command(about = "Benchmarks the CSV import against psql \\copy on PostgreSQL")]
struct Args {
    /// A PostgreSQL URL; the benchmark creates (and drops) its own database on that server.
    #[arg(
        long,
        env = "BENCH_DATABASE_URL",
        default_value = "postgres://postgres@localhost/test"
    )]
    server: String,
    /// Contacts in the file.
    #[arg(long, default_value_t = 100_000)]
    rows: u32,
    /// Repetitions of every measurement (the median is reported).
    #[arg(long, default_value_t = 3)]
    repeat: usize,
    /// Rows per batch.
    #[arg(long, default_value_t = Tuning::default().batch_size)]
    batch_size: usize,
    /// Where to write the results (the section between the markers is replaced).
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/RESULTS-import.md"))]
    output: PathBuf,
    /// Rows of the file imported by the per-row loop (the Chatwoot-style floor; slow, so a
    /// prefix of the file, compared by rows per second).
    #[arg(long, default_value_t = 10_000)]
    per_row_rows: u32,
    /// Where to write the results as JSON (read by the `report` binary).
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/results/import.json"))]
    json: PathBuf,
    /// Do not write the results files (Markdown and JSON).
    #[arg(long)]
    no_output: bool,
    /// Keep the database at the end (its name is printed).
    #[arg(long)]
    keep_database: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if std::env::var_os("RUST_LOG").is_some() {
        // e.g. RUST_LOG=switchboard::imports=info for each run's timings.
        switchboard::telemetry::init_tracing(switchboard::config::LogFormat::Text);
    }
    ensure!(
        args.repeat > 0 && args.rows > 0,
        "--repeat and --rows must be positive"
    );
    let admin = Database::connect(&args.server)
        .await
        .with_context(|| format!("connect to {}", args.server))?;
    let name = format!(
        "sb_bench_import_{}_{}",
        std::process::id(),
        Utc::now().timestamp()
    );
    exec(&admin, &format!("CREATE DATABASE \"{name}\"")).await?;
    println!("database {name}");
    let work = std::env::temp_dir().join(&name);
    let result = run(&args, &name, &work).await;
    let _ = std::fs::remove_dir_all(&work);
    if args.keep_database {
        println!("kept database {name}");
    } else if let Err(err) = exec(
        &admin,
        &format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"),
    )
    .await
    {
        println!("could not drop database {name}: {err:#}");
    }
    admin.close().await.ok();
    result
}

async fn exec(db: &DatabaseConnection, sql: &str) -> anyhow::Result<()> {
    db.execute_unprepared(sql)
        .await
        .with_context(|| format!("executing {sql}"))?;
    Ok(())
}

// --- the files ----------------------------------------------------------------------------------

const CITIES: [(&str, &str, &str); 4] = [
    ("Paris", "France", "FR"),
    ("Berlin", "Germany", "DE"),
    ("Lisbon", "Portugal", "PT"),
    ("Austin", "United States", "US"),
];
const PLANS: [&str; 4] = ["free", "starter", "pro", "enterprise"];

struct Files {
    import: PathBuf,
    changed: PathBuf,
    copy: PathBuf,
    size: u64,
}

/// Writes the import file, its changed twin and the `\copy` file, streaming.
fn write_files(dir: &Path, rows: u32) -> anyhow::Result<Files> {
    std::fs::create_dir_all(dir)?;
    let files = Files {
        import: dir.join("contacts.csv"),
        changed: dir.join("contacts-changed.csv"),
        copy: dir.join("copy.csv"),
        size: 0,
    };
    let writer = |path: &Path| -> anyhow::Result<csv::Writer<BufWriter<std::fs::File>>> {
        Ok(csv::Writer::from_writer(BufWriter::new(
            std::fs::File::create(path)?,
        )))
    };
    let (mut import, mut changed, mut copy) = (
        writer(&files.import)?,
        writer(&files.changed)?,
        writer(&files.copy)?,
    );
    let header = [
        "identifier",
        "email",
        "phone_number",
        "name",
        "company",
        "city",
        "country",
        "country_code",
        "plan",
        "seats",
    ];
    import.write_record(header)?;
    changed.write_record(header)?;
    copy.write_record([
        "account_id",
        "name",
        "email",
        "phone_number",
        "identifier",
        "contact_type",
        "additional_attributes",
        "custom_attributes",
        "created_at",
        "updated_at",
    ])?;
    let now = Utc::now().to_rfc3339();
    for i in 0..rows {
        let (city, country, code) = CITIES[i as usize % CITIES.len()];
        let plan = PLANS[i as usize % PLANS.len()];
        let identifier = format!("ext-{i:07}");
        let email = format!("person{i}@example.com");
        let phone = format!("1415{i:07}");
        let name = format!("Person {i}");
        let company = format!("Company {}", i % 5000);
        let seats = (i % 250).to_string();
        let cells = |plan: &str, seats: &str| {
            [
                identifier.clone(),
                email.clone(),
                phone.clone(),
                name.clone(),
                company.clone(),
                city.to_owned(),
                country.to_owned(),
                code.to_owned(),
                plan.to_owned(),
                seats.to_owned(),
            ]
        };
        import.write_record(cells(plan, &seats))?;
        changed.write_record(cells(&format!("{plan}-2"), &format!("{seats}0")))?;
        let additional = json!({ "company_name": company, "city": city, "country": country, "country_code": code });
        let custom = json!({ "plan": plan, "seats": seats });
        copy.write_record([
            "0",
            &name,
            &email,
            &format!("+{phone}"),
            &identifier,
            "lead",
            &additional.to_string(),
            &custom.to_string(),
            &now,
            &now,
        ])?;
    }
    import.flush()?;
    changed.flush()?;
    copy.flush()?;
    let size = std::fs::metadata(&files.import)?.len();
    Ok(Files { size, ..files })
}

// --- measuring ----------------------------------------------------------------------------------

/// A field of /proc/self/status, in bytes.
fn status_bytes(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status.lines().find_map(|line| {
                let rest = line.strip_prefix(field)?.strip_prefix(':')?;
                rest.trim()
                    .trim_end_matches("kB")
                    .trim()
                    .parse::<u64>()
                    .ok()
            })
        })
        .map_or(0, |kb| kb * 1024)
}

/// Resets VmHWM to the current resident size (Linux: `5` to clear_refs).
fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

struct Measured {
    elapsed: Duration,
    /// Peak resident size of the process during the run.
    peak: u64,
    /// How much of it the run added to what was resident when it started.
    growth: u64,
}

/// Imports `path` into `account_id` through the library, checking the counts.
async fn import(
    importer: &Importer,
    account_id: i64,
    path: &Path,
    rows: u32,
    expect_created: bool,
) -> anyhow::Result<Measured> {
    reset_peak();
    let before = status_bytes("VmRSS");
    let started = Instant::now();
    let record = repo::create(&importer.db, account_id, None, Some("bench.csv".into())).await?;
    let (dir, id, source) = (importer.dir.clone(), record.id, path.to_owned());
    tokio::task::spawn_blocking(move || files::save(&dir, id, std::fs::File::open(source)?))
        .await??;
    let Some(done) = importer.run(record, &|_| {}).await else {
        bail!("the import did not finish");
    };
    let elapsed = started.elapsed();
    let peak = status_bytes("VmHWM");
    ensure!(
        done.status == ImportStatus::Completed,
        "import failed: {:?}",
        done.failure_reason
    );
    let rows = i64::from(rows);
    let (created, updated) = if expect_created { (rows, 0) } else { (0, rows) };
    ensure!(
        (
            done.created_records,
            done.updated_records,
            done.failed_records
        ) == (created, updated, 0),
        "unexpected counts: {done:?}"
    );
    Ok(Measured {
        elapsed,
        peak,
        growth: peak.saturating_sub(before),
    })
}

/// The floor: a Chatwoot-style import loop over the first `limit` rows of `path`, one row at a
/// time, each its own transaction — find the contact by identifier, email or phone number, then
/// insert it or update it — as Chatwoot's `ContactImportJob` saves one record per row.
async fn per_row(
    db: &DatabaseConnection,
    account_id: i64,
    path: &Path,
    limit: u32,
) -> anyhow::Result<Duration> {
    // Here only: its `min`/`max` would shadow `Ord`'s elsewhere.
    use sea_orm::sea_query::ExprTrait as _;

    let mut reader = csv::Reader::from_path(path)?;
    let started = Instant::now();
    for record in reader.records().take(limit as usize) {
        let record = record?;
        let cell = |i: usize| record.get(i).unwrap_or_default().to_owned();
        let (identifier, email, phone) = (cell(0), cell(1).to_lowercase(), format!("+{}", cell(2)));
        let additional = json!({ "company_name": cell(4), "city": cell(5), "country": cell(6), "country_code": cell(7) });
        let custom = json!({ "plan": cell(8), "seats": cell(9) });
        let txn = db.begin().await?;
        let found = entity::contact::Entity::find()
            .filter(entity::contact::Column::AccountId.eq(account_id))
            .filter(
                Condition::any()
                    .add(entity::contact::Column::Identifier.eq(identifier.clone()))
                    .add(
                        SimpleExpr::from(Func::lower(Expr::col(entity::contact::Column::Email)))
                            .eq(email.clone()),
                    )
                    .add(entity::contact::Column::PhoneNumber.eq(phone.clone())),
            )
            .one(&txn)
            .await?;
        let now = Utc::now();
        match found {
            Some(contact) => {
                let mut contact: entity::contact::ActiveModel = contact.into();
                contact.name = Set(Some(cell(3)));
                contact.additional_attributes = Set(additional);
                contact.custom_attributes = Set(custom);
                contact.updated_at = Set(now);
                contact.update(&txn).await?;
            }
            None => {
                entity::contact::ActiveModel {
                    account_id: Set(account_id),
                    name: Set(Some(cell(3))),
                    email: Set(Some(email)),
                    phone_number: Set(Some(phone)),
                    identifier: Set(Some(identifier)),
                    contact_type: Set(entity::enums::ContactType::Lead),
                    additional_attributes: Set(additional),
                    custom_attributes: Set(custom),
                    created_at: Set(now),
                    updated_at: Set(now),
                    ..Default::default()
                }
                .insert(&txn)
                .await?;
            }
        }
        txn.commit().await?;
    }
    Ok(started.elapsed())
}

/// `\copy`s the copy file into `table` with psql, timed from start to exit.
fn copy(url: &str, table: &str, path: &Path) -> anyhow::Result<Duration> {
    let command = format!(
        "\\copy {table} (account_id, name, email, phone_number, identifier, contact_type, \
         additional_attributes, custom_attributes, created_at, updated_at) FROM '{}' WITH \
         (FORMAT csv, HEADER)",
        path.display()
    );
    let started = Instant::now();
    let output = Command::new("psql")
        .args([url, "-q", "-v", "ON_ERROR_STOP=1", "-c", &command])
        .output()
        .context("running psql")?;
    let elapsed = started.elapsed();
    ensure!(
        output.status.success(),
        "psql failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(elapsed)
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values[values.len() / 2]
}

fn per_second(rows: u32, elapsed: Duration) -> f64 {
    f64::from(rows) / elapsed.as_secs_f64()
}

const MIB: f64 = 1024.0 * 1024.0;

#[allow(clippy::cast_precision_loss)]
fn mib(bytes: u64) -> f64 {
    bytes as f64 / MIB
}

async fn run(args: &Args, name: &str, work: &Path) -> anyhow::Result<()> {
    let (server, _) = args
        .server
        .rsplit_once('/')
        .context("--server has no database name")?;
    let url = format!("{server}/{name}");
    switchboard::db::migrate(&url).await?;
    let db = switchboard::db::connect(&url, 5).await?;

    let started = Instant::now();
    let files = write_files(work, args.rows)?;
    println!(
        "{} rows, {:.1} MiB file, written in {:.1?}",
        args.rows,
        mib(files.size),
        started.elapsed()
    );
    let importer = |bulk_sql: bool| Importer {
        db: db.clone(),
        bus: EventBus::in_process(
            switchboard::events::HistorySettings {
                length: 5000,
                ttl: std::time::Duration::from_secs(3600),
            },
            Metrics::new(),
        ),
        dir: work.join("imports"),
        shutdown: CancellationToken::new(),
        tuning: Tuning {
            batch_size: args.batch_size,
            bulk_sql,
        },
    };
    let (bulk, portable) = (importer(true), importer(false));
    let baseline = status_bytes("VmRSS");

    let labels = [
        "import, new contacts",
        "re-import, same file (updates that change nothing)",
        "re-import, changed file (every row updated)",
        "import, new contacts, portable writer",
        "re-import, changed file, portable writer",
        "`\\copy` into `LIKE contacts INCLUDING DEFAULTS INCLUDING IDENTITY` (no index)",
        "`\\copy` into `LIKE contacts INCLUDING ALL` (the contacts indexes)",
    ];
    let mut times: Vec<Vec<Duration>> = vec![Vec::new(); labels.len()];
    let mut per_row_times = Vec::new();
    // The default (bulk) writer first, in a process that has not yet grown its heap on the
    // portable writer's statements: its peak is the one the target is about.
    let mut peaks = [(0, 0), (0, 0)];
    for bulk_sql in [true, false] {
        let importer = if bulk_sql { &bulk } else { &portable };
        for round in 0..args.repeat {
            // A bare account: an import needs no user, and hashing an administrator's password
            // (Argon2, ~19 MiB) would leave its memory resident and blur the peak.
            let now = Utc::now();
            let account = entity::account::ActiveModel {
                name: Set(format!("Bench {round} {bulk_sql}")),
                last_conversation_display_id: Set(0),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            }
            .insert(&db)
            .await?;
            let runs: &[(usize, &Path, bool)] = if bulk_sql {
                &[
                    (0, &files.import, true),
                    (1, &files.import, false),
                    (2, &files.changed, false),
                ]
            } else {
                &[(3, &files.import, true), (4, &files.changed, false)]
            };
            for &(slot, path, new) in runs {
                let measured = import(importer, account.id, path, args.rows, new).await?;
                println!(
                    "round {round}: {:<60} {:>8.2?} {:>9.0} rows/s, peak RSS {:.1} MiB (+{:.1})",
                    labels[slot],
                    measured.elapsed,
                    per_second(args.rows, measured.elapsed),
                    mib(measured.peak),
                    mib(measured.growth)
                );
                times[slot].push(measured.elapsed);
                let (peak, growth) = &mut peaks[usize::from(!bulk_sql)];
                *peak = (*peak).max(measured.peak);
                *growth = (*growth).max(measured.growth);
            }
            if !bulk_sql {
                continue;
            }
            // Interleaved with the imports, so both see the same load on the machine.
            for (slot, table, like) in [
                // IDENTITY too: `id` is an identity column, which DEFAULTS alone leaves NULL.
                (5, "bench_copy", "INCLUDING DEFAULTS INCLUDING IDENTITY"),
                (6, "bench_copy_indexed", "INCLUDING ALL"),
            ] {
                exec(&db, &format!("DROP TABLE IF EXISTS {table}")).await?;
                exec(&db, &format!("CREATE TABLE {table} (LIKE contacts {like})")).await?;
                let elapsed = copy(&url, table, &files.copy)?;
                println!(
                    "round {round}: {:<60} {:>8.2?} {:>9.0} rows/s",
                    labels[slot],
                    elapsed,
                    per_second(args.rows, elapsed)
                );
                times[slot].push(elapsed);
            }
            // The floor, in an account of its own (so every row is new).
            let now = Utc::now();
            let account = entity::account::ActiveModel {
                name: Set(format!("Bench per-row {round}")),
                last_conversation_display_id: Set(0),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            }
            .insert(&db)
            .await?;
            let rows = args.per_row_rows.min(args.rows);
            let elapsed = per_row(&db, account.id, &files.import, rows).await?;
            println!(
                "round {round}: {:<60} {:>8.2?} {:>9.0} rows/s ({rows} rows)",
                "per-row loop (Chatwoot-style floor)",
                elapsed,
                per_second(rows, elapsed)
            );
            per_row_times.push(elapsed);
        }
    }
    db.close().await?;

    let medians: Vec<Duration> = times.into_iter().map(median).collect();
    let copy_rate = per_second(args.rows, medians[5]);
    let mut section = String::new();
    writeln!(section, "{START_MARKER}")?;
    writeln!(
        section,
        "Run {} on PostgreSQL ({} rows, {:.1} MiB file, batches of {}, median of {} rounds):\n",
        Utc::now().format("%Y-%m-%d %H:%M UTC"),
        args.rows,
        mib(files.size),
        args.batch_size,
        args.repeat
    )?;
    let indexed_rate = per_second(args.rows, medians[6]);
    writeln!(
        section,
        "| run | time | rows/s | vs `\\copy` (no index) | vs `\\copy` (indexed) |"
    )?;
    writeln!(section, "|---|---:|---:|---:|---:|")?;
    for (label, elapsed) in labels.iter().zip(&medians) {
        let rate = per_second(args.rows, *elapsed);
        writeln!(
            section,
            "| {label} | {:.2} s | {rate:.0} | {:.2}× | {:.2}× |",
            elapsed.as_secs_f64(),
            rate / copy_rate,
            rate / indexed_rate
        )?;
    }
    writeln!(
        section,
        "\nTargets, against `\\copy` into an empty copy of the table with its indexes (the same \
         index work the import does): new ≥ 0.5× → {:.2}×; re-import ≥ 0.25× → {:.2}× (same \
         file), {:.2}× (changed file). Against a copy without indexes: {:.2}×, {:.2}×, {:.2}×.",
        per_second(args.rows, medians[0]) / indexed_rate,
        per_second(args.rows, medians[1]) / indexed_rate,
        per_second(args.rows, medians[2]) / indexed_rate,
        per_second(args.rows, medians[0]) / copy_rate,
        per_second(args.rows, medians[1]) / copy_rate,
        per_second(args.rows, medians[2]) / copy_rate,
    )?;
    let per_row_rows = args.per_row_rows.min(args.rows);
    let per_row_time = median(per_row_times);
    let per_row_rate = per_second(per_row_rows, per_row_time);
    writeln!(
        section,
        "\nFloor: a per-row loop (find by identifier, email or phone, then insert or update; one \
         transaction per row, as Chatwoot's import saves each record) over the first {per_row_rows} \
         rows: {:.2} s = {per_row_rate:.0} rows/s. The batched import of new rows is {:.1}× that \
         (target ≥ 20×).",
        per_row_time.as_secs_f64(),
        per_second(args.rows, medians[0]) / per_row_rate,
    )?;
    #[allow(clippy::cast_precision_loss)]
    let ratio = |bytes: u64| bytes as f64 / files.size as f64;
    let [(peak, growth), (portable_peak, portable_growth)] = peaks;
    writeln!(
        section,
        "\nPeak resident memory during an import (VmHWM of the whole benchmark process, reset \
         before each run): {:.1} MiB = {:.2}× the {:.1} MiB file (target ≤ 3×), of which the \
         run itself added at most {:.1} MiB ({:.2}×) to the {:.1} MiB resident before the first \
         import. Portable writer: {:.1} MiB = {:.2}× (+{:.1} MiB).",
        mib(peak),
        ratio(peak),
        mib(files.size),
        mib(growth),
        ratio(growth),
        mib(baseline),
        mib(portable_peak),
        ratio(portable_peak),
        mib(portable_growth)
    )?;
    write!(section, "{END_MARKER}")?;
    println!("\n{section}");
    if !args.no_output {
        write_results(&args.output, &section)?;
        println!("written to {}", args.output.display());
        let rate = |elapsed: &Duration| per_second(args.rows, *elapsed);
        let runs: Vec<_> = labels
            .iter()
            .zip(&medians)
            .map(|(label, elapsed)| {
                json!({
                    "label": label,
                    "seconds": elapsed.as_secs_f64(),
                    "rows_per_s": rate(elapsed),
                    "vs_copy": rate(elapsed) / copy_rate,
                    "vs_copy_indexed": rate(elapsed) / indexed_rate,
                })
            })
            .collect();
        let results = json!({
            "written_at": Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "machine": switchboard_bench::machine(),
            "postgres": psql_version(&url),
            "command": std::env::args().collect::<Vec<_>>().join(" "),
            "rows": args.rows,
            "file_bytes": files.size,
            "batch_size": args.batch_size,
            "repeat": args.repeat,
            // Medians; in `labels` order: new, same file, changed file, new (portable),
            // changed (portable), \copy without indexes, \copy with the indexes.
            "runs": runs,
            "per_row": {
                "rows": per_row_rows,
                "seconds": per_row_time.as_secs_f64(),
                "rows_per_s": per_row_rate,
            },
            "ratios": {
                "new_vs_copy": rate(&medians[0]) / copy_rate,
                "new_vs_copy_indexed": rate(&medians[0]) / indexed_rate,
                "same_vs_copy": rate(&medians[1]) / copy_rate,
                "same_vs_copy_indexed": rate(&medians[1]) / indexed_rate,
                "changed_vs_copy": rate(&medians[2]) / copy_rate,
                "changed_vs_copy_indexed": rate(&medians[2]) / indexed_rate,
                "new_vs_per_row": rate(&medians[0]) / per_row_rate,
            },
            "memory": {
                "baseline_bytes": baseline,
                "peak_bytes": peak,
                "peak_vs_file": ratio(peak),
                "growth_bytes": growth,
                "growth_vs_file": ratio(growth),
                "portable_peak_bytes": portable_peak,
                "portable_peak_vs_file": ratio(portable_peak),
            },
        });
        if let Some(dir) = args.json.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(&args.json, serde_json::to_string_pretty(&results)? + "\n")
            .with_context(|| format!("writing {}", args.json.display()))?;
        println!("written to {}", args.json.display());
    }
    Ok(())
}

/// The PostgreSQL server's version, as `psql` reports it.
fn psql_version(url: &str) -> String {
    Command::new("psql")
        .args([url, "-XAtc", "SHOW server_version"])
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned())
        .unwrap_or_default()
}

fn write_results(path: &Path, section: &str) -> anyhow::Result<()> {
    let existing = std::fs::read_to_string(path).unwrap_or_default();
    let content = match (existing.find(START_MARKER), existing.find(END_MARKER)) {
        (Some(start), Some(end)) if start < end => format!(
            "{}{section}{}",
            &existing[..start],
            &existing[end + END_MARKER.len()..]
        ),
        _ => format!(
            "# CSV import benchmark\n\n```sh\ncargo run --release -p switchboard-bench --bin import\n```\n\n{section}\n"
        ),
    };
    std::fs::write(path, content).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}
