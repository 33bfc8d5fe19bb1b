//! `GET /imports/{id}/failed-rows.csv`: an import's rejected rows, streamed from the import
//! directory. Same bearer token as GraphQL, administrators of the import's account only.
//!
//! Errors are JSON like GraphQL request errors: 401 UNAUTHENTICATED, 403 FORBIDDEN (not an
//! administrator), 404 NOT_FOUND (no such import in the account, or no rejected rows),
//! 409 CONFLICT (still running: the file holds rows of batches not yet committed).

use axum::{
    body::Body,
    extract::{Path, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use tokio_util::io::ReaderStream;

use super::{files, repo, types::is_finished};
use crate::{
    app::HttpState,
    error::AppError,
    http::{download_admin, download_error as error},
};

/// The route.
pub const PATH: &str = "/imports/{id}/failed-rows.csv";

/// The download URL of an import's rejected rows.
pub fn url(id: i64) -> String {
    PATH.replace("{id}", &id.to_string())
}

/// The handler of [`PATH`].
pub async fn failed_rows(
    State(state): State<HttpState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let viewer = match download_admin(&state, &headers, "imports need the administrator role").await
    {
        Ok(viewer) => viewer,
        Err(err) => return error(err),
    };
    let Some(id) = id.parse::<i64>().ok().filter(|id| *id > 0) else {
        return error(AppError::NotFound("data import"));
    };
    let import = match repo::find(&state.app.db, viewer.account_id, id).await {
        Ok(Some(import)) => import,
        Ok(None) => return error(AppError::NotFound("data import")),
        Err(err) => return error(err),
    };
    if !is_finished(&import) {
        return error(AppError::Conflict {
            field: None,
            message: "the import is still running; download its failed rows when it has ended"
                .into(),
        });
    }
    let path = files::failed_path(&state.app.config.import_dir(), import.id);
    let file = match (import.failed_records > 0).then_some(()) {
        None => None,
        Some(()) => match tokio::fs::File::open(&path).await {
            Ok(file) => Some(file),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => None,
            Err(err) => return error(AppError::internal(err)),
        },
    };
    let Some(file) = file else {
        return error(AppError::NotFound("failed rows of this import"));
    };
    let mut response = (StatusCode::OK, Body::from_stream(ReaderStream::new(file))).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    if let Ok(disposition) = HeaderValue::from_str(&format!(
        "attachment; filename=\"import-{}-failed-rows.csv\"",
        import.id
    )) {
        headers.insert(header::CONTENT_DISPOSITION, disposition);
    }
    response
}
