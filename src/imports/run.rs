//! Running an import, and taking over imports that a stopped process left behind.
//!
//! A run is two streaming passes over the stored file: [`source::scan`] checks the whole file
//! and counts its rows without writing anything (so a malformed file imports nothing), then
//! batches of [`Tuning::batch_size`] rows are read, planned ([`plan`]) and written
//! ([`batch`]), each batch in one transaction that also saves the import's counts. After each
//! batch the import is published on the event bus (`dataImportProgress`, `roomEvents`).
//! Imports publish no contact event per row: thousands of `contact.created` would flood every
//! agent; clients refetch when the import completes.
//!
//! Restarts: the committed `processed_records` says exactly how many rows landed, so a run
//! resumes by skipping them. A running import renews its lease (`updated_at`) every
//! [`HEARTBEAT`](super::lease::HEARTBEAT); every instance sweeps every [`SWEEP`](super::lease::SWEEP) (and at start) for PENDING or
//! PROCESSING imports whose lease is older than [`LEASE`](super::lease::LEASE), claims each (one instance wins), and
//! resumes it when its file is still in the import directory, or marks it FAILED when the file
//! is gone. A graceful shutdown stops between batches and gives the lease up, so the next start
//! resumes at once; a crash costs at most [`LEASE`](super::lease::LEASE) before another instance takes over. No
//! import stays PROCESSING for good while any instance runs.

use std::{
    path::PathBuf,
    time::{Duration, Instant},
};

use entity::{data_import, enums::ImportStatus};
use sea_orm::{DatabaseConnection, DbErr, TransactionTrait};
use tokio_util::sync::CancellationToken;

use super::{
    batch, files,
    files::FailedRows,
    lease::Heartbeat,
    parse::Row,
    plan, repo,
    source::{self, ReadError, Source},
};
use crate::{
    events::{EventBus, EventPayload},
    state::AppState,
    time,
};

/// Attempts of a batch whose transaction fails (a concurrent write took a value, SQLite's
/// snapshot went stale, a deadlock) before the import fails.
const ATTEMPTS: u32 = 3;

/// Knobs of the batch writer (the benchmark compares them).
#[derive(Debug, Clone, Copy)]
pub struct Tuning {
    /// Rows per batch and transaction.
    pub batch_size: usize,
    /// On PostgreSQL, write through `json_to_recordset` rather than SeaORM's multi-row VALUES.
    pub bulk_sql: bool,
}

impl Default for Tuning {
    fn default() -> Self {
        Self {
            batch_size: 1000,
            bulk_sql: true,
        }
    }
}

/// Called with the import after every change (the CLI's progress bar).
pub type Observer<'a> = &'a (dyn Fn(&data_import::Model) + Send + Sync);

/// What runs imports: a database, the bus to announce progress on, the import directory.
#[derive(Clone)]
pub struct Importer {
    pub db: DatabaseConnection,
    pub bus: EventBus,
    pub dir: PathBuf,
    /// Cancelled on shutdown: runs stop between batches and give their lease up.
    pub shutdown: CancellationToken,
    pub tuning: Tuning,
}

/// Why a run stopped early.
enum Stop {
    /// The file cannot be imported; the reason is shown to the user.
    Rejected(String),
    /// Something broke (logged; the user sees a generic reason).
    Broken(anyhow::Error),
    /// Shutting down: left for a later run to resume.
    Interrupted,
    /// The import's row is gone (its account was deleted).
    Gone,
}

impl From<DbErr> for Stop {
    fn from(err: DbErr) -> Self {
        Self::Broken(err.into())
    }
}

impl From<std::io::Error> for Stop {
    fn from(err: std::io::Error) -> Self {
        Self::Broken(err.into())
    }
}

impl From<ReadError> for Stop {
    fn from(err: ReadError) -> Self {
        match err {
            ReadError::Malformed(reason) => Self::Rejected(reason),
            ReadError::Io(err) => err.into(),
        }
    }
}

/// Runs blocking file work off the async threads.
async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T, Stop> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|err| Stop::Broken(err.into()))
}

/// Where a run's time went (logged when it ends; `bench/RESULTS-import.md` reads them).
#[derive(Debug, Default)]
struct Timings {
    scan: Duration,
    read: Duration,
    lookup: Duration,
    plan: Duration,
    write: Duration,
    commit: Duration,
}

impl Timings {
    fn log(&self, id: i64) {
        let ms = |d: Duration| d.as_millis();
        tracing::info!(
            import_id = id,
            scan_ms = ms(self.scan),
            read_ms = ms(self.read),
            lookup_ms = ms(self.lookup),
            plan_ms = ms(self.plan),
            write_ms = ms(self.write),
            commit_ms = ms(self.commit),
            "contact import timings"
        );
    }
}

impl Importer {
    /// The importer of a running server.
    pub fn new(state: &AppState) -> Self {
        Self {
            db: state.db.clone(),
            bus: state.bus.clone(),
            dir: state.config.import_dir(),
            shutdown: state.shutdown.clone(),
            tuning: Tuning::default(),
        }
    }

    /// Runs an import in the background.
    pub fn spawn(&self, import: data_import::Model) {
        let importer = self.clone();
        tokio::spawn(async move {
            importer.run(import, &|_| {}).await;
        });
    }

    /// Runs an import to its end and returns it COMPLETED or FAILED; `None` when it was
    /// interrupted by a shutdown (and will resume) or its row is gone.
    pub async fn run(
        &self,
        import: data_import::Model,
        observe: Observer<'_>,
    ) -> Option<data_import::Model> {
        let id = import.id;
        let heartbeat = Heartbeat::start(self.db.clone(), id);
        let mut current = import;
        let mut timings = Timings::default();
        let outcome = self.passes(&mut current, observe, &mut timings).await;
        timings.log(id);
        let stop = match outcome {
            Ok(()) => {
                current.status = ImportStatus::Completed;
                None
            }
            Err(stop) => Some(stop),
        };
        drop(heartbeat);
        match stop {
            None => {}
            Some(Stop::Interrupted) => {
                tracing::info!(
                    import_id = id,
                    "import interrupted by shutdown; it will resume"
                );
                if let Err(err) = repo::release(&self.db, id).await {
                    tracing::warn!(import_id = id, error = %err, "import lease release failed");
                }
                return None;
            }
            Some(Stop::Gone) => return None,
            Some(Stop::Rejected(reason)) => {
                current.status = ImportStatus::Failed;
                current.failure_reason = Some(format!("{reason}. Nothing was imported."));
            }
            Some(Stop::Broken(err)) => {
                tracing::error!(import_id = id, error = ?err, "import failed");
                current.status = ImportStatus::Failed;
                current.failure_reason = Some(format!(
                    "an internal error stopped the import after {} of {} rows; those rows \
                     were imported",
                    current.processed_records, current.total_records
                ));
            }
        }
        self.finish(current, observe).await
    }

    /// Fails an import that cannot start (its file could not be stored).
    pub async fn abandon(
        &self,
        mut import: data_import::Model,
        reason: &str,
    ) -> data_import::Model {
        import.status = ImportStatus::Failed;
        import.failure_reason = Some(reason.to_owned());
        self.finish(import.clone(), &|_| {}).await.unwrap_or(import)
    }

    pub(super) async fn finish(
        &self,
        mut import: data_import::Model,
        observe: Observer<'_>,
    ) -> Option<data_import::Model> {
        import.updated_at = time::now();
        match repo::save(&self.db, &import).await {
            Ok(true) => {}
            Ok(false) => return None,
            Err(err) => {
                // The lease runs out and a sweep settles the import.
                tracing::error!(import_id = import.id, error = %err, "saving the import's end failed");
                return None;
            }
        }
        if let Err(err) = files::remove(&files::source_path(&self.dir, import.id)) {
            tracing::warn!(import_id = import.id, error = %err, "removing an import's file failed");
        }
        tracing::info!(
            import_id = import.id,
            account_id = import.account_id,
            status = ?import.status,
            rows = import.processed_records,
            created = import.created_records,
            updated = import.updated_records,
            failed = import.failed_records,
            "contact import finished"
        );
        self.announce(&import, observe).await;
        Some(import)
    }

    async fn announce(&self, import: &data_import::Model, observe: Observer<'_>) {
        observe(import);
        let payload = EventPayload::DataImportProgress {
            data_import: Box::new(import.clone()),
        };
        self.bus.publish_to(import.account_id, payload).await;
    }

    async fn save(
        &self,
        import: &mut data_import::Model,
        observe: Observer<'_>,
    ) -> Result<(), Stop> {
        import.updated_at = time::now();
        if !repo::save(&self.db, import).await? {
            return Err(Stop::Gone);
        }
        self.announce(import, observe).await;
        Ok(())
    }

    async fn passes(
        &self,
        import: &mut data_import::Model,
        observe: Observer<'_>,
        timings: &mut Timings,
    ) -> Result<(), Stop> {
        import.status = ImportStatus::Processing;
        self.save(import, observe).await?;
        let path = files::source_path(&self.dir, import.id);

        let scanned = path.clone();
        let started = Instant::now();
        import.total_records =
            i64::try_from(blocking(move || source::scan(&scanned)).await??).unwrap_or(i64::MAX);
        timings.scan = started.elapsed();
        self.save(import, observe).await?;

        let (dir, id) = (self.dir.clone(), import.id);
        let (skip, keep) = (import.processed_records, import.failed_records);
        let (mut source, mut failed) = blocking(move || -> Result<_, Stop> {
            let mut source = Source::open(&path)?;
            source.skip(u64::try_from(skip).unwrap_or_default())?;
            let failed = FailedRows::open(
                &dir,
                id,
                source.header.names.clone(),
                u64::try_from(keep).unwrap_or_default(),
            )?;
            Ok((source, failed))
        })
        .await??;

        let size = self.tuning.batch_size.max(1);
        let mut rows: Vec<Row> = Vec::with_capacity(size);
        let mut exhausted = false;
        loop {
            if self.shutdown.is_cancelled() {
                return Err(Stop::Interrupted);
            }
            if !exhausted && rows.len() < size {
                let wanted = size - rows.len();
                let started = Instant::now();
                let (back, more) = blocking(move || {
                    let more = source.next_rows(wanted);
                    (source, more)
                })
                .await?;
                source = back;
                let more = more?;
                timings.read += started.elapsed();
                exhausted = more.len() < wanted;
                rows.extend(more);
            }
            if rows.is_empty() {
                return Ok(());
            }
            let consumed = match self.batch(import, &rows, &mut failed, timings).await {
                Ok(consumed) => consumed,
                Err(stop) => {
                    if let Err(err) = failed.rollback() {
                        tracing::warn!(import_id = id, error = %err, "failed-rows rollback failed");
                    }
                    return Err(stop);
                }
            };
            rows.drain(..consumed);
            self.announce(import, observe).await;
        }
    }

    /// Plans and writes one batch, retrying a failed transaction; returns how many rows of
    /// `rows` it handled.
    async fn batch(
        &self,
        import: &mut data_import::Model,
        rows: &[Row],
        failed: &mut FailedRows,
        timings: &mut Timings,
    ) -> Result<usize, Stop> {
        let mut attempt = 1;
        loop {
            match self.try_batch(import, rows, failed, timings).await {
                Ok((next, consumed)) => {
                    *import = next;
                    if let Err(err) = failed.commit() {
                        tracing::warn!(import_id = import.id, error = %err, "failed-rows commit failed");
                    }
                    return Ok(consumed);
                }
                Err(Stop::Broken(err)) if attempt < ATTEMPTS => {
                    tracing::warn!(import_id = import.id, attempt, error = %err, "import batch failed; retrying");
                    tokio::time::sleep(Duration::from_millis(100) * attempt).await;
                    attempt += 1;
                }
                Err(stop) => return Err(stop),
            }
        }
    }

    async fn try_batch(
        &self,
        import: &data_import::Model,
        rows: &[Row],
        failed: &mut FailedRows,
        timings: &mut Timings,
    ) -> Result<(data_import::Model, usize), Stop> {
        let mut lap = Instant::now();
        let mut time = |slot: &mut Duration| {
            let now = Instant::now();
            *slot += now - lap;
            lap = now;
        };
        let txn = self.db.begin().await?;
        let existing = batch::lookup(&txn, import.account_id, rows).await?;
        time(&mut timings.lookup);
        let now = time::now();
        let plan = plan::plan(import.account_id, existing, rows, now);
        time(&mut timings.plan);
        batch::write(&txn, import.account_id, &plan, self.tuning.bulk_sql).await?;
        time(&mut timings.write);
        let count = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
        let mut next = import.clone();
        next.processed_records += count(plan.consumed);
        next.created_records += count(plan.created);
        next.updated_records += count(plan.updated);
        next.failed_records += count(plan.failures.len());
        next.updated_at = now;
        if !repo::save(&txn, &next).await? {
            return Err(Stop::Gone);
        }
        // Appended before the commit: a crash in between leaves extra rows, which the next
        // run cuts back to the committed count (see `files`).
        failed.append(
            plan.failures
                .iter()
                .map(|(index, reasons)| (rows[*index].cells.as_slice(), reasons.as_str())),
        )?;
        txn.commit().await?;
        time(&mut timings.commit);
        Ok((next, plan.consumed))
    }
}
