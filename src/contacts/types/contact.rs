//! The contact object (and its contact inboxes), as clients read it.

use async_graphql::{Context, Enum, ID, Json, Object};
use chrono::{DateTime, Utc};
use entity::{contact, contact_inbox, inbox};
use serde_json::Value;

use crate::{
    auth::guard::RoleGuard,
    context::ContextExt,
    conversations::types::{ConversationConnection, ConversationStatus},
    error::{AppError, AppResult},
    inboxes::types::Inbox,
    loaders::{
        ContactById, ContactInboxesOfContact, InboxesOfAccount, LabelsOfContact, NotesOfContact,
        load_error,
    },
    notes::types::Note,
    pagination::PageArgs,
    presence::types::ContactAvailability,
};

/// What stage of the relationship a contact is in.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "entity::enums::ContactType")]
pub enum ContactType {
    /// An anonymous visitor.
    Visitor,
    /// Someone who left a way to reach them (email, phone or a social profile).
    Lead,
    /// A paying customer.
    Customer,
}

crate::connection!(ContactConnection, ContactEdge, Contact);

/// A person the support team talks to.
#[derive(Clone, Debug)]
pub struct Contact(pub contact::Model);

/// The text of a well-known key of `additional_attributes`, trimmed; `None` when absent or
/// blank (the GraphQL fields and the export columns read them alike).
pub fn additional_text<'a>(attributes: &'a Value, key: &str) -> Option<&'a str> {
    attributes
        .get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

impl Contact {
    /// Contact `id` of the account through the request's loader, or NOT_FOUND: the parent
    /// field of notes, conversations and contact inboxes.
    pub async fn load(ctx: &Context<'_>, account_id: i64, id: i64) -> AppResult<Self> {
        let contact = ctx
            .loader()?
            .load_one(ContactById { account_id, id })
            .await
            .map_err(load_error)?;
        Ok(Self(contact.ok_or(AppError::NotFound("contact"))?))
    }
}

/// A person the support team talks to.
#[Object]
impl Contact {
    /// The contact's id.
    async fn id(&self) -> ID {
        self.0.id.into()
    }
    /// Full name.
    async fn name(&self) -> Option<&str> {
        self.0.name.as_deref()
    }
    /// Middle name.
    async fn middle_name(&self) -> Option<&str> {
        self.0.middle_name.as_deref()
    }
    /// Last name.
    async fn last_name(&self) -> Option<&str> {
        self.0.last_name.as_deref()
    }
    /// Email (lower-cased; unique in the account).
    async fn email(&self) -> Option<&str> {
        self.0.email.as_deref()
    }
    /// Phone number in E.164 (unique in the account).
    async fn phone_number(&self) -> Option<&str> {
        self.0.phone_number.as_deref()
    }
    /// The team's own identifier for the contact (unique in the account).
    async fn identifier(&self) -> Option<&str> {
        self.0.identifier.as_deref()
    }
    /// Whether the contact is blocked (new conversations start resolved).
    async fn blocked(&self) -> bool {
        self.0.blocked
    }
    /// Visitor, lead or customer.
    async fn contact_type(&self) -> ContactType {
        self.0.contact_type.into()
    }
    /// Avatar image URL.
    async fn avatar_url(&self) -> Option<&str> {
        self.0.avatar_url.as_deref()
    }
    /// "City, Country" from the additional attributes.
    async fn location(&self) -> Option<String> {
        let attrs = &self.0.additional_attributes;
        let parts: Vec<&str> = [
            additional_text(attrs, "city"),
            additional_text(attrs, "country"),
        ]
        .into_iter()
        .flatten()
        .collect();
        (!parts.is_empty()).then(|| parts.join(", "))
    }
    /// ISO country code from the additional attributes, upper-cased.
    async fn country_code(&self) -> Option<String> {
        additional_text(&self.0.additional_attributes, "country_code").map(str::to_uppercase)
    }
    /// Whether the contact is connected now.
    async fn availability_status(&self, ctx: &Context<'_>) -> AppResult<ContactAvailability> {
        let state = ctx.state()?;
        let online = crate::presence::contact_online(state, self.0.account_id, self.0.id).await?;
        Ok(if online {
            ContactAvailability::Online
        } else {
            ContactAvailability::Offline
        })
    }
    /// The account's own fields for the contact (a JSON object).
    #[graphql(guard = "RoleGuard::Member")]
    async fn custom_attributes(&self) -> Json<Value> {
        Json(self.0.custom_attributes.clone())
    }
    /// Other known facts: `company_name`, `city`, `country`, `country_code`, `social_profiles`, …
    async fn additional_attributes(&self) -> Json<Value> {
        Json(self.0.additional_attributes.clone())
    }
    /// When the contact was last active.
    async fn last_activity_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_activity_at
    }
    /// When the contact was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// When the contact was last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
    /// Label names, sorted.
    #[graphql(guard = "RoleGuard::Member")]
    async fn labels(&self, ctx: &Context<'_>) -> AppResult<Vec<String>> {
        let labels = ctx
            .loader()?
            .load_one(LabelsOfContact {
                account_id: self.0.account_id,
                id: self.0.id,
            })
            .await
            .map_err(load_error)?;
        Ok(labels.unwrap_or_default())
    }
    /// The inboxes the contact is known in, with its id in each.
    #[graphql(guard = "RoleGuard::Member")]
    async fn contact_inboxes(&self, ctx: &Context<'_>) -> AppResult<Vec<ContactInbox>> {
        let rows = ctx
            .loader()?
            .load_one(ContactInboxesOfContact {
                account_id: self.0.account_id,
                id: self.0.id,
            })
            .await
            .map_err(load_error)?;
        Ok(rows
            .unwrap_or_default()
            .into_iter()
            .map(|(row, inbox)| ContactInbox(row, inbox))
            .collect())
    }
    /// Inboxes a new conversation with this contact can be started in: API inboxes always, email
    /// inboxes when the contact has an email, SMS/WhatsApp inboxes when it has a phone number,
    /// and other inboxes (such as web widgets) where the contact is already known.
    #[graphql(guard = "RoleGuard::Member")]
    async fn contactable_inboxes(&self, ctx: &Context<'_>) -> AppResult<Vec<Inbox>> {
        let loader = ctx.loader()?;
        let (inboxes, known) = futures_util::try_join!(
            loader.load_one(InboxesOfAccount(self.0.account_id)),
            loader.load_one(ContactInboxesOfContact {
                account_id: self.0.account_id,
                id: self.0.id,
            }),
        )
        .map_err(load_error)?;
        let known: Vec<i64> = known
            .unwrap_or_default()
            .iter()
            .map(|(ci, _)| ci.inbox_id)
            .collect();
        Ok(inboxes
            .unwrap_or_default()
            .into_iter()
            .filter(|inbox| match inbox.channel_type.as_str() {
                "api" => true,
                "email" => self.0.email.is_some(),
                "sms" | "whatsapp" => self.0.phone_number.is_some(),
                _ => known.contains(&inbox.id),
            })
            .map(Inbox::from)
            .collect())
    }
    /// Notes on the contact, newest first.
    #[graphql(guard = "RoleGuard::Member")]
    async fn notes(&self, ctx: &Context<'_>) -> AppResult<Vec<Note>> {
        let notes = ctx
            .loader()?
            .load_one(NotesOfContact {
                account_id: self.0.account_id,
                id: self.0.id,
            })
            .await
            .map_err(load_error)?;
        Ok(notes.unwrap_or_default().into_iter().map(Note).collect())
    }
    /// The contact's conversations, most recently active first.
    #[graphql(guard = "RoleGuard::Member")]
    async fn conversations(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        status: Option<ConversationStatus>,
    ) -> AppResult<ConversationConnection> {
        let filter = crate::conversations::repo::ConversationFilter {
            contact_id: Some(self.0.id),
            status: status.map(Into::into),
            ..Default::default()
        };
        let args = PageArgs::forward(first, after);
        let page =
            crate::conversations::repo::page(ctx.db()?.clone(), self.0.account_id, filter, args);
        Ok(page.await?.into())
    }
}

/// A contact's identity in one inbox, with that inbox (read along with it: contact inboxes have
/// no account of their own, the inbox's scopes them).
#[derive(Clone, Debug)]
pub struct ContactInbox(pub contact_inbox::Model, pub inbox::Model);

/// A contact's identity in one inbox.
#[Object]
impl ContactInbox {
    /// The contact inbox's id.
    async fn id(&self) -> ID {
        self.0.id.into()
    }
    /// The contact's id in the inbox's channel (unique per inbox).
    async fn source_id(&self) -> &str {
        &self.0.source_id
    }
    /// The inbox.
    async fn inbox(&self) -> Inbox {
        self.1.clone().into()
    }
    /// The contact.
    async fn contact(&self, ctx: &Context<'_>) -> AppResult<Contact> {
        Contact::load(ctx, self.1.account_id, self.0.contact_id).await
    }
    /// When the contact inbox was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}
