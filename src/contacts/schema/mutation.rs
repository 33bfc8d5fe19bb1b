//! Contact mutations. Each publishes its contact event after its transaction commits.

use async_graphql::{Context, ID, Object};

use crate::{
    auth::guard::RoleGuard,
    contacts::{
        labels, merge, repo,
        types::{Contact, ContactInbox, CreateContactInput, UpdateContactInput},
        write,
    },
    context::ContextExt,
    error::{AppError, AppResult},
    events::{ContactChange, EventPayload},
    ids::parse_id,
    state::AppState,
};

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
        contact_changed(state, viewer.account_id, ContactChange::Created, contact.id).await;
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
        contact_changed(state, viewer.account_id, ContactChange::Updated, contact.id).await;
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
        contact_changed(state, viewer.account_id, ContactChange::Deleted, contact_id).await;
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
        contact_changed(state, viewer.account_id, ContactChange::Updated, contact.id).await;
        Ok(Contact(contact))
    }

    /// Removes a contact's avatar.
    #[graphql(guard = "RoleGuard::Member")]
    async fn delete_contact_avatar(&self, ctx: &Context<'_>, id: ID) -> AppResult<Contact> {
        let viewer = ctx.member()?;
        let state = ctx.state()?;
        let contact =
            write::delete_avatar(&state.db, viewer.account_id, parse_id("id", &id)?).await?;
        contact_changed(state, viewer.account_id, ContactChange::Updated, contact.id).await;
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
            state.bus.publish_to(viewer.account_id, payload).await;
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
    let contact = labels::set_labels(
        &state.db,
        viewer.account_id,
        parse_id("id", id)?,
        labels,
        replace,
        &state.config.limits,
    )
    .await?;
    contact_changed(state, viewer.account_id, ContactChange::Updated, contact.id).await;
    Ok(Contact(contact))
}

async fn contact_changed(state: &AppState, account_id: i64, kind: ContactChange, contact_id: i64) {
    let payload = EventPayload::ContactChanged { kind, contact_id };
    state.bus.publish_to(account_id, payload).await;
}
