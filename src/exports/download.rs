//! `GET /exports/contacts.csv?spec=…`: the download, streamed a chunk of contacts at a time
//! (the handler is `http/download.rs`).
//!
//! The response is never built whole: contacts are read in id order, [`CHUNK_SIZE`] per query
//! (keyset on the id, so every query is an index range scan however deep the export is), and
//! each chunk is written as CSV and sent before the next is read. Memory stays at one chunk
//! whatever the size of the account.
//!
//! Errors before the first byte are JSON, like GraphQL request errors: 401 UNAUTHENTICATED
//! (no or a bad token), 403 FORBIDDEN (not an administrator), 404 NOT_FOUND (another
//! account's export, which does not exist for this viewer), 400 BAD_USER_INPUT (a malformed spec, or columns or a filter no longer valid — a custom
//! attribute definition may have gone since the export was made). An error after the first
//! byte (the database failing, the server shutting down) aborts the response, so a client
//! sees a failed download rather than a silently truncated file.
//!
//! Rows are read as they are when each chunk is read, not as one snapshot: a contact changed
//! during a long download shows its state at that moment, and the download may hold a few more
//! or fewer rows than the `rowCount` the mutation reported.

use std::{collections::HashMap, io, sync::Arc};

use axum::body::Bytes;
use entity::{contact, contact_label};
use futures_util::Stream;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::{
    columns::Column,
    spec::{Prepared, Spec},
};
use crate::{
    error::{AppError, AppResult},
    state::AppState,
};

/// Contacts read per query.
pub const CHUNK_SIZE: u64 = 1000;

/// One page of contacts with their labels (when the export has a `labels` column).
struct Chunk {
    contacts: Vec<contact::Model>,
    labels: HashMap<i64, Vec<String>>,
}

/// The CSV of the export `encoded` (the URL's `spec`, if any) for an administrator of
/// `account_id`. Everything that can fail before the first byte fails here, so the handler
/// answers it with a proper status; later failures abort the stream.
pub async fn start(
    state: &Arc<AppState>,
    account_id: i64,
    user_id: i64,
    encoded: Option<&str>,
) -> AppResult<impl Stream<Item = Result<Bytes, io::Error>> + Send + 'static + use<>> {
    let Some(encoded) = encoded else {
        return Err(AppError::bad_input(
            "spec",
            "the URL has no `spec`: use the url `exportContacts` returned",
        ));
    };
    let spec = Spec::decode(encoded)?;
    // The token is the authority on whose data may be read; the spec only names it. Another
    // account's export does not exist for this viewer (NOT_FOUND, as every record of another
    // account: FORBIDDEN would confirm it exists).
    if spec.account != account_id {
        return Err(AppError::NotFound("export"));
    }
    let prepared = spec.prepare(&state.db, &state.config.limits).await?;
    // Reading the first chunk before answering turns a failing database into a proper 500.
    let first = fetch(&state.db, &prepared, 0).await?;
    tracing::info!(
        account_id,
        user_id,
        export_id = %Spec::id(encoded),
        "contact export started"
    );
    Ok(rows(state.clone(), prepared, first))
}

/// The CSV: the header row with the first chunk, then one body frame per chunk.
fn rows(
    state: Arc<AppState>,
    prepared: Prepared,
    first: Chunk,
) -> impl Stream<Item = Result<Bytes, io::Error>> + Send + 'static {
    async_stream::try_stream! {
        let mut chunk = first;
        let mut header = true;
        loop {
            // A writer per chunk: `csv::Writer` only hands its buffer back by value.
            let mut writer = csv::Writer::from_writer(Vec::new());
            if std::mem::take(&mut header) {
                writer.write_record(prepared.columns.iter().map(Column::name))?;
            }
            let no_labels = Vec::new();
            for contact in &chunk.contacts {
                let labels = chunk.labels.get(&contact.id).unwrap_or(&no_labels);
                let cells: Vec<_> = prepared
                    .columns
                    .iter()
                    .map(|column| column.cell(contact, labels))
                    .collect();
                writer.write_record(cells.iter().map(|cell| cell.as_bytes()))?;
            }
            let bytes = writer.into_inner().map_err(|err| err.into_error())?;
            if !bytes.is_empty() {
                yield Bytes::from(bytes);
            }
            let last = match chunk.contacts.last() {
                Some(last) if chunk.contacts.len() as u64 == CHUNK_SIZE => last.id,
                _ => break,
            };
            if state.shutdown.is_cancelled() {
                tracing::warn!("contact export aborted: the server is shutting down");
                Err(io::Error::other("the server is shutting down"))?;
            }
            chunk = fetch(&state.db, &prepared, last).await.map_err(|err| {
                tracing::error!(error = ?err, "contact export failed");
                io::Error::other("the export failed")
            })?;
        }
    }
}

/// The next [`CHUNK_SIZE`] matching contacts with an id above `after`, in id order.
async fn fetch(db: &impl ConnectionTrait, prepared: &Prepared, after: i64) -> AppResult<Chunk> {
    let contacts = contact::Entity::find()
        .filter(prepared.condition.clone())
        .filter(contact::Column::Id.gt(after))
        .order_by_asc(contact::Column::Id)
        .limit(CHUNK_SIZE)
        .all(db)
        .await?;
    let mut labels: HashMap<i64, Vec<String>> = HashMap::new();
    if prepared.columns.contains(&Column::Labels) && !contacts.is_empty() {
        let ids = contacts.iter().map(|c| c.id);
        let rows = contact_label::Entity::find()
            .filter(contact_label::Column::ContactId.is_in(ids))
            .order_by_asc(contact_label::Column::Name)
            .all(db)
            .await?;
        for row in rows {
            labels.entry(row.contact_id).or_default().push(row.name);
        }
    }
    Ok(Chunk { contacts, labels })
}
