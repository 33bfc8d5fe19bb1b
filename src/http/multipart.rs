//! The GraphQL multipart request (uploads), read with bounds of our own.
//!
//! async-graphql's reader bounds every part, `operations` and `map` included, by the file size
//! limit, and buffers both before anything else is known; so this module drives `multer`
//! itself: `operations` and `map` are bounded by `MAX_BODY_BYTES`, the file by
//! `MAX_UPLOAD_BYTES`, and the file goes to an unlinked temporary file chunk by chunk, never
//! whole into memory. The caller authenticates before calling [`read`], so a stranger's body
//! is never read at all.

use std::{collections::HashMap, io::Seek};

use async_graphql::{BatchRequest, UploadValue};
use axum::body::Body;
use multer::{Constraints, Multipart, SizeLimit};
use tokio::io::AsyncWriteExt;

/// The form field carrying the GraphQL request(s).
const OPERATIONS: &str = "operations";
/// The form field mapping file fields to variable paths.
const MAP: &str = "map";

/// The bounds of one multipart request.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest `operations` or `map` field (`MAX_BODY_BYTES`).
    pub fields: usize,
    /// Largest file (`MAX_UPLOAD_BYTES`).
    pub file: usize,
    /// Most files.
    pub files: usize,
}

/// Why a multipart request was not read.
#[derive(Debug)]
pub enum Refusal {
    /// A part (or the whole) is larger than its limit: 413.
    TooLarge(String),
    /// Not a well-formed GraphQL multipart request: 400.
    Malformed(String),
    /// The server could not keep the file: 500.
    Io(std::io::Error),
}

impl From<multer::Error> for Refusal {
    fn from(err: multer::Error) -> Self {
        match err {
            multer::Error::FieldSizeExceeded { limit, field_name } => Self::TooLarge(format!(
                "the `{}` part is larger than {limit} bytes",
                field_name.as_deref().unwrap_or("unnamed")
            )),
            multer::Error::StreamSizeExceeded { limit } => {
                Self::TooLarge(format!("the request is larger than {limit} bytes"))
            }
            other => Self::Malformed(other.to_string()),
        }
    }
}

impl From<std::io::Error> for Refusal {
    fn from(err: std::io::Error) -> Self {
        Self::Io(err)
    }
}

/// Reads a multipart body (`content_type` carries its boundary): the GraphQL request(s) with
/// their uploads set. `operations` and `map` must come before the files, as the multipart
/// request spec orders them, so that a file is checked against `map` before it is read.
pub async fn read(content_type: &str, body: Body, limits: Limits) -> Result<BatchRequest, Refusal> {
    let boundary = multer::parse_boundary(content_type)
        .map_err(|err| Refusal::Malformed(format!("bad multipart content type: {err}")))?;
    let fields = u64::try_from(limits.fields).unwrap_or(u64::MAX);
    let file = u64::try_from(limits.file).unwrap_or(u64::MAX);
    let files = u64::try_from(limits.files).unwrap_or(u64::MAX);
    // The whole body: both fields, the files, and room for part headers and boundaries.
    let whole = fields
        .saturating_mul(2)
        .saturating_add(file.saturating_mul(files))
        .saturating_add(64 * 1024);
    let constraints = Constraints::new().size_limit(
        SizeLimit::new()
            .whole_stream(whole)
            .per_field(file)
            .for_field(OPERATIONS, fields)
            .for_field(MAP, fields),
    );
    let mut multipart = Multipart::with_constraints(body.into_data_stream(), boundary, constraints);

    let mut batch: Option<BatchRequest> = None;
    let mut map: Option<HashMap<String, Vec<String>>> = None;
    let mut count = 0;
    while let Some(field) = multipart.next_field().await? {
        let name = field.name().unwrap_or_default().to_owned();
        if name == OPERATIONS {
            let bytes = field.bytes().await?;
            batch = Some(serde_json::from_slice(&bytes).map_err(|err| {
                Refusal::Malformed(format!("`operations` is not a GraphQL request: {err}"))
            })?);
        } else if name == MAP {
            let bytes = field.bytes().await?;
            map = Some(serde_json::from_slice(&bytes).map_err(|err| {
                Refusal::Malformed(format!("`map` is not a map of files to paths: {err}"))
            })?);
        } else if let Some(filename) = field.file_name().map(str::to_owned) {
            count += 1;
            if count > limits.files {
                return Err(Refusal::Malformed(format!(
                    "at most {} file may be uploaded per request",
                    limits.files
                )));
            }
            let (Some(batch), Some(map)) = (batch.as_mut(), map.as_mut()) else {
                return Err(Refusal::Malformed(
                    "`operations` and `map` must come before the files".into(),
                ));
            };
            let Some(paths) = map.remove(&name) else {
                return Err(Refusal::Malformed(format!(
                    "the file `{name}` is not named in `map`"
                )));
            };
            let upload = UploadValue {
                filename,
                content_type: field.content_type().map(ToString::to_string),
                content: spool(field).await?,
            };
            for path in paths {
                set_upload(batch, &path, upload.try_clone()?);
            }
        } else {
            return Err(Refusal::Malformed(format!(
                "unexpected part `{name}`: expected `operations`, `map`, then files"
            )));
        }
    }
    let batch =
        batch.ok_or_else(|| Refusal::Malformed("the `operations` part is missing".into()))?;
    let map = map.ok_or_else(|| Refusal::Malformed("the `map` part is missing".into()))?;
    if let Some(name) = map.keys().next() {
        return Err(Refusal::Malformed(format!(
            "`map` names the file `{name}`, which the request does not carry"
        )));
    }
    Ok(batch)
}

/// Writes a file part to an unlinked temporary file (removed when the last handle closes).
async fn spool(mut field: multer::Field<'_>) -> Result<std::fs::File, Refusal> {
    let file = tokio::task::spawn_blocking(tempfile::tempfile)
        .await
        .map_err(std::io::Error::other)??;
    let mut file = tokio::fs::File::from_std(file);
    while let Some(chunk) = field.chunk().await? {
        file.write_all(&chunk).await?;
    }
    file.flush().await?;
    let mut file = file.into_std().await;
    file.rewind()?;
    Ok(file)
}

/// Puts an upload at `path` (`variables.…`, or `<index>.variables.…` in a batch).
fn set_upload(batch: &mut BatchRequest, path: &str, upload: UploadValue) {
    match batch {
        BatchRequest::Single(request) => request.set_upload(path, upload),
        BatchRequest::Batch(requests) => {
            if let Some((index, path)) = path.split_once('.')
                && let Some(request) = index
                    .parse::<usize>()
                    .ok()
                    .and_then(|index| requests.get_mut(index))
            {
                request.set_upload(path, upload);
            }
        }
    }
}
