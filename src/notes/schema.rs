//! Thin resolvers for notes.

use async_graphql::{Context, ID, Object};

use super::repo;
use crate::{
    auth::guard::RoleGuard, context::ContextExt, error::AppResult, ids::parse_id,
    notes::types::Note,
};

/// Note mutations.
#[derive(Default)]
pub struct NoteMutation;

#[Object]
impl NoteMutation {
    /// Writes a note on a contact (at most 20 000 characters).
    #[graphql(guard = "RoleGuard::Member")]
    async fn create_note(
        &self,
        ctx: &Context<'_>,
        contact_id: ID,
        content: String,
    ) -> AppResult<Note> {
        let viewer = ctx.member()?;
        let contact_id = parse_id("contactId", &contact_id)?;
        Ok(Note(
            repo::create(ctx.db()?, viewer, contact_id, &content).await?,
        ))
    }

    /// Edits a note (any member may; the author stays the author).
    #[graphql(guard = "RoleGuard::Member")]
    async fn update_note(&self, ctx: &Context<'_>, id: ID, content: String) -> AppResult<Note> {
        let viewer = ctx.member()?;
        let id = parse_id("id", &id)?;
        Ok(Note(
            repo::update(ctx.db()?, viewer.account_id, id, &content).await?,
        ))
    }

    /// Deletes a note; returns its id.
    #[graphql(guard = "RoleGuard::Member")]
    async fn delete_note(&self, ctx: &Context<'_>, id: ID) -> AppResult<ID> {
        let viewer = ctx.member()?;
        let note_id = parse_id("id", &id)?;
        repo::delete(ctx.db()?, viewer.account_id, note_id).await?;
        Ok(id)
    }
}
