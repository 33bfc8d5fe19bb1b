//! GraphQL types of conversations.

use async_graphql::{Context, Enum, ID, InputObject, Object};
use chrono::{DateTime, Utc};
use entity::conversation;

use crate::{
    auth::{guard::RoleGuard, types::User, viewer::Viewer},
    contacts::types::{Contact, ContactInbox},
    context::ContextExt,
    error::{AppError, AppResult},
    inboxes::types::Inbox,
    loaders::{ContactInboxById, InboxById, LabelsOfConversation, load_error},
    messages::{
        repo::{self as messages, MessageScope},
        types::MessageConnection,
    },
    pagination::PageArgs,
};

/// Where a conversation stands.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "entity::enums::ConversationStatus")]
pub enum ConversationStatus {
    /// Waiting for the team.
    Open,
    /// Done.
    Resolved,
    /// Waiting on something before the team acts (e.g. a bot).
    Pending,
    /// Put aside until later.
    Snoozed,
}

crate::connection!(ConversationConnection, ConversationEdge, Conversation);

/// A thread of messages with a contact in one inbox.
#[derive(Clone, Debug)]
pub struct Conversation(pub conversation::Model);

/// A thread of messages with a contact in one inbox.
#[Object]
impl Conversation {
    /// The conversation's id.
    async fn id(&self) -> ID {
        self.0.id.into()
    }
    /// The number shown to people, sequential per account.
    async fn display_id(&self) -> i64 {
        self.0.display_id
    }
    /// Where the conversation stands.
    async fn status(&self) -> ConversationStatus {
        self.0.status.into()
    }
    /// The inbox it arrived through.
    async fn inbox(&self, ctx: &Context<'_>) -> AppResult<Inbox> {
        let inbox = ctx
            .loader()?
            .load_one(InboxById {
                account_id: self.0.account_id,
                id: self.0.inbox_id,
            })
            .await
            .map_err(load_error)?;
        Ok(inbox.ok_or(AppError::NotFound("inbox"))?.into())
    }
    /// The contact.
    async fn contact(&self, ctx: &Context<'_>) -> AppResult<Contact> {
        Contact::load(ctx, self.0.account_id, self.0.contact_id).await
    }
    /// The contact's identity in the inbox.
    async fn contact_inbox(&self, ctx: &Context<'_>) -> AppResult<Option<ContactInbox>> {
        let Some(id) = self.0.contact_inbox_id else {
            return Ok(None);
        };
        let row = ctx
            .loader()?
            .load_one(ContactInboxById {
                account_id: self.0.account_id,
                id,
            })
            .await
            .map_err(load_error)?;
        Ok(row.map(|(row, inbox)| ContactInbox(row, inbox)))
    }
    /// The member the conversation is assigned to.
    async fn assignee(&self, ctx: &Context<'_>) -> AppResult<Option<User>> {
        let Some(user_id) = self.0.assignee_id else {
            return Ok(None);
        };
        User::load_member(ctx, self.0.account_id, user_id).await
    }
    /// Label names, sorted (members only).
    #[graphql(guard = "RoleGuard::Member")]
    async fn labels(&self, ctx: &Context<'_>) -> AppResult<Vec<String>> {
        let labels = ctx
            .loader()?
            .load_one(LabelsOfConversation {
                account_id: self.0.account_id,
                id: self.0.id,
            })
            .await
            .map_err(load_error)?;
        Ok(labels.unwrap_or_default())
    }
    /// When the conversation last saw activity.
    async fn last_activity_at(&self) -> DateTime<Utc> {
        self.0.last_activity_at
    }
    /// When the conversation was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// When the conversation was last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
    /// The messages in the order they were sent (newest last): `first` pages from the oldest,
    /// `last` from the newest. A contact sees no private notes and no activity messages.
    async fn messages(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size, reading forwards from the oldest (default 15, at most 100).")]
        first: Option<i32>,
        #[graphql(desc = "Start after this cursor.")] after: Option<String>,
        #[graphql(desc = "Page size, reading backwards from the newest (at most 100).")]
        last: Option<i32>,
        #[graphql(desc = "End before this cursor.")] before: Option<String>,
    ) -> AppResult<MessageConnection> {
        let scope = MessageScope {
            account_id: self.0.account_id,
            conversation_id: self.0.id,
            contact_view: !matches!(ctx.viewer(), Ok(Viewer::User(_))),
        };
        let args = PageArgs {
            first,
            after,
            last,
            before,
        };
        let page = messages::page(ctx.db()?.clone(), scope, args);
        Ok(page.await?.into())
    }
}

/// A new conversation with a contact in an inbox.
#[derive(InputObject, Debug)]
pub struct CreateConversationInput {
    /// The contact to talk to.
    pub contact_id: ID,
    /// The inbox to talk through.
    pub inbox_id: ID,
    /// The contact's id in the inbox: selects the contact inbox with this source id, creating it
    /// when missing. When omitted, the contact's existing contact inbox in the inbox is used (or
    /// one is created with a generated source id).
    pub source_id: Option<String>,
    /// The starting status (ignored for a blocked contact, whose conversation starts RESOLVED).
    #[graphql(default_with = "ConversationStatus::Open")]
    pub status: ConversationStatus,
    /// The member to assign the conversation to.
    pub assignee_id: Option<ID>,
    /// The text of a first message, sent by the viewer as an OUTGOING message.
    pub message: Option<String>,
}
