//! `GET /imports/{id}/failed-rows.csv`: an import's rejected rows, streamed from the import
//! directory (the handler is `http/download.rs`). Same bearer token as GraphQL, administrators of the import's account only.
//!
//! Errors are JSON like GraphQL request errors: 401 UNAUTHENTICATED, 403 FORBIDDEN (not an
//! administrator), 404 NOT_FOUND (no such import in the account, or no rejected rows),
//! 409 CONFLICT (still running: the file holds rows of batches not yet committed).

use tokio::fs::File;

use super::{files, repo, types::is_finished};
use crate::{
    error::{AppError, AppResult},
    state::AppState,
};

/// The route.
pub const PATH: &str = "/imports/{id}/failed-rows.csv";

/// The download URL of an import's rejected rows.
pub fn url(id: i64) -> String {
    PATH.replace("{id}", &id.to_string())
}

/// The rejected rows of import `id` (as given in the URL) of the administrator's account:
/// the import's id and its file, open.
pub async fn failed_rows(state: &AppState, account_id: i64, id: &str) -> AppResult<(i64, File)> {
    let Some(id) = id.parse::<i64>().ok().filter(|id| *id > 0) else {
        return Err(AppError::NotFound("data import"));
    };
    let Some(import) = repo::find(&state.db, account_id, id).await? else {
        return Err(AppError::NotFound("data import"));
    };
    if !is_finished(&import) {
        return Err(AppError::Conflict {
            field: None,
            message: "the import is still running; download its failed rows when it has ended"
                .into(),
        });
    }
    let path = files::failed_path(&state.config.import_dir(), import.id);
    if import.failed_records > 0 {
        match File::open(&path).await {
            Ok(file) => return Ok((import.id, file)),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
            Err(err) => return Err(AppError::internal(err)),
        }
    }
    Err(AppError::NotFound("failed rows of this import"))
}
