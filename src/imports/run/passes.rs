//! The two passes of a run: the scan of the whole file, then batches of rows, each planned and
//! written in one transaction (retried when it fails) that also saves the import's counts.

use std::time::{Duration, Instant};

use entity::{data_import, enums::ImportStatus};
use sea_orm::TransactionTrait;

use super::{Importer, Observer, Stop, blocking};
use crate::{
    imports::{
        batch,
        files::{self, FailedRows},
        parse::Row,
        plan, repo,
        source::{self, Source},
    },
    time,
};

/// Attempts of a batch whose transaction fails (a concurrent write took a value, SQLite's
/// snapshot went stale, a deadlock) before the import fails.
const ATTEMPTS: u32 = 3;

/// Where a run's time went (logged when it ends; `bench/RESULTS-import.md` reads them).
#[derive(Debug, Default)]
pub(super) struct Timings {
    scan: Duration,
    read: Duration,
    lookup: Duration,
    plan: Duration,
    write: Duration,
    commit: Duration,
}

impl Timings {
    pub(super) fn log(&self, id: i64) {
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
    pub(super) async fn passes(
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
