//! GraphQL types of CSV imports.

use async_graphql::{Enum, ID, Object};
use chrono::{DateTime, Utc};
use entity::{data_import, enums::ImportStatus};

use super::download;

/// Where a CSV import stands.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "entity::enums::ImportStatus")]
pub enum DataImportStatus {
    /// Accepted, not started yet.
    Pending,
    /// Running: the counts grow a batch at a time.
    Processing,
    /// Every row was imported or rejected (see `failedRecords`).
    Completed,
    /// Stopped as a whole; `failureReason` says why and how much landed.
    Failed,
}

/// A CSV import of contacts and its progress.
#[derive(Clone, Debug)]
pub struct DataImport(pub data_import::Model);

/// Whether an import has ended (its counts are final).
pub fn is_finished(import: &data_import::Model) -> bool {
    matches!(
        import.status,
        ImportStatus::Completed | ImportStatus::Failed
    )
}

/// A CSV import of contacts and its progress.
#[Object]
impl DataImport {
    /// The import's id.
    async fn id(&self) -> ID {
        self.0.id.into()
    }
    /// Pending, processing, completed or failed.
    async fn status(&self) -> DataImportStatus {
        self.0.status.into()
    }
    /// The name of the uploaded file.
    async fn file_name(&self) -> Option<&str> {
        self.0.file_name.as_deref()
    }
    /// Data rows in the file (blank rows not counted); 0 until the file has been checked.
    async fn total_records(&self) -> i64 {
        self.0.total_records
    }
    /// Rows handled so far: created + updated + failed.
    async fn processed_records(&self) -> i64 {
        self.0.processed_records
    }
    /// Rows that created a contact.
    async fn created_records(&self) -> i64 {
        self.0.created_records
    }
    /// Rows that updated a contact (an existing one, or one an earlier row of the file created).
    async fn updated_records(&self) -> i64 {
        self.0.updated_records
    }
    /// Rows rejected (invalid values, or a value another contact holds); see `failedRecordsUrl`.
    async fn failed_records(&self) -> i64 {
        self.0.failed_records
    }
    /// Why the import failed as a whole (a malformed file imports nothing).
    async fn failure_reason(&self) -> Option<&str> {
        self.0.failure_reason.as_deref()
    }
    /// Once the import has ended with rejected rows: where to download them (relative to this
    /// server, with the same bearer token) as CSV — the original columns plus `errors`.
    async fn failed_records_url(&self) -> Option<String> {
        (is_finished(&self.0) && self.0.failed_records > 0).then(|| download::url(self.0.id))
    }
    /// When the import was requested.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}
