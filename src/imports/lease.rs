//! The leases of running imports: a run renews its lease every [`HEARTBEAT`] ([`Heartbeat`]),
//! and every instance sweeps every [`SWEEP`] (and at start) for imports whose lease is older
//! than [`LEASE`], resuming or failing them (the restart story is in `imports/run.rs`).

use std::{sync::Arc, time::Duration};

use entity::enums::ImportStatus;
use sea_orm::{DatabaseConnection, DbErr};
use tokio::task::JoinHandle;

use super::{files, repo, run::Importer};
use crate::{state::AppState, time};

/// How long a running import's lease lasts without renewal.
pub const LEASE: Duration = Duration::from_secs(60);
/// How often a running import renews its lease.
pub const HEARTBEAT: Duration = Duration::from_secs(15);
/// How often every instance looks for imports to take over.
pub const SWEEP: Duration = Duration::from_secs(30);
/// Renews a run's lease until dropped.
pub(super) struct Heartbeat(JoinHandle<()>);

impl Heartbeat {
    pub(super) fn start(db: DatabaseConnection, id: i64) -> Self {
        Self(tokio::spawn(async move {
            let mut ticks = tokio::time::interval(HEARTBEAT);
            ticks.tick().await;
            loop {
                ticks.tick().await;
                if let Err(err) = repo::touch(&db, id).await {
                    tracing::warn!(import_id = id, error = %err, "import lease renewal failed");
                }
            }
        }))
    }
}

impl Drop for Heartbeat {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Importer {
    /// Takes over the imports whose lease ran out: resumes those whose file is still here,
    /// fails the others.
    pub async fn sweep(&self) -> Result<(), DbErr> {
        let lease = chrono::TimeDelta::from_std(LEASE).unwrap_or(chrono::TimeDelta::MAX);
        let cutoff = time::now() - lease;
        for import in repo::stale(&self.db, cutoff).await? {
            if !repo::claim(&self.db, import.id, cutoff).await? {
                continue;
            }
            let path = files::source_path(&self.dir, import.id);
            if tokio::fs::try_exists(&path).await.unwrap_or(false) {
                tracing::info!(import_id = import.id, "resuming an interrupted import");
                self.spawn(import);
            } else {
                tracing::warn!(
                    import_id = import.id,
                    "interrupted import has no file; failing it"
                );
                let mut import = import;
                import.status = ImportStatus::Failed;
                import.failure_reason = Some(format!(
                    "the import was interrupted by a restart and its file is gone, so it cannot \
                     resume; {} of {} rows had been imported",
                    import.processed_records, import.total_records
                ));
                self.finish(import, &|_| {}).await;
            }
        }
        Ok(())
    }
}

/// Starts the sweep of a server: at once, then every [`SWEEP`] until shutdown.
pub fn recover(state: &Arc<AppState>) {
    let importer = Importer::new(state);
    tokio::spawn(async move {
        loop {
            if let Err(err) = importer.sweep().await {
                tracing::warn!(error = %err, "import sweep failed");
            }
            tokio::select! {
                () = importer.shutdown.cancelled() => break,
                () = tokio::time::sleep(SWEEP) => {}
            }
        }
    });
}
