//! Running an import, and taking over imports that a stopped process left behind.
//!
//! A run is two streaming passes over the stored file (`run/passes.rs`; this file starts and ends
//! a run): [`source::scan`](super::source::scan) checks the whole file and counts its rows
//! without writing anything (so a malformed file imports nothing), then batches of
//! [`Tuning::batch_size`] rows are read, planned ([`plan`](super::plan)) and written
//! ([`batch`](super::batch)), each batch in one transaction that also saves the import's
//! counts. After each batch the import is published on the event bus (`dataImportProgress`,
//! `roomEvents`). Imports publish no contact event per row: thousands of `contact.created`
//! would flood every agent; clients refetch when the import completes.
//!
//! Restarts: the committed `processed_records` says exactly how many rows landed, so a run
//! resumes by skipping them. A running import renews its lease (`updated_at`) every
//! [`HEARTBEAT`](super::lease::HEARTBEAT); every instance sweeps every
//! [`SWEEP`](super::lease::SWEEP) (and at start) for PENDING or PROCESSING imports whose lease
//! is older than [`LEASE`](super::lease::LEASE), claims each (one instance wins), and resumes
//! it when its file is still in the import directory, or marks it FAILED when the file is gone.
//! A graceful shutdown stops between batches and gives the lease up, so the next start resumes
//! at once; a crash costs at most [`LEASE`](super::lease::LEASE) before another instance takes
//! over. No import stays PROCESSING for good while any instance runs.

mod passes;

use std::path::PathBuf;

use entity::{data_import, enums::ImportStatus};
use sea_orm::{DatabaseConnection, DbErr};
use tokio_util::sync::CancellationToken;

use self::passes::Timings;
use super::{files, lease::Heartbeat, repo, source::ReadError};
use crate::{
    events::{EventBus, EventPayload},
    state::AppState,
    time,
};

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
}
