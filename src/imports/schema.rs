//! Thin resolvers for CSV imports.

use std::{io::Seek, time::Duration};

use async_graphql::{Context, ID, Object, Subscription, Upload};
use entity::{data_import, enums::ImportStatus};
use futures_util::{Stream, StreamExt};

use super::{
    files, repo,
    run::Importer,
    types::{DataImport, is_finished},
};
use crate::{
    auth::{guard::RoleGuard, viewer::Viewer},
    context::ContextExt,
    error::{AppError, AppResult},
    events::EventPayload,
    ids::parse_id,
    realtime::gate::{feed, keep},
};

/// How often a progress subscription re-reads the import when no event came: a subscription
/// resumed after the import's last change ends at the next re-read, and an import whose
/// worker died shows the recovery's state.
const REREAD: Duration = Duration::from_secs(5);

/// Import queries.
#[derive(Default)]
pub struct ImportQuery;

#[Object]
impl ImportQuery {
    /// A CSV import of the account (administrators); null when absent or in another account.
    #[graphql(guard = "RoleGuard::Administrator")]
    async fn data_import(&self, ctx: &Context<'_>, id: ID) -> AppResult<Option<DataImport>> {
        let viewer = ctx.admin()?;
        let id = parse_id("id", &id)?;
        Ok(repo::find(ctx.db()?, viewer.account_id, id)
            .await?
            .map(DataImport))
    }
}

/// Import mutations.
#[derive(Default)]
pub struct ImportMutation;

#[Object]
impl ImportMutation {
    /// Imports contacts from a CSV file with a header row (administrators). Returns at once
    /// with the import PENDING; it runs in the background — follow it with `dataImport` or
    /// `dataImportProgress`. Columns: `identifier`, `email`, `phone_number`, `name` (or
    /// `first_name` and `last_name`), `company`/`company_name`, `city`, `country`,
    /// `country_code`; any other column becomes a custom attribute. Rows match existing
    /// contacts by identifier, then email, then phone number, and update them; others create
    /// contacts.
    #[graphql(guard = "RoleGuard::Administrator")]
    async fn import_contacts(&self, ctx: &Context<'_>, file: Upload) -> AppResult<DataImport> {
        let viewer = ctx.admin()?;
        let state = ctx.state()?;
        let upload = file
            .value(ctx)
            .map_err(|_| AppError::bad_input("file", "the uploaded file cannot be read"))?;
        let import = repo::create(
            &state.db,
            viewer.account_id,
            Some(viewer.user_id),
            Some(upload.filename.clone()),
        )
        .await?;
        let importer = Importer::new(state);
        let (dir, id) = (importer.dir.clone(), import.id);
        let mut content = upload.content;
        // The upload is a temporary file: copied (streamed) to the import directory, where the
        // import and a resumption after a restart find it.
        let saved = tokio::task::spawn_blocking(move || {
            content.rewind()?;
            files::save(&dir, id, content)
        })
        .await
        .map_err(std::io::Error::other)
        .flatten();
        let saved = match saved {
            Ok(saved) => saved,
            Err(err) => {
                tracing::error!(import_id = id, error = %err, "storing an uploaded import file failed");
                let reason = "the server could not store the uploaded file; nothing was imported";
                return Ok(DataImport(importer.abandon(import, reason).await));
            }
        };
        tracing::info!(
            import_id = import.id,
            account_id = viewer.account_id,
            user_id = viewer.user_id,
            bytes = saved,
            "contact import accepted"
        );
        importer.spawn(import.clone());
        Ok(DataImport(import))
    }
}

/// How far an import has got, for ordering what a subscriber sees.
fn stage(import: &data_import::Model) -> (u8, i64) {
    let status = match import.status {
        ImportStatus::Pending => 0,
        ImportStatus::Processing => 1,
        ImportStatus::Completed | ImportStatus::Failed => 2,
    };
    (status, import.processed_records)
}

/// Whether `next` is news to a subscriber that last saw `last`: further along, or as far
/// with other counts (the total once checked), never older (a re-read may overtake events).
fn is_news(last: &data_import::Model, next: &data_import::Model) -> bool {
    if is_finished(last) || stage(next) < stage(last) {
        return false;
    }
    next.status != last.status
        || next.total_records != last.total_records
        || next.processed_records != last.processed_records
        || next.failure_reason != last.failure_reason
}

/// Import subscriptions.
#[derive(Default)]
pub struct ImportSubscription;

#[Subscription]
impl ImportSubscription {
    /// The progress of a CSV import (administrators): its current state first, then every
    /// change; the stream ends once the import is COMPLETED or FAILED. Resuming with `after`
    /// replays the changes after it instead of the current state.
    #[graphql(guard = "RoleGuard::Administrator")]
    async fn data_import_progress(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The import.")] id: ID,
        #[graphql(
            desc = "A position received earlier (`extensions.position`): the changes after it come first, in order, then live ones; HISTORY_EXPIRED if they are no longer kept."
        )]
        after: Option<String>,
    ) -> Result<impl Stream<Item = AppResult<DataImport>> + use<>, AppError> {
        let viewer = ctx.admin()?;
        let id = parse_id("id", &id)?;
        let state = ctx.shared_state()?;
        // Listening before reading, so no change falls between the read and the stream.
        let gate = feed(ctx, Viewer::User(viewer), after.as_deref()).await?;
        let reread = move |state: std::sync::Arc<crate::state::AppState>| async move {
            repo::find(&state.db, viewer.account_id, id).await
        };
        let current = reread(state.clone())
            .await?
            .ok_or(AppError::NotFound("data import"))?;
        let resuming = after.is_some();
        let mut changes = Box::pin(keep(gate.into_stream(), move |delivery| {
            match &delivery.event.payload {
                EventPayload::DataImportProgress { data_import } if data_import.id == id => {
                    Some((**data_import).clone())
                }
                _ => None,
            }
        }));
        Ok(async_stream::stream! {
            let mut last = None;
            if !resuming {
                yield Ok(DataImport(current.clone()));
                last = Some(current);
            }
            let mut ticks = tokio::time::interval(REREAD);
            ticks.tick().await;
            while !last.as_ref().is_some_and(is_finished) {
                let next = tokio::select! {
                    change = changes.next() => match change {
                        Some(Ok(import)) => Some(import),
                        Some(Err(err)) => {
                            yield Err(err);
                            break;
                        }
                        None => break,
                    },
                    _ = ticks.tick() => match reread(state.clone()).await {
                        Ok(Some(import)) => Some(import),
                        // Gone with its account.
                        Ok(None) => break,
                        Err(err) => {
                            tracing::warn!(error = ?err, import_id = id, "import progress re-read failed");
                            None
                        }
                    },
                };
                if let Some(next) = next.filter(|next| last.as_ref().is_none_or(|last| is_news(last, next))) {
                    yield Ok(DataImport(next.clone()));
                    last = Some(next);
                }
            }
        })
    }
}
