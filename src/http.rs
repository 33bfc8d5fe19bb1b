//! GraphQL over HTTP, written around `receive_batch_body` rather than the stock handler, which
//! executes mutations sent by GET and accepts `text/plain` bodies (a CSRF hole) and unbounded
//! multipart uploads.
//!
//! - `GET /graphql?query=…` runs queries only; a mutation or subscription is 405.
//! - `POST /graphql` takes `application/json` (bounded by `MAX_BODY_BYTES`) or
//!   `multipart/form-data` (the GraphQL multipart request spec: `operations` and `map` bounded
//!   by `MAX_BODY_BYTES`, one file bounded by `MAX_UPLOAD_BYTES` and kept on disk) with a
//!   preflight header; anything else is 415. A multipart request is authenticated before any
//!   of its body is read: only administrators have an operation taking a file, so anyone else
//!   is refused (401/403) at once, and at most `MAX_CONCURRENT_UPLOADS` are read at a time
//!   (503 with `Retry-After` beyond).
//! - Responses are `application/graphql-response+json` when the client accepts it (request
//!   errors are then 400, as the GraphQL-over-HTTP spec says), `application/json` otherwise.
//!   A request error (parse or validation failure: nothing executed) has no `data` entry.
//! - A request with no `query` (and no persisted-query hash) is 400 with either media type.
//!
//! `examples/web/run-checks.sh` runs graphql-http's GraphQL-over-HTTP audit against a live
//! server: it fails on any MUST audit, and the SHOULD and MAY audits pass too.

pub mod download;
mod multipart;

use async_graphql::{
    BatchRequest, BatchResponse, Executor as _, Request,
    parser::types::{DocumentOperations, OperationType},
};
use axum::{
    body::Body,
    extract::State,
    http::{HeaderMap, HeaderValue, StatusCode, Uri, header},
    response::{IntoResponse, Response},
};
use serde_json::json;
use std::sync::Arc;

use tokio::sync::Semaphore;

use crate::{
    auth::{
        access,
        jwt::bearer,
        viewer::{Auth, Viewer},
    },
    error::{AppError, code},
    executor::Executor,
    graphiql,
    state::AppState,
    telemetry::OperationLabels,
};

/// Most operations accepted in one batch request.
pub const MAX_BATCH: usize = 10;
/// Most files accepted in one multipart request.
pub const MAX_FILES: usize = 1;

/// The router's state: the shared state plus the executable schema.
#[derive(Clone)]
pub struct HttpState {
    pub app: Arc<AppState>,
    pub executor: Executor,
    /// Slots of multipart uploads being read (`MAX_CONCURRENT_UPLOADS`).
    pub uploads: Arc<Semaphore>,
    /// Starts websocket tasks on the app's realtime runtime.
    pub realtime: crate::ws::Spawner,
}

const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json";
/// Headers that prove a multipart request is not a plain HTML form post (CSRF).
const PREFLIGHT_HEADERS: [&str; 3] = [
    "apollo-require-preflight",
    "graphql-require-preflight",
    "x-apollo-operation-name",
];

/// Decides who is asking from the `Authorization` header.
pub fn authenticate(state: &HttpState, headers: &HeaderMap) -> Auth {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Auth::Anonymous;
    };
    match value.to_str().ok().and_then(bearer) {
        None => Auth::Refused("malformed Authorization header: expected `Bearer <token>`".into()),
        Some(token) => match state.app.keys.decode(token) {
            Ok(viewer) => Auth::Authenticated(viewer),
            Err(err) => Auth::Refused(err.to_string()),
        },
    }
}

/// A request-level error response (the request never reached the executor).
pub(crate) fn request_error(status: StatusCode, error_code: &str, message: &str) -> Response {
    let body = json!({ "errors": [{ "message": message, "extensions": { "code": error_code } }] });
    let mut response = (status, axum::Json(body)).into_response();
    if status == StatusCode::METHOD_NOT_ALLOWED {
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
    }
    if status == StatusCode::SERVICE_UNAVAILABLE {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    response
}

/// `GET /graphql`: GraphiQL for a browser, otherwise a query in the URL.
pub async fn get(State(state): State<HttpState>, headers: HeaderMap, uri: Uri) -> Response {
    let query = uri.query().unwrap_or_default();
    if query.is_empty() && graphiql::wants_html(&headers) {
        return graphiql::page().await;
    }
    let request = match async_graphql::http::parse_query_string(query) {
        Ok(request) => request,
        Err(err) => {
            return request_error(StatusCode::BAD_REQUEST, code::BAD_REQUEST, &err.to_string());
        }
    };
    if !is_query(&state, &request) {
        return request_error(
            StatusCode::METHOD_NOT_ALLOWED,
            code::METHOD_NOT_ALLOWED,
            "only queries may be sent with GET; send mutations and subscriptions with POST",
        );
    }
    execute(&state, &headers, BatchRequest::Single(request)).await
}

/// Whether the operation a request selects is a query, reading a persisted query's document
/// when the request gives only its hash. An unparsable document counts as a query so that
/// execution reports the parse error; so does an unknown hash (execution answers
/// `PERSISTED_QUERY_NOT_FOUND`).
fn is_query(state: &HttpState, request: &Request) -> bool {
    let Ok(document) = state.executor.document(request) else {
        return true;
    };
    let ty = match (&document.operations, request.operation_name.as_deref()) {
        (DocumentOperations::Single(op), _) => Some(op.node.ty),
        (DocumentOperations::Multiple(ops), Some(name)) => ops.get(name).map(|op| op.node.ty),
        (DocumentOperations::Multiple(_), None) => None,
    };
    matches!(ty, Some(OperationType::Query) | None)
}

/// `POST /graphql`.
pub async fn post(State(state): State<HttpState>, headers: HeaderMap, body: Body) -> Response {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let mime: Option<mime::Mime> = content_type.parse().ok();
    let batch = match mime
        .as_ref()
        .map(|m| (m.type_().as_str(), m.subtype().as_str()))
    {
        Some(("application", "json")) => {
            let Ok(bytes) = axum::body::to_bytes(body, state.app.config.max_body_bytes).await
            else {
                return request_error(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    code::PAYLOAD_TOO_LARGE,
                    "the request body is too large",
                );
            };
            match serde_json::from_slice::<BatchRequest>(&bytes) {
                Ok(batch) => batch,
                Err(err) => {
                    return request_error(
                        StatusCode::BAD_REQUEST,
                        code::BAD_REQUEST,
                        &format!("the body is not a GraphQL request: {err}"),
                    );
                }
            }
        }
        Some(("multipart", "form-data")) => {
            return post_multipart(&state, &headers, &content_type, body).await;
        }
        _ => {
            return request_error(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                code::UNSUPPORTED_MEDIA_TYPE,
                "send GraphQL requests as application/json (or multipart/form-data for uploads)",
            );
        }
    };
    if let Some(refused) = refuse_batch(&batch) {
        return refused;
    }
    execute(&state, &headers, batch).await
}

/// A batch of no operation or too many.
fn refuse_batch(batch: &BatchRequest) -> Option<Response> {
    match batch {
        BatchRequest::Batch(requests) if requests.is_empty() || requests.len() > MAX_BATCH => {
            Some(request_error(
                StatusCode::BAD_REQUEST,
                code::BAD_REQUEST,
                &format!("a batch must hold 1 to {MAX_BATCH} operations"),
            ))
        }
        _ => None,
    }
}

/// `POST /graphql` with a multipart body: who asks is settled from the headers before a byte
/// of the body is read, then a slot among `MAX_CONCURRENT_UPLOADS`, held until the operation
/// has run (the file lives on disk until then).
async fn post_multipart(
    state: &HttpState,
    headers: &HeaderMap,
    content_type: &str,
    body: Body,
) -> Response {
    if !PREFLIGHT_HEADERS
        .iter()
        .any(|name| headers.contains_key(*name))
    {
        return request_error(
            StatusCode::BAD_REQUEST,
            code::BAD_REQUEST,
            "multipart requests must carry a `GraphQL-Require-Preflight` (or \
             `Apollo-Require-Preflight`) header",
        );
    }
    let auth = access::resolve(&state.app, authenticate(state, headers)).await;
    let refusal = match &auth {
        Auth::Authenticated(Viewer::User(user)) if user.is_admin() => None,
        Auth::Authenticated(_) => Some(AppError::Forbidden(
            "uploads are for administrators (importContacts)".into(),
        )),
        Auth::Anonymous => Some(AppError::Unauthenticated(
            "uploads need an access token".into(),
        )),
        Auth::Refused(reason) => Some(AppError::Unauthenticated(reason.clone())),
    };
    if let Some(err) = refusal {
        // Answered without reading the body; the connection is closed after the response.
        return download::download_error(err);
    }
    let Ok(_slot) = state.uploads.clone().try_acquire_owned() else {
        return request_error(
            StatusCode::SERVICE_UNAVAILABLE,
            code::SERVICE_UNAVAILABLE,
            "too many uploads are in progress; retry shortly",
        );
    };
    let config = &state.app.config;
    let limits = multipart::Limits {
        fields: config.max_body_bytes,
        file: config.max_upload_bytes,
        files: MAX_FILES,
    };
    let batch = match multipart::read(content_type, body, limits).await {
        Ok(batch) => batch,
        Err(multipart::Refusal::TooLarge(message)) => {
            return request_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                code::PAYLOAD_TOO_LARGE,
                &message,
            );
        }
        Err(multipart::Refusal::Malformed(message)) => {
            return request_error(StatusCode::BAD_REQUEST, code::BAD_REQUEST, &message);
        }
        Err(multipart::Refusal::Io(err)) => {
            tracing::error!(error = %err, "keeping an uploaded file failed");
            return request_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                code::INTERNAL_SERVER_ERROR,
                "Internal server error",
            );
        }
    };
    if let Some(refused) = refuse_batch(&batch) {
        return refused;
    }
    execute_as(state, headers, batch, auth).await
}

async fn execute(state: &HttpState, headers: &HeaderMap, batch: BatchRequest) -> Response {
    let auth = access::resolve(&state.app, authenticate(state, headers)).await;
    execute_as(state, headers, batch, auth).await
}

/// Runs a batch as `auth` (already resolved against the database).
async fn execute_as(
    state: &HttpState,
    headers: &HeaderMap,
    batch: BatchRequest,
    auth: Auth,
) -> Response {
    if batch.iter().any(lacks_query) {
        return request_error(
            StatusCode::BAD_REQUEST,
            code::BAD_REQUEST,
            "the request has no `query` (nor a `persistedQuery` extension)",
        );
    }
    let response = state.executor.execute_batch(batch.data(auth)).await;
    let outcome = if response.is_ok() { "ok" } else { "error" };
    state
        .app
        .metrics
        .graphql_operations
        .get_or_create(&OperationLabels {
            kind: "http",
            outcome,
        })
        .inc();
    respond(&response, headers)
}

/// Serialises a response with the negotiated media type and status.
fn respond(response: &BatchResponse, headers: &HeaderMap) -> Response {
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let graphql_response = accept.contains(GRAPHQL_RESPONSE_JSON);
    let status = match response {
        BatchResponse::Single(single) if graphql_response && is_request_error(single) => {
            StatusCode::BAD_REQUEST
        }
        _ => StatusCode::OK,
    };
    let body = match response {
        BatchResponse::Single(single) => serde_json::to_vec(&Written(single)),
        BatchResponse::Batch(all) => {
            serde_json::to_vec(&all.iter().map(Written).collect::<Vec<_>>())
        }
    };
    let body = match body {
        Ok(body) => body,
        Err(err) => {
            tracing::error!(error = %err, "response serialisation failed");
            return request_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                code::INTERNAL_SERVER_ERROR,
                "Internal server error",
            );
        }
    };
    let content_type = if graphql_response {
        GRAPHQL_RESPONSE_JSON
    } else {
        "application/json"
    };
    let mut out = (status, body).into_response();
    out.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    out.headers_mut().extend(response.http_headers());
    out
}

/// A response that never executed: parse or validation failed, so there is no `data`.
fn is_request_error(response: &async_graphql::Response) -> bool {
    response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|err| err.path.is_empty())
}

/// One response as written: async-graphql's own serialisation, except that a request error
/// has no `data` entry rather than `data: null` (GraphQL spec, "Response": when execution never
/// started, `data` is absent; GraphQL over HTTP, "application/graphql-response+json").
struct Written<'a>(&'a async_graphql::Response);

impl serde::Serialize for Written<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;

        let response = self.0;
        if !is_request_error(response) {
            return response.serialize(serializer);
        }
        let mut map = serializer.serialize_map(None)?;
        if !response.extensions.is_empty() {
            map.serialize_entry("extensions", &response.extensions)?;
        }
        map.serialize_entry("errors", &response.errors)?;
        map.end()
    }
}

/// A request without a document to run: no `query` (serde's default is the empty string) and
/// no persisted-query hash standing in for it. Not a well-formed GraphQL-over-HTTP request,
/// so it is a 400 whatever the `Accept` header, like a `query` that is not a string.
fn lacks_query(request: &Request) -> bool {
    request.query.is_empty() && !request.extensions.contains_key("persistedQuery")
}
