//! The GraphQL type of notes.

use async_graphql::{Context, ID, Object};
use chrono::{DateTime, Utc};
use entity::note;

use crate::{auth::types::User, contacts::types::Contact, error::AppResult};

/// A private note about a contact, visible to the account's members.
#[derive(Clone, Debug)]
pub struct Note(pub note::Model);

/// A private note about a contact, visible to the account's members.
#[Object]
impl Note {
    /// The note's id.
    async fn id(&self) -> ID {
        self.0.id.into()
    }
    /// The text.
    async fn content(&self) -> &str {
        &self.0.content
    }
    /// The contact the note is about.
    async fn contact(&self, ctx: &Context<'_>) -> AppResult<Contact> {
        Contact::load(ctx, self.0.account_id, self.0.contact_id).await
    }
    /// The author (stays the author when someone else edits); null if they left the account.
    async fn user(&self, ctx: &Context<'_>) -> AppResult<Option<User>> {
        let Some(user_id) = self.0.user_id else {
            return Ok(None);
        };
        User::load_member(ctx, self.0.account_id, user_id).await
    }
    /// When the note was written.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// When the note was last edited.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}
