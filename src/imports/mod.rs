//! CSV imports of contacts (docs/design.md §5): `importContacts` stores the upload and returns a
//! PENDING import at once; a background task imports it in batches, publishing its progress
//! (`dataImport`, `dataImportProgress`); rejected rows are downloadable as CSV.
//!
//! - [`source`]: the file's two streaming passes (quoting check, then rows); [`parse`]: the
//!   header and what each row says, validated;
//! - [`plan`]: what a batch of rows does to the contacts (matching, merging, conflicts), in
//!   memory; [`batch`]: its reads and writes, one transaction per batch;
//! - [`run`]: a run from PENDING to COMPLETED or FAILED; [`lease`]: its heartbeat, and the
//!   takeover of runs a stopped process left behind (resumed when their file is still there);
//! - [`files`]: the uploaded file and the failed rows, in the import directory (`IMPORT_DIR`);
//! - [`repo`]: the `data_imports` rows; [`types`], [`schema`]: the GraphQL side;
//!   [`download`]: `GET /imports/{id}/failed-rows.csv`; [`cli`]: `switchboard import`.
//!
//! Memory stays at one batch whatever the file's size: files are streamed from disk, never
//! read whole, and the failed rows go straight to their file.

pub mod batch;
pub mod cli;
pub mod download;
pub mod files;
pub mod lease;
pub mod parse;
pub mod plan;
pub mod repo;
pub mod run;
pub mod schema;
pub mod source;
pub mod types;
