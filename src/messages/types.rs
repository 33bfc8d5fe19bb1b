//! GraphQL types of messages, their senders and typing indicators.

use async_graphql::{Context, Enum, ID, InputObject, Object, Union};
use chrono::{DateTime, Utc};
use entity::{enums::SenderType, message};

use crate::{
    auth::types::User,
    contacts::types::Contact,
    context::ContextExt,
    conversations::types::Conversation,
    error::{AppError, AppResult},
    events::{self, Event, EventPayload},
    loaders::{ContactById, ConversationById, load_error},
};

/// What kind of message it is.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "entity::enums::MessageType")]
pub enum MessageType {
    /// From the contact to the team.
    Incoming,
    /// From the team to the contact.
    Outgoing,
    /// Recorded by the system (status changes, assignments, …); never shown to the contact.
    Activity,
    /// A pre-approved template sent by the team.
    Template,
}

crate::connection!(MessageConnection, MessageEdge, Message);

/// One message of a conversation.
#[derive(Clone, Debug)]
pub struct Message(pub message::Model);

/// One message of a conversation.
#[Object]
impl Message {
    /// The message's id.
    async fn id(&self) -> ID {
        self.0.id.into()
    }
    /// The text (absent for some activity messages).
    async fn content(&self) -> Option<&str> {
        self.0.content.as_deref()
    }
    /// Incoming, outgoing, activity or template.
    async fn message_type(&self) -> MessageType {
        self.0.message_type.into()
    }
    /// A private note: visible to the team only, never to the contact.
    async fn private(&self) -> bool {
        self.0.private
    }
    /// The id of the conversation the message belongs to.
    async fn conversation_id(&self) -> ID {
        self.0.conversation_id.into()
    }
    /// The conversation the message belongs to.
    async fn conversation(&self, ctx: &Context<'_>) -> AppResult<Conversation> {
        let conversation = ctx
            .loader()?
            .load_one(ConversationById {
                account_id: self.0.account_id,
                id: self.0.conversation_id,
            })
            .await
            .map_err(load_error)?;
        Ok(Conversation(
            conversation.ok_or(AppError::NotFound("conversation"))?,
        ))
    }
    /// Who sent it: a member or the contact. Null for system messages and for members who have
    /// left the account.
    async fn sender(&self, ctx: &Context<'_>) -> AppResult<Option<Sender>> {
        let Some(sender) = sender_of(&self.0) else {
            return Ok(None);
        };
        Ok(Sender::load(ctx, self.0.account_id, sender).await?)
    }
    /// When the message was sent.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// When the message was last edited.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

/// The sender a message row records, if any.
pub fn sender_of(message: &message::Model) -> Option<events::Sender> {
    let id = message.sender_id?;
    Some(match message.sender_type? {
        SenderType::User => events::Sender::User(id),
        SenderType::Contact => events::Sender::Contact(id),
    })
}

/// Who sent a message or is typing: a member of the account or the contact.
#[derive(Union, Clone, Debug)]
pub enum Sender {
    /// A member of the account.
    User(User),
    /// The conversation's contact.
    Contact(Contact),
}

impl Sender {
    /// Loads the sender an event or a message names, within the account (null when the member
    /// has left the account or the contact is gone).
    pub async fn load(
        ctx: &Context<'_>,
        account_id: i64,
        sender: events::Sender,
    ) -> Result<Option<Self>, AppError> {
        let loader = ctx.loader()?;
        Ok(match sender {
            events::Sender::User(user_id) => User::load_member(ctx, account_id, user_id)
                .await?
                .map(Self::User),
            events::Sender::Contact(contact_id) => loader
                .load_one(ContactById {
                    account_id,
                    id: contact_id,
                })
                .await
                .map_err(load_error)?
                .filter(|contact| contact.account_id == account_id)
                .map(|contact| Self::Contact(Contact(contact))),
        })
    }
}

/// Someone started or stopped typing in a conversation.
#[derive(Clone, Debug)]
pub struct TypingEvent {
    pub account_id: i64,
    pub conversation_id: i64,
    pub typing: bool,
    pub private: bool,
    pub sender: events::Sender,
}

impl TypingEvent {
    /// The typing indicator an event carries, if it is one.
    pub fn from_event(event: &Event) -> Option<Self> {
        match &event.payload {
            EventPayload::Typing {
                conversation_id,
                typing,
                private,
                sender,
                ..
            } => Some(Self {
                account_id: event.account_id,
                conversation_id: *conversation_id,
                typing: *typing,
                private: *private,
                sender: *sender,
            }),
            _ => None,
        }
    }
}

/// Someone started or stopped typing in a conversation.
#[Object]
impl TypingEvent {
    /// The conversation being typed in.
    async fn conversation_id(&self) -> ID {
        self.conversation_id.into()
    }
    /// True when typing started, false when it stopped.
    async fn typing(&self) -> bool {
        self.typing
    }
    /// A private note is being typed (never shown to the contact).
    async fn private(&self) -> bool {
        self.private
    }
    /// Who is typing.
    async fn sender(&self, ctx: &Context<'_>) -> AppResult<Option<Sender>> {
        Ok(Sender::load(ctx, self.account_id, self.sender).await?)
    }
}

/// A new message in a conversation.
#[derive(InputObject, Debug)]
pub struct CreateMessageInput {
    /// The conversation to post in.
    pub conversation_id: ID,
    /// The text (required, at most 150 000 characters).
    pub content: String,
    /// The kind of message; a contact token may post only INCOMING.
    #[graphql(default_with = "MessageType::Outgoing")]
    pub message_type: MessageType,
    /// A private note for the team (members only).
    #[graphql(default)]
    pub private: bool,
}
