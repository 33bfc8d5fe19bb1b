//! The file downloads at the edge: `GET /exports/contacts.csv` and
//! `GET /imports/{id}/failed-rows.csv`. They take the same bearer token as GraphQL, admit
//! administrators only, and answer an error before the first byte as JSON in the shape of a
//! GraphQL error; what is downloaded comes from the domains (`exports/download.rs`,
//! `imports/download.rs`).

use axum::{
    body::Body,
    extract::{Path, Query, State, rejection::QueryRejection},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::Deserialize;
use serde_json::json;
use tokio_util::io::ReaderStream;

use super::{HttpState, authenticate};
use crate::{
    auth::{
        access,
        viewer::{Auth, UserViewer, Viewer},
    },
    error::{AppError, code},
    exports, imports,
};

/// The query string of an export's download URL.
#[derive(Deserialize)]
pub struct ExportParams {
    spec: Option<String>,
}

/// The handler of `exports::spec::PATH`.
pub async fn contacts_csv(
    State(state): State<HttpState>,
    headers: HeaderMap,
    params: Result<Query<ExportParams>, QueryRejection>,
) -> Response {
    let viewer = match download_admin(
        &state,
        &headers,
        "exporting contacts needs the administrator role",
    )
    .await
    {
        Ok(viewer) => viewer,
        Err(err) => return download_error(err),
    };
    let encoded = params.ok().and_then(|Query(params)| params.spec);
    let rows = match exports::download::start(
        &state.app,
        viewer.account_id,
        viewer.user_id,
        encoded.as_deref(),
    )
    .await
    {
        Ok(rows) => rows,
        Err(err) => return download_error(err),
    };
    let mut response = csv(Body::from_stream(rows), "contacts.csv");
    let headers = response.headers_mut();
    // Personal data: keep it out of shared caches.
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// The handler of `imports::download::PATH`.
pub async fn failed_rows(
    State(state): State<HttpState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let viewer = match download_admin(&state, &headers, "imports need the administrator role").await
    {
        Ok(viewer) => viewer,
        Err(err) => return download_error(err),
    };
    let (id, file) = match imports::download::failed_rows(&state.app, viewer.account_id, &id).await
    {
        Ok(found) => found,
        Err(err) => return download_error(err),
    };
    let body = Body::from_stream(ReaderStream::new(file));
    csv(body, &format!("import-{id}-failed-rows.csv"))
}

/// A CSV file download named `filename`.
fn csv(body: Body, filename: &str) -> Response {
    let mut response = (StatusCode::OK, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    if let Ok(disposition) = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\""))
    {
        headers.insert(header::CONTENT_DISPOSITION, disposition);
    }
    response
}

/// The administrator a file download (export, failed rows) is for, from the same bearer token
/// as GraphQL; `forbidden` says why anyone else is refused.
async fn download_admin(
    state: &HttpState,
    headers: &HeaderMap,
    forbidden: &str,
) -> Result<UserViewer, AppError> {
    let viewer = match access::resolve(&state.app, authenticate(state, headers)).await {
        Auth::Authenticated(Viewer::User(user)) => user,
        Auth::Authenticated(Viewer::Contact(_)) => {
            return Err(AppError::Forbidden("downloads need a user token".into()));
        }
        Auth::Anonymous => {
            return Err(AppError::Unauthenticated(
                "an access token is required".into(),
            ));
        }
        Auth::Refused(reason) => return Err(AppError::Unauthenticated(reason)),
    };
    if viewer.is_admin() {
        Ok(viewer)
    } else {
        Err(AppError::Forbidden(forbidden.into()))
    }
}

/// An error of a file download before its first byte, as JSON in the shape of a GraphQL
/// error, with the HTTP status its code stands for.
pub(crate) fn download_error(err: AppError) -> Response {
    let status = match err.code() {
        code::UNAUTHENTICATED => StatusCode::UNAUTHORIZED,
        code::FORBIDDEN => StatusCode::FORBIDDEN,
        code::NOT_FOUND => StatusCode::NOT_FOUND,
        code::BAD_USER_INPUT => StatusCode::BAD_REQUEST,
        code::CONFLICT => StatusCode::CONFLICT,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    // The GraphQL conversion censors and logs internal errors and names the field.
    let err = async_graphql::Error::from(err);
    let body = json!({ "errors": [{ "message": err.message, "extensions": err.extensions }] });
    let mut response = (status, axum::Json(body)).into_response();
    if status == StatusCode::UNAUTHORIZED {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    response
}
