//! Thin resolvers for contacts.

use async_graphql::{Context, ID, Object, Subscription};
use futures_util::Stream;
use sea_orm::{ColumnTrait, Condition};
use tokio::sync::broadcast::error::RecvError;

use super::{
    filter::{self, ContactFilterCondition},
    merge, repo,
    types::{
        Contact, ContactConnection, ContactEvent, ContactInbox, ContactSort, CreateContactInput,
        UpdateContactInput,
    },
    write,
};
use crate::{
    attributes::repo as attributes,
    auth::guard::RoleGuard,
    context::ContextExt,
    error::{AppError, AppResult},
    events::{ContactChange, Event, EventPayload},
    ids::parse_id,
    loaders::ContactById,
    state::AppState,
};

/// Contact queries.
#[derive(Default)]
pub struct ContactQuery;

#[Object]
impl ContactQuery {
    /// One contact (resolved or not); null when absent or in another account.
    #[graphql(guard = "RoleGuard::Member")]
    async fn contact(&self, ctx: &Context<'_>, id: ID) -> AppResult<Option<Contact>> {
        let viewer = ctx.member()?;
        let id = parse_id("id", &id)?;
        Ok(repo::find(ctx.db()?, viewer.account_id, id)
            .await?
            .map(Contact))
    }

    /// Resolved contacts (with an email, phone number or identifier), optionally those having
    /// any of `labels`. Default order: most recently active first.
    #[graphql(guard = "RoleGuard::Member")]
    #[allow(clippy::too_many_arguments)]
    async fn contacts(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        sort: Option<ContactSort>,
        labels: Option<Vec<String>>,
    ) -> AppResult<ContactConnection> {
        let viewer = ctx.member()?;
        let state = ctx.shared_state()?;
        let labels = labels.unwrap_or_default();
        // Each label is a bound parameter: unbounded, a list could exceed the database's
        // parameter limit (an internal error) or make a slow statement.
        state.config.limits.list("labels", &labels)?;
        let mut condition = repo::resolved();
        if !labels.is_empty() {
            condition = Condition::all()
                .add(condition)
                .add(repo::any_label(&labels));
        }
        Ok(repo::page(
            state,
            viewer.account_id,
            condition,
            sort,
            first,
            after,
            last,
            before,
        )
        .await?
        .into())
    }

    /// Resolved contacts whose name, email, phone number or company contains `query` (ignoring
    /// case), or whose identifier contains it (exactly).
    #[graphql(guard = "RoleGuard::Member")]
    async fn search_contacts(
        &self,
        ctx: &Context<'_>,
        query: String,
        first: Option<i32>,
        after: Option<String>,
        sort: Option<ContactSort>,
    ) -> AppResult<ContactConnection> {
        let viewer = ctx.member()?;
        let state = ctx.shared_state()?;
        let search = repo::search(&query, state.db.get_database_backend())?;
        let condition = Condition::all().add(repo::resolved()).add(search);
        Ok(repo::page(
            state,
            viewer.account_id,
            condition,
            sort,
            first,
            after,
            None,
            None,
        )
        .await?
        .into())
    }

    /// Resolved contacts matching a segment filter (Chatwoot's contacts filter).
    #[graphql(guard = "RoleGuard::Member")]
    async fn filter_contacts(
        &self,
        ctx: &Context<'_>,
        filter: Vec<ContactFilterCondition>,
        first: Option<i32>,
        after: Option<String>,
        sort: Option<ContactSort>,
    ) -> AppResult<ContactConnection> {
        let viewer = ctx.member()?;
        let state = ctx.shared_state()?;
        let condition = filter_condition(&state, viewer.account_id, &filter).await?;
        Ok(repo::page(
            state,
            viewer.account_id,
            condition,
            sort,
            first,
            after,
            None,
            None,
        )
        .await?
        .into())
    }

    /// Contacts online now (resolved or not).
    #[graphql(guard = "RoleGuard::Member")]
    async fn active_contacts(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        sort: Option<ContactSort>,
    ) -> AppResult<ContactConnection> {
        let viewer = ctx.member()?;
        let state = ctx.shared_state()?;
        let online = crate::presence::online_contacts(&state, viewer.account_id).await?;
        let condition = Condition::all().add(entity::contact::Column::Id.is_in(online));
        Ok(repo::page(
            state,
            viewer.account_id,
            condition,
            sort,
            first,
            after,
            None,
            None,
        )
        .await?
        .into())
    }
}

/// The resolved contacts matching a filter, as a condition.
pub async fn filter_condition(
    state: &AppState,
    account_id: i64,
    conditions: &[ContactFilterCondition],
) -> Result<Condition, AppError> {
    let definitions = attributes::definitions(
        &state.db,
        account_id,
        Some(entity::enums::AttributeModel::ContactAttribute),
    )
    .await?;
    let backend = state.db.get_database_backend();
    let today = chrono::Utc::now().date_naive();
    let mut condition = Condition::all().add(repo::resolved());
    let limits = &state.config.limits;
    if let Some(filter) = filter::build(conditions, &definitions, backend, today, limits)? {
        condition = condition.add(filter);
    }
    Ok(condition)
}

async fn publish(state: &AppState, account_id: i64, kind: ContactChange, contact_id: i64) {
    let payload = EventPayload::ContactChanged { kind, contact_id };
    state
        .bus
        .publish(Event {
            account_id,
            payload,
        })
        .await;
}

/// Contact mutations.
#[derive(Default)]
pub struct ContactMutation;

#[Object]
impl ContactMutation {
    /// Creates a contact, optionally registered in an inbox.
    #[graphql(guard = "RoleGuard::Member")]
    async fn create_contact(
        &self,
        ctx: &Context<'_>,
        input: CreateContactInput,
    ) -> AppResult<Contact> {
        let viewer = ctx.member()?;
        let state = ctx.state()?;
        let limits = &state.config.limits;
        let contact = write::create(&state.db, viewer.account_id, input, limits).await?;
        tracing::info!(
            contact_id = contact.id,
            account_id = viewer.account_id,
            "contact created"
        );
        publish(state, viewer.account_id, ContactChange::Created, contact.id).await;
        Ok(Contact(contact))
    }

    /// Changes a contact; attribute objects are merged per key.
    #[graphql(guard = "RoleGuard::Member")]
    async fn update_contact(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdateContactInput,
    ) -> AppResult<Contact> {
        let viewer = ctx.member()?;
        let state = ctx.state()?;
        let id = parse_id("id", &id)?;
        let limits = &state.config.limits;
        let contact = write::update(&state.db, viewer.account_id, id, input, limits).await?;
        publish(state, viewer.account_id, ContactChange::Updated, contact.id).await;
        Ok(Contact(contact))
    }

    /// Deletes a contact with its conversations, messages, notes, contact inboxes and labels
    /// (administrators; refused while the contact is online). Returns its id.
    #[graphql(guard = "RoleGuard::Administrator")]
    async fn delete_contact(&self, ctx: &Context<'_>, id: ID) -> AppResult<ID> {
        let viewer = ctx.admin()?;
        let state = ctx.state()?;
        let contact_id = parse_id("id", &id)?;
        repo::get(&state.db, viewer.account_id, contact_id).await?;
        if crate::presence::contact_online(state, viewer.account_id, contact_id).await? {
            return Err(AppError::conflict(
                "id",
                "the contact is online; try again when they have left",
            ));
        }
        write::delete(&state.db, viewer.account_id, contact_id).await?;
        tracing::info!(
            contact_id,
            account_id = viewer.account_id,
            "contact deleted"
        );
        publish(state, viewer.account_id, ContactChange::Deleted, contact_id).await;
        Ok(id)
    }

    /// Removes keys from a contact's custom attributes.
    #[graphql(guard = "RoleGuard::Member")]
    async fn delete_contact_custom_attributes(
        &self,
        ctx: &Context<'_>,
        id: ID,
        keys: Vec<String>,
    ) -> AppResult<Contact> {
        let viewer = ctx.member()?;
        let state = ctx.state()?;
        let contact = write::delete_custom_attributes(
            &state.db,
            viewer.account_id,
            parse_id("id", &id)?,
            &keys,
            &state.config.limits,
        )
        .await?;
        publish(state, viewer.account_id, ContactChange::Updated, contact.id).await;
        Ok(Contact(contact))
    }

    /// Removes a contact's avatar.
    #[graphql(guard = "RoleGuard::Member")]
    async fn delete_contact_avatar(&self, ctx: &Context<'_>, id: ID) -> AppResult<Contact> {
        let viewer = ctx.member()?;
        let state = ctx.state()?;
        let contact =
            write::delete_avatar(&state.db, viewer.account_id, parse_id("id", &id)?).await?;
        publish(state, viewer.account_id, ContactChange::Updated, contact.id).await;
        Ok(Contact(contact))
    }

    /// Replaces a contact's labels (names are lower-cased; they need not be in the catalogue).
    #[graphql(guard = "RoleGuard::Member")]
    async fn set_contact_labels(
        &self,
        ctx: &Context<'_>,
        id: ID,
        labels: Vec<String>,
    ) -> AppResult<Contact> {
        labels_mutation(ctx, &id, &labels, true).await
    }

    /// Adds labels to a contact.
    #[graphql(guard = "RoleGuard::Member")]
    async fn add_contact_labels(
        &self,
        ctx: &Context<'_>,
        id: ID,
        labels: Vec<String>,
    ) -> AppResult<Contact> {
        labels_mutation(ctx, &id, &labels, false).await
    }

    /// Registers a contact in an inbox (a source id is generated when omitted).
    #[graphql(guard = "RoleGuard::Member")]
    async fn create_contact_inbox(
        &self,
        ctx: &Context<'_>,
        contact_id: ID,
        inbox_id: ID,
        source_id: Option<String>,
    ) -> AppResult<ContactInbox> {
        let viewer = ctx.member()?;
        let db = ctx.db()?;
        let contact = repo::get(db, viewer.account_id, parse_id("contactId", &contact_id)?).await?;
        let inbox = write::inbox_of(db, viewer.account_id, parse_id("inboxId", &inbox_id)?).await?;
        let source_id = crate::validate::optional_string("sourceId", source_id.as_deref())?;
        Ok(ContactInbox(
            write::insert_contact_inbox(db, contact.id, inbox.id, source_id).await?,
            inbox,
        ))
    }

    /// Merges one contact into another: the base keeps its own name, email, phone number and
    /// identifier where it has them and takes the mergee's where it has none, deep-merges the
    /// attribute objects (the base's values winning), and gains the mergee's labels,
    /// conversations, messages, notes and contact inboxes; the mergee is deleted. All or nothing.
    /// Merging a contact with itself returns it unchanged.
    #[graphql(guard = "RoleGuard::Member")]
    async fn merge_contacts(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The contact that survives.")] base_contact_id: ID,
        #[graphql(desc = "The contact merged into the base and deleted.")] mergee_contact_id: ID,
    ) -> AppResult<Contact> {
        let viewer = ctx.member()?;
        let state = ctx.state()?;
        let base_id = parse_id("baseContactId", &base_contact_id)?;
        let mergee_id = parse_id("mergeeContactId", &mergee_contact_id)?;
        let merged = merge::merge(&state.db, viewer.account_id, base_id, mergee_id).await?;
        if let Some(mergee_id) = merged.mergee_id {
            tracing::info!(
                contact_id = merged.base.id,
                mergee_id,
                account_id = viewer.account_id,
                "contacts merged"
            );
        }
        for payload in merged.events() {
            crate::conversations::publish(state, viewer.account_id, payload).await;
        }
        Ok(Contact(merged.base))
    }
}

async fn labels_mutation(
    ctx: &Context<'_>,
    id: &ID,
    labels: &[String],
    replace: bool,
) -> AppResult<Contact> {
    let viewer = ctx.member()?;
    let state = ctx.state()?;
    let contact = write::set_labels(
        &state.db,
        viewer.account_id,
        parse_id("id", id)?,
        labels,
        replace,
        &state.config.limits,
    )
    .await?;
    publish(state, viewer.account_id, ContactChange::Updated, contact.id).await;
    Ok(Contact(contact))
}

/// Contact subscriptions.
#[derive(Default)]
pub struct ContactSubscription;

#[Subscription]
impl ContactSubscription {
    /// Contacts of the account created, updated, merged or deleted (agents only).
    #[graphql(guard = "RoleGuard::Member")]
    async fn contact_changed(
        &self,
        ctx: &Context<'_>,
    ) -> Result<impl Stream<Item = ContactEvent>, AppError> {
        let viewer = ctx.member()?;
        let state = ctx.shared_state()?;
        let mut events = state.bus.subscribe();
        Ok(async_stream::stream! {
            loop {
                let event = match events.recv().await {
                    Ok(event) => event,
                    Err(RecvError::Lagged(skipped)) => {
                        tracing::warn!(skipped, "contact subscriber lagged");
                        continue;
                    }
                    Err(RecvError::Closed) => break,
                };
                let EventPayload::ContactChanged { kind, contact_id } = event.payload else { continue };
                if event.account_id != viewer.account_id {
                    continue;
                }
                let contact = match kind {
                    ContactChange::Deleted => None,
                    // The shared loader batches the loads of every subscriber receiving this event.
                    _ => state
                        .loader
                        .load_one(ContactById { account_id: viewer.account_id, id: contact_id })
                        .await
                        .ok()
                        .flatten(),
                };
                yield ContactEvent { kind: kind.into(), contact_id: contact_id.into(), contact };
            }
        })
    }
}
